"""Lyceum as an LTI 1.3 platform, against a tool that lives in the test (its own key pair):
registration, the launch (OIDC login, the id_token and its claims), deep linking, the token
endpoint, AGS line items and scores, NRPS, and every forged, expired, replayed or foreign
message refused with nothing changed."""

from __future__ import annotations

import re
import time
import uuid
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from classrooms import services as classrooms_services
from classrooms.models import Activity, Completion, Enrolment
from externaltools.models import ExternalActivity, LineItem, Score, Tool
from tests.externaltools.conftest import TOOL_ORIGIN, sign_as

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"


def _login_params(client, url: str) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    assert location.startswith(f"{TOOL_ORIGIN}/login?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _authorize(client, login: dict[str, str], **changes: str):
    params = {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": login["client_id"],
        "redirect_uri": login["target_link_uri"],
        "login_hint": login["login_hint"],
        "lti_message_hint": login["lti_message_hint"],
        "nonce": uuid.uuid4().hex,
        "state": "s-1",
        **changes,
    }
    return client.get("/externaltools/authorize", params)


def _id_token(client, response) -> dict:
    assert response.status_code == 200, response.content[:500]
    html = response.content.decode()
    token = unescape(re.search(r'name="id_token" value="([^"]+)"', html).group(1))
    keys = KeySet.import_key_set(client.get("/externaltools/jwks").json())
    return jwt.decode(token, keys, algorithms=["RS256"]).claims


def test_registration_page_admins_only_and_platform_values(client, space, trainer, lti):
    url = f"/externaltools/spaces/{space.pk}/"
    client.force_login(trainer)
    assert client.get(url).status_code == 404
    client.force_login(lti.admin)
    page = client.get(url).content.decode()
    assert lti.tool.client_id in page and lti.tool.deployment_id in page
    assert "http://127.0.0.1:8000/externaltools/authorize" in page
    # A tool needs a key: refused without one, nothing stored.
    response = client.post(
        url,
        {
            "name": "Keyless",
            "login_url": "https://x.example/login",
            "launch_url": "https://x.example/launch",
        },
    )
    assert response.status_code == 200 and not Tool.objects.filter(name="Keyless").exists()
    response = client.post(
        url,
        {
            "name": "Second",
            "login_url": "https://x.example/login",
            "launch_url": "https://x.example/launch",
            "jwks_url": "https://x.example/keys",
            "custom": "a=1\nb=two",
        },
    )
    assert response.status_code == 302
    assert Tool.objects.get(name="Second").custom == {"a": "1", "b": "two"}
    config = client.get("/externaltools/openid-configuration").json()
    assert config["issuer"] == "http://127.0.0.1:8000"
    assert config["jwks_uri"].endswith("/externaltools/jwks")
    assert len(client.get("/externaltools/jwks").json()["keys"]) == 1


def test_launch_signs_an_id_token_with_the_lti_claims(client, lti):
    client.force_login(lti.learner)
    activity = lti.external.activity
    page = client.get(f"/externaltools/activities/{activity.pk}/")
    assert page.status_code == 200
    assert TOOL_ORIGIN in page["Content-Security-Policy"]  # frame-src lets the tool in
    login = _login_params(client, f"/externaltools/activities/{activity.pk}/start/")
    assert login["iss"] == "http://127.0.0.1:8000"
    assert login["lti_deployment_id"] == lti.tool.deployment_id
    response = _authorize(client, login, nonce="n-123")
    assert f"form-action 'self' {TOOL_ORIGIN}" in response["Content-Security-Policy"]
    claims = _id_token(client, response)
    assert claims["aud"] == lti.tool.client_id and claims["nonce"] == "n-123"
    assert claims["sub"] == str(lti.learner.pk)
    assert claims[LTI + "message_type"] == "LtiResourceLinkRequest"
    assert claims[LTI + "version"] == "1.3.0"
    assert claims[LTI + "deployment_id"] == lti.tool.deployment_id
    assert claims[LTI + "target_link_uri"] == f"{TOOL_ORIGIN}/launch"
    assert claims[LTI + "resource_link"]["id"] == f"activity-{activity.pk}"
    assert claims[LTI + "roles"][0].endswith("membership#Learner")
    assert claims[LTI + "context"]["title"] == "Algebra"
    assert claims[LTI + "custom"] == {"level": "2", "who": "learner1", "drill": "1"}
    assert claims["name"] == lti.learner.name and "email" not in claims  # privacy setting
    ags = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
    assert ags["lineitem"].endswith(f"/lineitems/{lti.external.line_items.get().pk}")
    nrps = claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"]
    assert nrps["context_memberships_url"].endswith(f"/courses/{lti.course.pk}/memberships")
    # The trainer launching is the instructor.
    client.force_login(lti.trainer)
    login = _login_params(client, f"/externaltools/activities/{activity.pk}/start/")
    claims = _id_token(client, _authorize(client, login))
    assert claims[LTI + "roles"][0].endswith("membership#Instructor")


def test_bad_authentication_requests_are_refused(client, lti, learner2, outsider):
    activity = lti.external.activity
    client.force_login(lti.learner)
    login = _login_params(client, f"/externaltools/activities/{activity.pk}/start/")
    assert _authorize(client, login, redirect_uri="https://evil.example/launch").status_code == 400
    assert _authorize(client, login, client_id="someone-else").status_code == 400
    assert _authorize(client, login, lti_message_hint="forged").status_code == 400
    assert _authorize(client, login, response_mode="fragment").status_code == 400
    assert _authorize(client, login, nonce="").status_code == 400
    # Someone else's launch: the hint is bound to the person who started it.
    client.force_login(learner2)
    assert _authorize(client, login).status_code == 400
    client.logout()
    assert _authorize(client, login).status_code == 400
    # Not enrolled, or the tool disabled: no launch.
    client.force_login(outsider)
    assert client.get(f"/externaltools/activities/{activity.pk}/start/").status_code == 404
    client.force_login(lti.learner)
    Tool.objects.filter(pk=lti.tool.pk).update(is_active=False)
    assert _authorize(client, login).status_code == 400
    assert client.get(f"/externaltools/activities/{activity.pk}/").status_code == 404


def _deep_link_request(client, lti) -> dict:
    client.force_login(lti.trainer)
    login = _login_params(
        client, f"/externaltools/modules/{lti.module.pk}/tools/{lti.tool.pk}/pick/"
    )
    claims = _id_token(client, _authorize(client, login))
    assert claims[LTI + "message_type"] == "LtiDeepLinkingRequest"
    return claims


def _deep_link_response(lti, request: dict, *, key=None, **changes) -> str:
    now = int(time.time())
    settings = request[DL + "deep_linking_settings"]
    claims = {
        "iss": lti.tool.client_id,
        "aud": request["iss"],
        "iat": now,
        "exp": now + 60,
        "nonce": uuid.uuid4().hex,
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "version": "1.3.0",
        LTI + "deployment_id": lti.tool.deployment_id,
        DL + "data": settings["data"],
        DL + "content_items": [
            {"type": "ltiResourceLink", "title": "Fractions", "url": f"{TOOL_ORIGIN}/r/1",
             "lineItem": {"scoreMaximum": 20, "resourceId": "fr"}, "custom": {"x": "1"}},
            {"type": "ltiResourceLink", "title": "Decimals", "window": {}},
        ],
        **changes,
    }  # fmt: skip
    return sign_as(key or lti.key, claims)


def test_deep_linking_creates_the_activities_once(client, lti):
    request = _deep_link_request(client, lti)
    settings = request[DL + "deep_linking_settings"]
    assert settings["deep_link_return_url"].endswith("/externaltools/deep-linking/return/")
    token = _deep_link_response(lti, request)
    response = client.post("/externaltools/deep-linking/return/", {"JWT": token})
    assert response.status_code == 200, response.content[:400]
    made = ExternalActivity.objects.exclude(pk=lti.external.pk).order_by("pk")
    assert [e.activity.title for e in made] == ["Fractions", "Decimals"]
    assert made[0].url == f"{TOOL_ORIGIN}/r/1" and made[0].custom == {"x": "1"}
    assert made[0].line_items.get().score_maximum == 20
    assert made[1].presentation == "window"
    assert all(e.activity.kind == "external_tool" for e in made)
    # The same response again is a replay.
    assert client.post("/externaltools/deep-linking/return/", {"JWT": token}).status_code == 400
    assert ExternalActivity.objects.count() == 3


@pytest.mark.parametrize(
    "bad",
    ["forged", "expired", "audience", "issuer", "message", "data", "other-person"],
)
def test_bad_deep_linking_responses_change_nothing(client, lti, other_key, bad, learner2):
    request = _deep_link_request(client, lti)
    now = int(time.time())
    changes = {
        "forged": {"key": other_key},
        "expired": {"iat": now - 7200, "exp": now - 3600},
        "audience": {"aud": "https://another-platform.example"},
        "issuer": {"iss": "someone"},
        "message": {LTI + "message_type": "LtiResourceLinkRequest"},
        "data": {DL + "data": "tampered"},
        "other-person": {},
    }[bad]
    token = _deep_link_response(lti, request, **changes)
    if bad == "other-person":
        client.force_login(learner2)
    before = Activity.objects.count()
    response = client.post("/externaltools/deep-linking/return/", {"JWT": token})
    assert response.status_code == 400
    assert Activity.objects.count() == before
    # A learner cannot ask for content at all.
    client.force_login(lti.learner)
    pick = f"/externaltools/modules/{lti.module.pk}/tools/{lti.tool.pk}/pick/"
    assert client.get(pick).status_code == 404


def _token(client, lti, scope: str, **changes) -> tuple[int, dict]:
    response = client.post(
        "/externaltools/token",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": changes.pop("assertion", None) or lti.assertion(**changes),
            "scope": scope,
        },
    )
    return response.status_code, response.json()


