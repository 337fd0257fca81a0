"""Lyceum inside a platform's frame: which pages which origins may frame (CSP
``frame-ancestors``), the cookie attributes that keep state and session in a cross-site
frame, and the LTI Platform Storage route for the state."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from hub.csp import framing_sources
from lti.tool import STORAGE_FIELD, STORAGE_STATE
from tests.lti.conftest import CLAIM, claims_for

FRAMED = {"HTTP_SEC_FETCH_DEST": "iframe"}


def _ancestors(response) -> str:
    found = re.search(r"frame-ancestors ([^;]*)", response["Content-Security-Policy"])
    assert found, response["Content-Security-Policy"]
    return found.group(1)


def _cookie(response, name: str) -> str:
    return response.cookies[name].output(header="").strip()


def _frame_data(response) -> dict:
    found = re.search(
        r'<script id="lti-frame-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found, response.content[:400]
    return json.loads(found.group(1))


def test_framing_sources_keep_plain_origins_only() -> None:
    assert framing_sources(
        [
            "https://lms.example.test/auth?x=1",
            "http://127.0.0.1:8010",
            "https://lms.example.test",
            "javascript:alert(1)",
            "https://a b.test",
            "https://x.test; script-src *",
            "https://*.evil.test",
            "",
        ]
    ) == ["https://lms.example.test", "http://127.0.0.1:8010"]


def test_lti_endpoints_may_be_framed_by_the_space_platforms_only(client, launcher) -> None:
    response = client.get(reverse("lti-login", args=[launcher.slug]), {"iss": "nobody"})
    assert response.status_code == 400
    assert _ancestors(response) == "'self' https://lms.example.test"
    assert "X-Frame-Options" not in response
    # Every other page keeps refusing frames.
    other = client.get("/accounts/login/")
    assert _ancestors(other) == "'none'"
    assert other["X-Frame-Options"] == "DENY"


def test_a_paused_platform_no_longer_frames(client, launcher) -> None:
    from lti.services import platform_update

    platform_update(actor=launcher.platform.created_by, platform=launcher.platform, is_active=False)
    response = client.get(reverse("lti-login", args=[launcher.slug]), {"iss": "nobody"})
    assert _ancestors(response) == "'none'"


def test_state_cookie_is_partitioned_none_secure(client, launcher) -> None:
    query = {
        "iss": launcher.platform.issuer,
        "client_id": launcher.platform.client_id,
        "login_hint": "u-ada",
        "lyceum_cookies": "1",
    }
    response = client.get(reverse("lti-login", args=[launcher.slug]), query, secure=True)
    assert response.status_code == 302
    [name] = [n for n in response.cookies if n.startswith("lti1p3-state-")]
    cookie = _cookie(response, name)
    assert "SameSite=None" in cookie and "Secure" in cookie and "Partitioned" in cookie
    assert "lti1p3-session-id" not in response.cookies  # no browser-session cookie needed


def test_framed_login_checks_cookies_first(client, launcher) -> None:
    query = {"iss": launcher.platform.issuer, "client_id": launcher.platform.client_id}
    response = client.get(reverse("lti-login", args=[launcher.slug]), query, **FRAMED)
    assert response.status_code == 200
    data = _frame_data(response)
    assert data["mode"] == "check"
    assert "lyceum_cookies=1" in data["next"] and "lyceum_cookies=1" in data["window"]
    assert not [n for n in response.cookies if n.startswith("lti1p3-state-")]
    assert _ancestors(response) == "'self' https://lms.example.test"


def test_framed_launch_partitions_session_and_csrf_and_lets_the_platform_frame(
    client, launcher, course
) -> None:
    state, nonce = launcher.login()
    claims = claims_for(
        launcher.platform,
        nonce,
        **{CLAIM + "custom": {"lyceum_target": f"activity:{course.lesson.pk}"}},
    )
    response = client.post(
        reverse("lti-launch", args=[launcher.slug]),
        {"id_token": launcher.sign(claims), "state": state},
        secure=True,
        **FRAMED,
    )
    assert response.status_code == 302
    session = _cookie(response, "sessionid")
    assert "SameSite=None" in session and "Secure" in session and "Partitioned" in session
    assert "HttpOnly" in session
    csrf = _cookie(response, "csrftoken")
    assert "SameSite=None" in csrf and "Partitioned" in csrf
    page = client.get(course.lesson.get_absolute_url(), secure=True, **FRAMED)
    assert page.status_code == 200
    assert _ancestors(page) == "'self' https://lms.example.test"
    assert "X-Frame-Options" not in page
    # Signed out: the flushed session's pages are no longer framable.
    client.post("/accounts/logout/", secure=True)
    assert _ancestors(client.get("/accounts/login/", secure=True)) == "'none'"


def test_top_level_launch_keeps_lax_cookies_and_unframable_pages(client, launcher, course) -> None:
    response = launcher.launch(
        **{CLAIM + "custom": {"lyceum_target": f"activity:{course.lesson.pk}"}}
    )
    assert response.status_code == 302
    session = _cookie(response, "sessionid")
    assert "SameSite=Lax" in session and "Partitioned" not in session
    assert _ancestors(client.get(course.lesson.get_absolute_url())) == "'none'"


def test_document_target_iframe_claim_marks_the_session_framed(client, launcher, course) -> None:
    presentation = {"document_target": "iframe", "return_url": "https://school.lms.test/back"}
    response = launcher.launch(
        **{
            CLAIM + "custom": {"lyceum_target": f"activity:{course.lesson.pk}"},
            CLAIM + "launch_presentation": presentation,
        }
    )
    assert response.status_code == 302
    page = client.get(course.lesson.get_absolute_url())
    assert _ancestors(page) == "'self' https://lms.example.test https://school.lms.test"


def _storage_login(client, launcher) -> tuple[str, dict]:
    query = {
        "iss": launcher.platform.issuer,
        "client_id": launcher.platform.client_id,
        "login_hint": "u-ada",
        "lti_storage_target": "_parent",
        "lyceum_cookies": "1",
    }
    response = client.get(reverse("lti-login", args=[launcher.slug]), query, secure=True)
    assert response.status_code == 200
    assert not [n for n in response.cookies if n.startswith("lti1p3-state-")]
    data = _frame_data(response)
    assert data["mode"] == "put" and data["target"] == "_parent"
    assert data["origin"] == "https://lms.example.test"
    assert data["next"].startswith("https://lms.example.test/auth?")
    assert "lti_storage_target" not in data["fallback"]
    state = data["key"].removeprefix("lyceum_state_")
    assert cache.get(STORAGE_STATE.format(state))["secret"] == data["value"]
    return state, data


@pytest.mark.parametrize("case", ["good", "wrong-secret", "cross-site", "replay"])
def test_platform_storage_state(client, launcher, course, case) -> None:
    from urllib.parse import parse_qs, urlsplit

    state, data = _storage_login(client, launcher)
    nonce = parse_qs(urlsplit(data["next"]).query)["nonce"][0]
    token = launcher.sign(claims_for(launcher.platform, nonce))
    url = reverse("lti-launch", args=[launcher.slug])
    # The platform's form post: our page reads the secret back from the platform.
    page = client.post(url, {"id_token": token, "state": state}, secure=True, **FRAMED)
    assert page.status_code == 200
    got = _frame_data(page)
    assert (got["mode"], got["key"], got["field"]) == ("get", data["key"], STORAGE_FIELD)
    origin = "https://testserver"
    value = data["value"]
    if case == "wrong-secret":
        value = "not-the-secret"
    if case == "cross-site":
        origin = "https://attacker.test"
    back = {"id_token": token, "state": state, STORAGE_FIELD: value}
    response = client.post(url, back, secure=True, HTTP_ORIGIN=origin, **FRAMED)
    if case in ("good", "replay"):
        assert response.status_code == 302, response.content[:300]
    else:
        assert response.status_code == 400
    if case == "replay":
        again = client.post(url, back, secure=True, HTTP_ORIGIN=origin, **FRAMED)
        assert again.status_code == 400


def test_registration_page_is_framed_by_its_configuration_origin(client, launcher) -> None:
    url = reverse("lti-register", args=[launcher.slug])
    query = {"openid_configuration": "https://moodle.test/mod/lti/openid-configuration.php"}
    response = client.get(url, query, **FRAMED)
    assert response.status_code == 200
    assert _frame_data(response)["mode"] == "window"
    assert _ancestors(response) == "'self' https://moodle.test"
    # Not in a frame: the usual sign-in.
    assert client.get(url, query).status_code == 302
