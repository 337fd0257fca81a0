"""Account life cycle: password reset, e-mail verification, invitations, sign-up,
deactivation (sessions, API token, sockets), with the bad input each may meet."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from hub.accounts import lifecycle
from hub.accounts.models import Invitation, Role, SpaceAccessPolicy, User
from hub.audit.models import Entry
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(space):
    return UserFactory(username="admin1", roles=[Role.ADMIN], spaces=[space])


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


# -- password reset ---------------------------------------------------------------------------
def test_password_reset_by_email_once(client, learner):
    learner.email = "l1@example.org"
    learner.save()
    response = client.post(reverse("password_reset"), {"email": "l1@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    path = path_of(link_in(mail.outbox[0]))
    page = client.get(path, follow=True)
    assert page.status_code == 200 and page.context["validlink"]
    form_url = page.redirect_chain[-1][0]
    done = client.post(
        form_url, {"new_password1": "N3w-pass-phrase!", "new_password2": "N3w-pass-phrase!"}
    )
    assert done.status_code == 302
    learner.refresh_from_db()
    assert learner.check_password("N3w-pass-phrase!")
    # Replayed: the token was bound to the old password. Shown (GET): refused, nothing
    # written; acted on (POST): refused and recorded.
    again = client.get(path, follow=True)
    assert again.status_code == 400 and not again.context["validlink"]
    assert Entry.objects.filter(action="accounts.password_reset_done").exists()
    assert not Entry.objects.filter(action="accounts.password_reset_bad_link").exists()
    fields = {"new_password1": "Other-pass-phrase!", "new_password2": "Other-pass-phrase!"}
    assert client.post(path, fields).status_code == 400
    assert Entry.objects.filter(action="accounts.password_reset_bad_link").count() == 1
    learner.refresh_from_db()
    assert learner.check_password("N3w-pass-phrase!")


def test_password_reset_unknown_address_says_the_same(client, learner):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302 and not mail.outbox


def test_password_reset_tampered_link(client, learner):
    page = client.get("/accounts/password/reset/MQ/abc-def/", follow=True)
    assert page.status_code == 400
    assert "not valid" in page.content.decode()


def test_password_reset_flood_is_throttled(client, learner):
    statuses = [
        client.post(reverse("password_reset"), {"email": f"x{i}@example.org"}).status_code
        for i in range(30)
    ]
    assert statuses[:5] == [302] * 5 and statuses[5:] == [429] * 25
    # The flood is in the audit log once, not once per request.
    assert Entry.objects.filter(action="accounts.throttled").count() == 1


# -- e-mail verification ----------------------------------------------------------------------
def test_email_verification(client, learner):
    learner.email = "l1@example.org"
    learner.save()
    client.force_login(learner)
    assert client.post(reverse("verify-email-send")).status_code == 302
    path = path_of(link_in(mail.outbox[0]))
    assert client.get(path).status_code == 200  # a button, no change on GET
    assert not lifecycle.email_is_verified(user=learner)
    assert client.post(path).status_code == 200
    assert lifecycle.email_is_verified(user=learner)
    assert client.post(path).status_code == 200  # twice: nothing more happens
    assert Entry.objects.filter(action="accounts.email_verified").count() == 1


def test_email_verification_bad_links(client, learner):
    learner.email = "l1@example.org"
    learner.save()
    good = signing.dumps({"u": learner.pk, "e": "l1@example.org"}, salt=lifecycle.VERIFY_SALT)
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    response = client.post(reverse("verify-email", args=[tampered]))
    assert response.status_code == 400 and "not valid" in response.content.decode()
    learner.email = "new@example.org"
    learner.save()
    response = client.post(reverse("verify-email", args=[good]))
    assert response.status_code == 400
    assert not lifecycle.email_is_verified(user=learner)


def test_email_verification_expired(client, learner, monkeypatch):
    learner.email = "l1@example.org"
    learner.save()
    token = signing.dumps({"u": learner.pk, "e": "l1@example.org"}, salt=lifecycle.VERIFY_SALT)
    monkeypatch.setattr(lifecycle, "VERIFY_MAX_AGE", -1)
    response = client.post(reverse("verify-email", args=[token]))
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert Entry.objects.filter(action="accounts.verify_expired").exists()


# -- invitations -------------------------------------------------------------------------------
def test_coordinator_invites_and_a_new_account_accepts(
    client, coordinator, space, django_capture_on_commit_callbacks
):
    client.force_login(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("invitations", args=[space.slug]),
            {"email": "new@example.org", "roles": [Role.TRAINER]},
        )
    assert response.status_code == 200
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.org"]
    path = path_of(link_in(mail.outbox[0]))
    client.logout()
    assert client.get(path).status_code == 200
    response = client.post(path, {"username": "newbie", "password": "A-long-pass-phrase-9"})
    assert response.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert newbie.email == "new@example.org" and newbie.has_role(Role.TRAINER)
    assert newbie.spaces.filter(pk=space.pk).exists()
    assert lifecycle.email_is_verified(user=newbie)
    # Replayed link: refused, recorded.
    client.logout()
    again = client.post(path, {"username": "other", "password": "A-long-pass-phrase-9"})
    assert again.status_code == 400 and "already accepted" in again.content.decode()
    assert not User.objects.filter(username="other").exists()
    assert Entry.objects.filter(action="accounts.invitation_replayed").exists()
    assert Entry.objects.filter(action="accounts.invited", actor=coordinator).exists()


def test_invitation_links_a_signed_in_account(client, learner, outsider, admin_user, space):
    _invitation, link = lifecycle.invitation_create(
        actor=admin_user, space=space, email="x@example.org", roles=[Role.COORDINATOR]
    )
    client.force_login(outsider)
    assert client.post(path_of(link)).status_code == 302
    outsider.refresh_from_db()
    assert outsider.spaces.filter(pk=space.pk).exists()
    assert set(User.objects.get(pk=outsider.pk).role_codes) == {Role.LEARNER, Role.COORDINATOR}


def test_invitation_bad_input(client, learner, coordinator, admin_user, space):
    # A learner may not invite; a coordinator may not grant the admin role.
    client.force_login(learner)
    assert client.get(reverse("invitations", args=[space.slug])).status_code == 403
    with pytest.raises(ValidationError):
        lifecycle.invitation_create(
            actor=coordinator, space=space, email="a@b.org", roles=[Role.ADMIN]
        )
    invitation, link = lifecycle.invitation_create(
        actor=admin_user, space=space, email="e@example.org", roles=[Role.LEARNER]
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    client.logout()
    # Shown (GET): refused with the reason, and nothing written (not even the audit log).
    before = Entry.objects.count()
    response = client.get(path_of(link))
    assert response.status_code == 400 and "expired" in response.content.decode()
    response = client.get(reverse("invitation-accept", args=["made-up-token"]))
    assert response.status_code == 400 and "not valid" in response.content.decode()
    assert Entry.objects.count() == before
    # Acted on (POST): refused and recorded.
    account = {"username": "late", "password": "A-long-pass-phrase-9"}
    response = client.post(path_of(link), account)
    assert response.status_code == 400 and "expired" in response.content.decode()
    response = client.post(reverse("invitation-accept", args=["made-up-token"]), account)
    assert response.status_code == 400 and "not valid" in response.content.decode()
    assert Entry.objects.filter(action="accounts.invitation_expired").count() == 1
    assert Entry.objects.filter(action="accounts.invitation_invalid").count() == 1
    assert not User.objects.filter(username="late").exists()


# -- sign-up -----------------------------------------------------------------------------------
def test_signup_is_off_by_default(client, space):
    assert client.get(reverse("signup", args=[space.slug])).status_code == 403


def test_signup_with_domain_allow_list_and_verification(
    client, space, django_capture_on_commit_callbacks
):
    SpaceAccessPolicy.objects.create(space=space, signup_open=True, signup_domains="uni.edu")
    url = reverse("signup", args=[space.slug])
    data = {"username": "stud", "email": "stud@gmail.com", "password": "A-long-pass-phrase-9"}
    response = client.post(url, data)
    assert response.status_code == 400 and "uni.edu" in response.content.decode()
    assert not User.objects.filter(username="stud").exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**data, "email": "stud@uni.edu"})
    assert response.status_code == 200
    stud = User.objects.get(username="stud")
    assert not stud.is_active
    assert not client.login(username="stud", password="A-long-pass-phrase-9")
    client.post(path_of(link_in(mail.outbox[0])))
    stud.refresh_from_db()
    assert stud.is_active
    assert client.login(username="stud", password="A-long-pass-phrase-9")


# -- deactivation ------------------------------------------------------------------------------
def test_deactivation_ends_sessions_and_token(client, learner, admin_user, published):
    from django.test import Client

    other = Client()
    other.force_login(learner)
    assert other.get(reverse("dashboard")).status_code == 200
    Token.objects.create(user=learner)
    client.force_login(learner)
    client.logout()
    client.force_login(admin_user)
    response = client.post(reverse("person-deactivate", args=[learner.pk]))
    assert response.status_code == 302
    learner.refresh_from_db()
    assert not learner.is_active
    assert not Token.objects.filter(user=learner).exists()
    assert other.get(reverse("dashboard")).status_code == 302  # to the login page
    entry = Entry.objects.get(action="accounts.deactivated")
    assert entry.actor == admin_user and entry.target_id == str(learner.pk)


def test_only_admins_deactivate(client, learner, coordinator):
    client.force_login(coordinator)
    assert client.post(reverse("person-deactivate", args=[learner.pk])).status_code == 403
    learner.refresh_from_db()
    assert learner.is_active


def test_token_listed_and_revoked_by_the_person(client, learner):
    token = Token.objects.create(user=learner)
    client.force_login(learner)
    page = client.get(reverse("security"))
    assert token.key[:4] in page.content.decode()
    client.post(reverse("security-token-revoke"))
    assert not Token.objects.filter(user=learner).exists()
    assert Entry.objects.filter(action="accounts.token_revoked", actor=learner).exists()


def test_login_still_works_with_password(client, learner):
    response = client.post(reverse("login"), {"username": "learner1", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 200


def test_back_office_action_deactivates(client, learner, space):
    boss = UserFactory(username="root", roles=[Role.ADMIN], spaces=[space])
    boss.is_staff = boss.is_superuser = True
    boss.save()
    Token.objects.create(user=learner)
    client.force_login(boss)
    response = client.post(
        "/admin/accounts/user/",
        {"action": "deactivate", "_selected_action": [learner.pk]},
    )
    assert response.status_code == 302
    learner.refresh_from_db()
    assert not learner.is_active and not Token.objects.filter(user=learner).exists()
    assert Entry.objects.filter(action="accounts.deactivated", actor=boss).exists()