def test_token_endpoint_checks_the_client_assertion(client, lti, other_key):
    status, body = _token(client, lti, f"{SCORE} {NRPS} https://unknown/scope")
    assert status == 200 and body["token_type"] == "Bearer"
    assert body["scope"].split() == [SCORE, NRPS]
    replayed = lti.assertion(jti="same-jti")
    assert _token(client, lti, SCORE, assertion=replayed)[0] == 200
    assert _token(client, lti, SCORE, assertion=replayed)[0] == 401
    now = int(time.time())
    assert _token(client, lti, SCORE, key=other_key)[0] == 401
    assert _token(client, lti, SCORE, aud="https://elsewhere.example/token")[0] == 401
    assert _token(client, lti, SCORE, iat=now - 7200, exp=now - 3600)[0] == 401
    assert _token(client, lti, SCORE, sub="another-client")[0] == 401
    assert _token(client, lti, "https://unknown/scope")[0] == 401
    assert _token(client, lti, SCORE, assertion="not.a.jwt")[0] == 401


def _bearer(client, lti, scope: str) -> dict:
    status, body = _token(client, lti, scope)
    assert status == 200
    return {"HTTP_AUTHORIZATION": f"Bearer {body['access_token']}"}


def _score(given: float, *, user, when: str = "2026-12-05T10:00:00+00:00") -> dict:
    return {
        "userId": str(user.pk),
        "scoreGiven": given,
        "scoreMaximum": 100,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": when,
    }


