"""Second factor: TOTP set-up with recovery codes, the second login step, replays and
floods, the space rule for staff (at login and on pages)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from hub.accounts import mfa
from hub.accounts.models import Role, SpaceAccessPolicy, TOTPDevice
from hub.audit.models import Entry
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_totp_matches_rfc_6238_vectors():
    # RFC 6238 appendix B, SHA-1, secret "12345678901234567890", 8 digits -> last 6 here.
    import base64

    secret = base64.b32encode(b"12345678901234567890").decode()
    assert mfa.totp_code(secret, 59 // 30) == "287082"
    assert mfa.totp_code(secret, 1111111109 // 30) == "081804"
    assert mfa.totp_code(secret, 2000000000 // 30) == "279037"


def set_up_totp(client, user) -> tuple[TOTPDevice, list[str]]:
    client.force_login(user)
    client.post(reverse("security-totp-begin"))
    device = TOTPDevice.objects.get(user=user)
    code = mfa.totp_code(device.secret, mfa.current_step())
    client.post(reverse("security-totp-confirm"), {"code": code})
    device.refresh_from_db()
    page = client.get(reverse("security"))
    return device, list(page.context["new_codes"])


def test_set_up_then_login_asks_for_the_code(client, learner):
    device, codes = set_up_totp(client, learner)
    assert device.confirmed_at is not None and len(codes) == 10
    assert Entry.objects.filter(action="mfa.totp_enabled", actor=learner).exists()
    client.logout()
    response = client.post(reverse("login"), {"username": "learner1", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("login-second-factor")
    assert client.get(reverse("dashboard")).status_code == 302  # not signed in yet
    # The code used at set-up cannot be replayed.
    stale = mfa.totp_code(device.secret, device.last_step)
    response = client.post(reverse("login-second-factor"), {"code": stale})
    assert response.status_code == 400
    assert Entry.objects.filter(action="mfa.failed").exists()
    fresh = mfa.totp_code(device.secret, device.last_step + 1)
    response = client.post(reverse("login-second-factor"), {"code": fresh})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


def test_recovery_code_works_once(client, learner):
    _device, codes = set_up_totp(client, learner)
    client.logout()
    for expected in (302, 400):
        client.logout()
        client.post(reverse("login"), {"username": "learner1", "password": PASSWORD})
        response = client.post(reverse("login-second-factor"), {"code": codes[0]})
        assert response.status_code == expected
    assert mfa.recovery_codes_left(user=learner) == 9


def test_second_step_flood_locks_the_account(client, learner):
    set_up_totp(client, learner)
    client.logout()
    client.post(reverse("login"), {"username": "learner1", "password": PASSWORD})
    statuses = [
        client.post(reverse("login-second-factor"), {"code": "000000"}).status_code
        for _ in range(6)
    ]
    assert statuses[-1] == 429


def test_space_requires_a_second_factor_for_staff(client, trainer, learner, space):
    SpaceAccessPolicy.objects.create(space=space, require_mfa_for_staff=True)
    client.force_login(trainer)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("security"))
    assert client.get(reverse("security")).status_code == 200
    assert client.post("/api/v1/notifications/mark-read/").status_code == 403
    # Set up: pages open again, and the factor cannot be turned off by the person.
    client.post(reverse("security-totp-begin"))
    device = TOTPDevice.objects.get(user=trainer)
    client.post(
        reverse("security-totp-confirm"),
        {"code": mfa.totp_code(device.secret, mfa.current_step())},
    )
    assert client.get(reverse("dashboard")).status_code == 200
    client.post(reverse("security-totp-remove"))
    assert TOTPDevice.objects.filter(user=trainer).exists()
    # Learners are not concerned.
    client.force_login(learner)
    assert client.get(reverse("dashboard")).status_code == 200


def test_wrong_confirmation_code_changes_nothing(client, learner):
    client.force_login(learner)
    client.post(reverse("security-totp-begin"))
    client.post(reverse("security-totp-confirm"), {"code": "12"})
    client.post(reverse("security-totp-confirm"), {"code": "000000"})
    device = TOTPDevice.objects.get(user=learner)
    assert device.confirmed_at is None and not learner.recovery_codes.exists()


def test_admin_removes_a_lost_factor(learner, space):
    from tests.factories import UserFactory

    admin = UserFactory(username="admin1", roles=[Role.ADMIN], spaces=[space])
    TOTPDevice.objects.create(user=learner, secret=mfa.new_secret())
    mfa.second_factor_remove(actor=admin, user=learner)
    assert not TOTPDevice.objects.filter(user=learner).exists()
    assert Entry.objects.filter(action="mfa.removed", actor=admin).exists()


def test_token_api_asks_for_the_code(client, learner):
    from rest_framework.test import APIClient

    device, _codes = set_up_totp(client, learner)
    api = APIClient()
    url = "/api/v1/auth/token/"
    response = api.post(url, {"username": "learner1", "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "second_factor_required"
    fresh = mfa.totp_code(device.secret, device.last_step + 1)
    response = api.post(
        url, {"username": "learner1", "password": PASSWORD, "code": fresh}, format="json"
    )
    assert response.status_code == 200 and response.json()["token"]
