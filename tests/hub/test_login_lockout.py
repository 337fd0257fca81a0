"""Brute force and password spraying: the sign-in lockout on the login page, the admin's login
and the token API, per account and per client address (the address the trusted proxies
report, never X-Forwarded-For as sent)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
LOCKED_TEXT = "Too many failed sign-in attempts. Wait 15 minutes, then try again."


@pytest.fixture
def auth_rate(monkeypatch):
    """Set the token endpoint's request rate (DRF reads its rates once, at import)."""
    from rest_framework.throttling import SimpleRateThrottle

    def set_rate(rate: str) -> None:
        rates = {**SimpleRateThrottle.THROTTLE_RATES, "auth": rate}
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", rates)

    return set_rate


@pytest.fixture
def no_auth_rate(auth_rate):
    """The per-minute request throttle out of the way: these tests are about the lockout."""
    auth_rate("10000/min")


def page_login(client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def token(username: str, password: str, **extra):
    return APIClient().post(
        TOKEN_URL, {"username": username, "password": password}, format="json", **extra
    )


def test_login_page_locks_the_account_after_five_failures(client, learner):
    for attempt in range(30):
        response = page_login(client, "learner1", f"guess-{attempt}")
        assert response.status_code == 200
    # The right password is refused while locked, with the same answer as a wrong one.
    right = page_login(client, "learner1", PASSWORD)
    wrong = page_login(client, "learner1", "guess-31")
    assert right.status_code == 200
    assert not right.wsgi_request.user.is_authenticated
    html = right.content.decode()
    assert 'role="alert"' in html and LOCKED_TEXT in html
    assert LOCKED_TEXT in wrong.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302


def test_the_failure_that_locks_says_so_and_earlier_ones_do_not(client, learner):
    for _ in range(4):
        html = page_login(client, "learner1", "nope").content.decode()
        assert "Please enter a correct username and password" in html
        assert LOCKED_TEXT not in html
    assert LOCKED_TEXT in page_login(client, "learner1", "nope").content.decode()


def test_token_api_locks_the_account_and_answers_429_json(no_auth_rate, learner):
    for attempt in range(30):
        response = token("learner1", f"guess-{attempt}")
        assert response.status_code in (400, 429)
    response = token("learner1", PASSWORD)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": "rate_limited", "message": LOCKED_TEXT}}
    assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60
    assert "token" not in response.json()


def test_the_lockout_is_shared_by_the_page_and_the_api(client, no_auth_rate, learner):
    for _ in range(5):
        token("learner1", "nope")
    response = page_login(client, "learner1", PASSWORD)
    assert not response.wsgi_request.user.is_authenticated
    assert LOCKED_TEXT in response.content.decode()


def test_a_success_forgives_the_accounts_failures(client, no_auth_rate, learner):
    for _ in range(2):
        for _ in range(4):
            assert token("learner1", "nope").status_code == 400
        assert token("learner1", PASSWORD).status_code == 200
    response = page_login(client, "learner1", PASSWORD)
    assert response.status_code == 302 and response.wsgi_request.user == learner


def test_locking_one_account_leaves_the_others_alone(client, no_auth_rate, learner, learner2):
    for _ in range(5):
        token("learner1", "nope")
    assert token("learner1", PASSWORD).status_code == 429
    assert token("learner2", PASSWORD).status_code == 200


def test_spraying_from_one_address_locks_the_address(client, no_auth_rate, learner, learner2):
    """20 failures over many usernames lock the address, whatever X-Forwarded-For says."""
    for n in range(20):
        response = token(f"someone{n}", "Summer2026!", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        assert response.status_code in (400, 429)
    # Another account, its right password, from the same address: still refused.
    assert token("learner2", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    response = page_login(client, "learner1", PASSWORD)
    assert not response.wsgi_request.user.is_authenticated
    assert LOCKED_TEXT in response.content.decode()
    # Another address is not affected.
    assert token("learner2", PASSWORD, REMOTE_ADDR="192.0.2.44").status_code == 200


def test_a_trusted_proxy_gives_each_client_its_own_address_count(settings, no_auth_rate, learner):
    """Behind one proxy the client is the header's last entry; what the client wrote is not."""
    settings.LYCEUM_TRUSTED_PROXIES = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(20):
        token(f"someone{n}", "x", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.66", **proxy)
    blocked = token("learner1", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.66", **proxy)
    assert blocked.status_code == 429
    other = token("learner1", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.77", **proxy)
    assert other.status_code == 200


def test_the_lockout_ends_after_its_time(monkeypatch, no_auth_rate, learner):
    import time as real_time

    from hub.accounts import lockout

    class Clock:
        now = real_time.time()

        @classmethod
        def time(cls) -> float:
            return cls.now

    monkeypatch.setattr(lockout, "time", Clock)
    for _ in range(5):
        token("learner1", "nope")
    Clock.now += 14 * 60
    assert token("learner1", PASSWORD).status_code == 429
    Clock.now += 61
    assert token("learner1", PASSWORD).status_code == 200


def test_admin_login_is_locked_out_too(client, learner):
    learner.is_staff = True
    learner.save()
    for _ in range(5):
        client.post("/admin/login/", {"username": "learner1", "password": "nope"})
    response = client.post("/admin/login/", {"username": "learner1", "password": PASSWORD})
    assert response.status_code == 200
    assert LOCKED_TEXT in response.content.decode()


def test_rotating_x_forwarded_for_does_not_escape_the_token_throttle(auth_rate, learner):
    auth_rate("3/min")
    codes = [
        token("learner1", "nope", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(4)
    ]
    assert codes == [400, 400, 400, 429]


@pytest.mark.parametrize(
    ("proxies", "header", "expected"),
    [
        (0, None, "192.0.2.1"),
        (0, "198.51.100.7", "192.0.2.1"),  # no proxy of ours: the header is the client's
        (1, None, "192.0.2.1"),
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (2, " 198.51.100.7 ", "198.51.100.7"),
    ],
)
def test_client_address_trusts_only_our_proxies(proxies, header, expected):
    from hub.client_address import forwarded_client

    assert forwarded_client("192.0.2.1", header, proxies) == expected


def test_drf_uses_the_same_proxy_count(settings):
    from rest_framework.settings import api_settings

    assert api_settings.NUM_PROXIES == settings.LYCEUM_TRUSTED_PROXIES == 0
