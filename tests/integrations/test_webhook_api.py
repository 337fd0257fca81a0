"""REST for webhook subscriptions: administrators and the space's coordinators only; the
secret shown once (creation, rotation); the delivery log; replay and a test event, both
received and verified by the Standard Webhooks library."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hub.accounts.models import Role
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.factories import SpaceFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]

BASE = "/api/v1/integrations"


def create(client, space, url, types=("course.completed",), **extra):
    return client.post(
        f"{BASE}/spaces/{space.pk}/webhooks/",
        {"url": url, "event_types": list(types), **extra},
        format="json",
    )


def test_subscribe_read_change_rotate_and_delete(api_client_for, coordinator, space, receiver):
    api = api_client_for(coordinator)
    response = create(
        api, space, receiver.url, ["course.completed", "badge.earned"], description="CRM"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert body["event_types"] == ["badge.earned", "course.completed"]
    assert body["is_active"] is True and body["space"] == space.pk
    # the secret is never read back
    listed = api.get(f"{BASE}/spaces/{space.pk}/webhooks/").json()
    assert [e["id"] for e in listed] == [endpoint.pk] and "secret" not in listed[0]
    one = api.get(f"{BASE}/webhooks/{endpoint.pk}/").json()
    assert "secret" not in one and one["description"] == "CRM"
    # change the events, then pause and resume
    response = api.patch(
        f"{BASE}/webhooks/{endpoint.pk}/", {"event_types": ["session.attended"]}, format="json"
    )
    assert response.status_code == 200 and response.json()["event_types"] == ["session.attended"]
    assert (
        api.patch(f"{BASE}/webhooks/{endpoint.pk}/", {"is_active": False}, format="json").json()[
            "is_active"
        ]
        is False
    )
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.url == receiver.url
    endpoint.failure_streak = 3
    endpoint.save()
    resumed = api.patch(f"{BASE}/webhooks/{endpoint.pk}/", {"is_active": True}, format="json")
    assert resumed.json()["is_active"] is True and resumed.json()["failure_streak"] == 0
    # rotate: a new secret, shown in this answer only
    old = endpoint.secret
    rotated = api.post(f"{BASE}/webhooks/{endpoint.pk}/rotate-secret/").json()
    endpoint.refresh_from_db()
    assert rotated["secret"] == endpoint.secret != old
    assert api.get(f"{BASE}/webhooks/{endpoint.pk}/rotate-secret/").status_code == 405
    assert api.delete(f"{BASE}/webhooks/{endpoint.pk}/").status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_bad_input_is_a_400_naming_the_field(api_client_for, coordinator, space, settings):
    settings.INTEGRATIONS_ALLOW_PRIVATE_NETWORKS = False
    api = api_client_for(coordinator)
    cases = [
        ({"url": "javascript:alert(1)", "event_types": ["course.completed"]}, "url"),
        ({"url": "https://10.0.0.7/hook", "event_types": ["course.completed"]}, "url"),
        ({"url": "https://[::1]/hook", "event_types": ["course.completed"]}, "url"),
        ({"url": "https://169.254.169.254/", "event_types": ["course.completed"]}, "url"),
        ({"url": "https://93.184.216.34/hook", "event_types": ["nope"]}, "event_types"),
        ({"url": "https://93.184.216.34/hook", "event_types": []}, "event_types"),
        ({"url": "https://93.184.216.34/hook", "event_types": "course.completed"}, "event_types"),
        ({"event_types": ["course.completed"]}, "url"),
        ({"url": "https://93.184.216.34/" + "a" * 600, "event_types": ["badge.earned"]}, "url"),
    ]
    for data, field in cases:
        response = api.post(f"{BASE}/spaces/{space.pk}/webhooks/", data, format="json")
        assert response.status_code == 400, (data, response.content)
        assert field in response.json()["error"]["details"], (data, response.json())
    assert not WebhookEndpoint.objects.exists()
    # a public literal is fine, and an update to a private one is refused the same way
    ok = create(api, space, "https://93.184.216.34/hook")
    assert ok.status_code == 201
    pk = ok.json()["id"]
    response = api.patch(
        f"{BASE}/webhooks/{pk}/", {"url": "https://192.168.0.1/hook"}, format="json"
    )
    assert response.status_code == 400 and "url" in response.json()["error"]["details"]
    response = api.patch(f"{BASE}/webhooks/{pk}/", {"event_types": ["x"]}, format="json")
    assert response.status_code == 400 and "event_types" in response.json()["error"]["details"]
    assert WebhookEndpoint.objects.get().url == "https://93.184.216.34/hook"


def test_who_may_and_other_spaces(
    api_client_for, coordinator, learner, trainer, space, receiver, run_tasks, commit
):
    api = api_client_for(coordinator)
    pk = create(api, space, receiver.url).json()["id"]
    delivery = WebhookDelivery.objects.create(
        endpoint_id=pk,
        message_id="msg_1",
        event_type="course.completed",
        payload={"type": "course.completed", "timestamp": "t", "data": {}},
        status=DeliveryStatus.FAILED,
    )
    urls = [
        ("get", f"{BASE}/spaces/{space.pk}/webhooks/"),
        ("post", f"{BASE}/spaces/{space.pk}/webhooks/"),
        ("get", f"{BASE}/webhooks/{pk}/"),
        ("patch", f"{BASE}/webhooks/{pk}/"),
        ("delete", f"{BASE}/webhooks/{pk}/"),
        ("post", f"{BASE}/webhooks/{pk}/rotate-secret/"),
        ("post", f"{BASE}/webhooks/{pk}/ping/"),
        ("get", f"{BASE}/webhooks/{pk}/deliveries/"),
        ("post", f"{BASE}/deliveries/{delivery.pk}/replay/"),
    ]
    before = WebhookEndpoint.objects.get().secret
    for user in (learner, trainer):
        client = api_client_for(user)
        for method, url in urls:
            response = getattr(client, method)(url, {"is_active": False}, format="json")
            assert response.status_code == 403, (user, method, url)
    other_space = SpaceFactory()
    stranger = UserFactory(username="coord2", roles=[Role.COORDINATOR], spaces=[other_space])
    client = api_client_for(stranger)
    for method, url in urls:
        response = getattr(client, method)(url, {"is_active": False}, format="json")
        assert response.status_code == 404, (method, url)
    assert create(client, other_space, receiver.url).status_code == 201  # their own: fine
    endpoint = WebhookEndpoint.objects.get(pk=pk)
    assert endpoint.is_active and endpoint.secret == before
    assert WebhookDelivery.objects.count() == 1
    anonymous = api_client_for(learner)
    anonymous.credentials()
    assert anonymous.get(f"{BASE}/webhooks/{pk}/").status_code in (401, 403)


def test_ping_log_and_replay_reach_the_receiver(
    api_client_for, coordinator, space, receiver, run_tasks, commit
):
    api = api_client_for(coordinator)
    body = create(api, space, receiver.url, ["badge.earned"]).json()
    receiver.secret = body["secret"]
    pk = body["id"]
    commit()
    response = api.post(f"{BASE}/webhooks/{pk}/ping/")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    run_tasks()
    assert receiver.types() == ["webhook.test"]  # signed: the receiver verified it
    assert receiver.received[0]["data"]["data"]["subscription"] == {"id": pk}
    for _ in range(2):
        api.post(f"{BASE}/webhooks/{pk}/ping/")
    run_tasks()
    # the log, newest first, paged; reading it changes nothing
    with CaptureQueriesContext(connection) as ctx:
        page = api.get(f"{BASE}/webhooks/{pk}/deliveries/", {"page_size": 2}).json()
    assert not any(q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                   for q in ctx.captured_queries if "authtoken" not in q["sql"])  # fmt: skip
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    first = page["results"][0]
    assert first["status"] == "succeeded" and first["tries"][0]["status_code"] == 204
    oldest = api.get(f"{BASE}/webhooks/{pk}/deliveries/", {"page": 2, "page_size": 2}).json()
    original = oldest["results"][0]
    replay = api.post(f"{BASE}/deliveries/{original['id']}/replay/")
    assert replay.status_code == 202 and replay.json()["replay_of"] == original["id"]
    run_tasks()
    assert receiver.received[-1]["headers"]["webhook-id"] == original["message_id"]
    # a paused subscription is neither pinged nor replayed
    api.patch(f"{BASE}/webhooks/{pk}/", {"is_active": False}, format="json")
    assert api.post(f"{BASE}/webhooks/{pk}/ping/").status_code == 400
    assert api.post(f"{BASE}/deliveries/{original['id']}/replay/").status_code == 400
    assert WebhookDelivery.objects.count() == 4


def test_test_events_and_replays_by_hand_are_rate_limited(
    api_client_for, coordinator, space, receiver
):
    from integrations import services

    api = api_client_for(coordinator)
    pk = create(api, space, receiver.url, ["badge.earned"]).json()["id"]
    limit = services.MANUAL_SENDS_PER_MINUTE
    for _ in range(limit - 1):
        assert api.post(f"{BASE}/webhooks/{pk}/ping/").status_code == 202
    first = WebhookDelivery.objects.filter(endpoint_id=pk).order_by("pk").first()
    WebhookDelivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.FAILED)
    assert api.post(f"{BASE}/deliveries/{first.pk}/replay/").status_code == 202
    refused = api.post(f"{BASE}/webhooks/{pk}/ping/")
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
    assert api.post(f"{BASE}/deliveries/{first.pk}/replay/").status_code == 429
    assert WebhookDelivery.objects.filter(endpoint_id=pk).count() == limit