def test_a_score_completes_the_activity_and_the_course(client, lti, published):
    auth = _bearer(client, lti, f"{SCORE} {LINEITEM}")
    items = client.get(f"/externaltools/ags/courses/{lti.course.pk}/lineitems", **auth)
    assert items.status_code == 200
    item = items.json()[0]
    assert item["resourceLinkId"] == f"activity-{lti.external.activity_id}"
    response = client.post(
        item["id"].removeprefix("http://127.0.0.1:8000") + "/scores",
        _score(85, user=lti.learner),
        content_type="application/vnd.ims.lis.v1.score+json",
        **auth,
    )
    assert response.status_code == 204, response.content
    assert Score.objects.get().score_given == 85
    assert Completion.objects.filter(user=lti.learner, activity=lti.external.activity).exists()
    enrolment = Enrolment.objects.get(user=lti.learner, course=lti.course)
    assert enrolment.status == "completed" and enrolment.progress == 100
    events = [e.type for e in published(lti.course.progress_topic)]
    assert "progress.updated" in events and "activity.scored" in events
    # An older score than the one kept is refused (409), nothing changes.
    path = item["id"].removeprefix("http://127.0.0.1:8000") + "/scores"
    old = _score(10, user=lti.learner, when="2026-12-04T10:00:00+00:00")
    response = client.post(path, old, content_type="application/json", **auth)
    assert response.status_code == 409
    assert Score.objects.get().score_given == 85


def test_a_score_under_the_pass_mark_does_not_complete(client, lti):
    ExternalActivity.objects.filter(pk=lti.external.pk).update(pass_percent=60)
    auth = _bearer(client, lti, SCORE)
    item = lti.external.line_items.get()
    path = f"/externaltools/ags/courses/{lti.course.pk}/lineitems/{item.pk}/scores"
    response = client.post(
        path, _score(40, user=lti.learner), content_type="application/json", **auth
    )
    assert response.status_code == 204
    assert not Completion.objects.exists()


