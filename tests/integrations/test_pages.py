"""The webhooks page of a space: admins and the space's coordinators only; form posts."""

from __future__ import annotations

import pytest

from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

# The first test of a run creates the database: slow on a loaded machine.
pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]


def test_only_admins_and_coordinators_reach_it(client, space, learner, trainer, coordinator):
    url = f"/integrations/spaces/{space.pk}/webhooks/"
    for user in (learner, trainer):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.get("/integrations/").status_code == 404
    client.force_login(coordinator)
    assert client.get(url).status_code == 200
    assert client.get("/integrations/")["Location"] == url


def test_subscribe_pause_resume_replay_delete(client, space, coordinator, learner, receiver):
    client.force_login(coordinator)
    url = f"/integrations/spaces/{space.pk}/webhooks/"
    response = client.post(url, {"url": "not a url", "event_types": ["course.completed"]})
    assert response.status_code == 200 and not WebhookEndpoint.objects.exists()
    response = client.post(
        url, {"url": receiver.url, "event_types": ["course.completed", "badge.earned"]}
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["badge.earned", "course.completed"]
    assert endpoint.secret.startswith("whsec_")
    page = client.get(url).content.decode()
    assert endpoint.secret in page
    client.post(f"/integrations/webhooks/{endpoint.pk}/pause/")
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert client.get(f"/integrations/webhooks/{endpoint.pk}/resume/").status_code == 405
    client.post(f"/integrations/webhooks/{endpoint.pk}/resume/")
    endpoint.refresh_from_db()
    assert endpoint.is_active
    old = endpoint.secret
    client.post(f"/integrations/webhooks/{endpoint.pk}/rotate/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_x",
        event_type="course.completed",
        payload={"type": "course.completed", "timestamp": "t", "data": {}},
        status=DeliveryStatus.FAILED,
    )
    client.force_login(learner)
    assert client.post(f"/integrations/deliveries/{delivery.pk}/replay/").status_code == 404
    client.force_login(coordinator)
    client.post(f"/integrations/deliveries/{delivery.pk}/replay/")
    assert WebhookDelivery.objects.filter(replay_of=delivery, message_id="msg_x").exists()
    client.post(f"/integrations/webhooks/{endpoint.pk}/nonsense/")
    client.post(f"/integrations/webhooks/{endpoint.pk}/delete/")
    assert not WebhookEndpoint.objects.exists()


def test_replays_past_the_rate_limit_are_refused_on_the_page(client, space, coordinator, receiver):
    from integrations import services

    client.force_login(coordinator)
    url = f"/integrations/spaces/{space.pk}/webhooks/"
    client.post(url, {"url": receiver.url, "event_types": ["course.completed"]})
    endpoint = WebhookEndpoint.objects.get()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        message_id="msg_y",
        event_type="course.completed",
        payload={"type": "course.completed", "timestamp": "t", "data": {}},
        status=DeliveryStatus.FAILED,
    )
    replay = f"/integrations/deliveries/{delivery.pk}/replay/"
    for _ in range(services.MANUAL_SENDS_PER_MINUTE):
        assert client.post(replay).status_code == 302
    refused = client.post(replay, follow=True)
    assert refused.status_code == 200
    assert "wait a minute" in refused.content.decode()
    assert WebhookDelivery.objects.filter(replay_of=delivery).count() == (
        services.MANUAL_SENDS_PER_MINUTE
    )
