"""Identity over REST: tokens, /me, the schema, the error format, throttling."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from hub.accounts.models import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_for_valid_credentials(learner):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": learner.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    me = APIClient(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json() == {
        "id": learner.pk,
        "username": learner.username,
        "display_name": learner.name,
        "roles": [Role.LEARNER],
        "spaces": [
            {"id": s.pk, "name": s.name, "slug": s.slug, "brand_color": s.brand_color}
            for s in learner.spaces.all()
        ],
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "learner1", "password": "wrong"},
        {"username": "nobody", "password": "x"},
        {},
        {"username": ["a"]},
    ],
)
def test_token_refused_for_bad_credentials(learner, payload):
    response = APIClient().post("/api/v1/auth/token/", payload, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_inactive_user_gets_no_token(learner):
    learner.is_active = False
    learner.save()
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": learner.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400


def test_me_needs_authentication():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_me_with_session_cookie(client, manager):
    client.force_login(manager)
    body = client.get("/api/v1/me/").json()
    assert body["roles"] == [Role.MANAGER]


def test_roles_are_additive(learner):
    from hub.accounts.services import roles_set

    roles_set(user=learner, roles=[Role.TRAINER, Role.MANAGER])
    learner.refresh_from_db()
    learner.__dict__.pop("role_codes", None)
    assert learner.has_role(Role.TRAINER) and learner.has_role(Role.MANAGER)
    assert not learner.has_role(Role.LEARNER)


def test_password_change_rotates_the_feed_token(learner):
    before = learner.feed_token
    learner.set_password("another-long-password")
    assert learner.feed_token and learner.feed_token != before


def test_openapi_schema_lists_the_endpoints(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/auth/token/",
        "/api/v1/me/",
        "/api/v1/notifications/",
        "/api/v1/announcements/",
        "/api/v1/notifications/mark-read/",
        "/api/v1/notifications/unread-count/",
    ]:
        assert path in paths
    assert client.get("/api/docs/").status_code == 200


def test_writes_are_throttled(api_client_for, learner, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"writes": "3/min", "auth": "20/min"},
    }
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
    try:
        client = api_client_for(learner)
        codes = [
            client.post("/api/v1/notifications/mark-read/", {}, format="json").status_code
            for _ in range(5)
        ]
        assert codes[:3] == [200, 200, 200]
        assert codes[3:] == [429, 429]
        assert client.get("/api/v1/notifications/").status_code == 200  # reads never throttled
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original


def test_notifications_rest(api_client_for, learner, learner2, trainer):
    from hub.notify import notify

    (n,) = notify(recipients=[learner], kind="announcement", verb="Hi", actor=trainer)
    notify(recipients=[learner2], kind="announcement", verb="Not yours", actor=trainer)
    client = api_client_for(learner)
    assert [x["verb"] for x in client.get("/api/v1/notifications/").json()["results"]] == ["Hi"]
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread_count": 1}
    assert client.post(
        "/api/v1/notifications/mark-read/", {"ids": [n.id]}, format="json"
    ).json() == {"unread_count": 0}
    bad = client.post("/api/v1/notifications/mark-read/", {"ids": ["x"]}, format="json")
    assert bad.status_code == 400
    prefs = client.put(
        "/api/v1/notifications/preferences/",
        {"kind": "announcement", "delivery": "off"},
        format="json",
    )
    assert {p["kind"]: p["delivery"] for p in prefs.json()}["announcement"] == "off"
    bad = client.put(
        "/api/v1/notifications/preferences/", {"kind": "nope", "delivery": "off"}, format="json"
    )
    assert bad.status_code == 400


def test_api_docs_are_self_hosted(client):
    page = client.get("/api/docs/").content.decode()
    assert "cdn." not in page and "jsdelivr" not in page
    assert "/static/drf_spectacular_sidecar/" in page


@pytest.mark.parametrize("value", ["abc", "", "1; drop table", "999999"])
def test_space_switch_with_a_bad_id_is_404(client, learner, value):
    client.force_login(learner)
    assert client.post("/spaces/switch/", {"space": value}).status_code == 404