def test_scores_and_rosters_of_others_are_refused(client, lti, space, trainer, learner2, outsider):
    item = lti.external.line_items.get()
    path = f"/externaltools/ags/courses/{lti.course.pk}/lineitems/{item.pk}/scores"
    body = _score(90, user=lti.learner)
    # No token, a bad token, a token without the score scope.
    assert client.post(path, body, content_type="application/json").status_code == 401
    bad = {"HTTP_AUTHORIZATION": "Bearer nope"}
    assert client.post(path, body, content_type="application/json", **bad).status_code == 401
    roster_only = _bearer(client, lti, NRPS)
    assert (
        client.post(path, body, content_type="application/json", **roster_only).status_code == 401
    )
    auth = _bearer(client, lti, f"{SCORE} {NRPS}")
    # Someone not enrolled; a malformed body; a body that is not JSON.
    for wrong in (
        _score(90, user=learner2),
        _score(90, user=outsider),
        {**body, "activityProgress": "Whatever"},
        {**body, "scoreGiven": "lots"},
        {**body, "timestamp": "yesterday"},
    ):
        assert client.post(path, wrong, content_type="application/json", **auth).status_code == 400
    assert (
        client.post(path, "{not json", content_type="application/json", **auth).status_code == 400
    )
    # Another course of the space, with no activity of this tool: not the tool's.
    other = classrooms_services.course_create(author=trainer, space=space, title="Other")
    stranger = LineItem.objects.create(tool=lti.tool, course=other, label="x", score_maximum=1)
    wrong_course = f"/externaltools/ags/courses/{other.pk}/lineitems/{stranger.pk}/scores"
    assert (
        client.post(wrong_course, body, content_type="application/json", **auth).status_code == 404
    )
    # A line item of the course but of another tool.
    second = Tool.objects.create(
        space=space, name="T2", login_url="https://b.example/l", launch_url="https://b.example/",
        jwks_url="https://b.example/k", client_id="c2", deployment_id="d2",
    )  # fmt: skip
    theirs = LineItem.objects.create(tool=second, course=lti.course, label="y", score_maximum=1)
    foreign = f"/externaltools/ags/courses/{lti.course.pk}/lineitems/{theirs.pk}/scores"
    assert client.post(foreign, body, content_type="application/json", **auth).status_code == 404
    roster = f"/externaltools/nrps/courses/{other.pk}/memberships"
    assert client.get(roster, **auth).status_code == 404
    assert not Score.objects.exists() and not Completion.objects.exists()


def test_roster_follows_the_privacy_settings(client, lti, learner2):
    classrooms_services.enrolment_create(actor=lti.trainer, user=learner2, course=lti.course)
    auth = _bearer(client, lti, NRPS)
    url = f"/externaltools/nrps/courses/{lti.course.pk}/memberships"
    response = client.get(url, **auth)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.ims.lti-nrps.v2")
    body = response.json()
    assert body["context"]["title"] == "Algebra"
    members = {m["user_id"]: m for m in body["members"]}
    assert set(members) == {str(u.pk) for u in (lti.trainer, lti.learner, learner2)}
    assert members[str(lti.trainer.pk)]["roles"][0].endswith("#Instructor")
    assert members[str(learner2.pk)]["name"] == learner2.name
    assert "email" not in members[str(learner2.pk)]
    learners = client.get(url, {"role": "Learner"}, **auth).json()["members"]
    assert {m["user_id"] for m in learners} == {str(lti.learner.pk), str(learner2.pk)}
    Tool.objects.filter(pk=lti.tool.pk).update(share_name=False, share_email=True)
    member = client.get(url, **auth).json()["members"][0]
    assert "name" not in member and member["email"].endswith("@example.com")


def test_trainer_adds_an_activity_by_hand(client, lti, learner2):
    url = f"/externaltools/courses/{lti.course.pk}/add/"
    client.force_login(lti.learner)
    assert client.get(url).status_code == 404
    client.force_login(lti.trainer)
    page = client.get(url).content.decode()
    assert "Drills" in page and f"/modules/{lti.module.pk}/tools/{lti.tool.pk}/pick/" in page
    response = client.post(
        url,
        {
            "module": lti.module.pk, "tool": lti.tool.pk, "title": "Quiz in the tool",
            "url": "", "presentation": "window", "pass_percent": 50, "custom": "k=v",
        },
    )  # fmt: skip
    assert response.status_code == 302
    made = ExternalActivity.objects.get(activity__title="Quiz in the tool")
    assert made.presentation == "window" and made.custom == {"k": "v"}
    assert made.activity.completion_rule == "graded"


def test_a_flood_of_token_requests_is_slowed_down(client, lti):
    from externaltools import views

    statuses = [_token(client, lti, SCORE, assertion="x.y.z")[0] for _ in range(3)]
    assert statuses == [401, 401, 401]
    original = views.TOKEN_RATE
    views.TOKEN_RATE = 3
    try:
        status, body = _token(client, lti, SCORE)
        assert status == 429 and body == {"error": "slow_down"}
    finally:
        views.TOKEN_RATE = original
