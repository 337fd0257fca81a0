"""Passkeys (WebAuthn) as a second factor: registration and use at login through the real
endpoints, checked by py_webauthn, with a software authenticator written here (P-256,
"none" attestation, the bytes a browser sends). Bad input: replayed or foreign challenges,
a wrong origin, unknown or someone else's credentials, a removed passkey, a counter that
goes back; each refused with a clear error, nothing changed, an audit row."""

from __future__ import annotations

import hashlib
import json
import os
import struct

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.urls import reverse
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from hub.accounts import mfa
from hub.accounts.models import SpaceAccessPolicy
from hub.audit.models import Entry
from hub.passkeys.models import Passkey
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SITE = "https://lyceum.example.org"
RP_ID = "lyceum.example.org"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


class SoftKey:
    """One credential of a software authenticator."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.count = 0

    def cose(self) -> bytes:
        numbers = self.private.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
        ).encode()

    def attestation(self, options: dict, *, origin: str = SITE, rp_id: str = RP_ID) -> dict:
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attested = (
            bytes(16)
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self.cose()
        )
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([0x45])  # UP, UV, AT
            + struct.pack(">I", self.count)
            + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        cid = bytes_to_base64url(self.credential_id)
        return {
            "id": cid,
            "rawId": cid,
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal"],
            },
        }

    def assertion(
        self, options: dict, *, origin: str = SITE, credential_id: bytes | None = None
    ) -> dict:
        self.count += 1
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = (
            hashlib.sha256(RP_ID.encode()).digest() + bytes([0x05]) + struct.pack(">I", self.count)
        )
        signature = self.private.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        cid = bytes_to_base64url(credential_id or self.credential_id)
        return {
            "id": cid,
            "rawId": cid,
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": None,
            },
        }


def post_json(client, name: str, body: dict | None = None, **kwargs):
    return client.post(
        reverse(name, **kwargs), json.dumps(body or {}), content_type="application/json"
    )


def register(client, user, key: SoftKey, name: str = "Laptop", **kwargs):
    client.force_login(user)
    options = post_json(client, "passkey-register-options").json()
    return post_json(
        client,
        "passkey-register",
        {"name": name, "credential": key.attestation(options, **kwargs)},
    )


def start_login(client, username: str) -> None:
    client.logout()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("login-second-factor")


def login_options(client) -> dict:
    response = post_json(client, "passkey-login-options")
    assert response.status_code == 200, response.content
    return response.json()


def signed_in(client) -> bool:
    return client.get(reverse("dashboard")).status_code == 200


def failures(reason: str) -> int:
    return Entry.objects.filter(action="mfa.failed", details__passkey=reason).count()


# -- what works ------------------------------------------------------------------------------
def test_register_then_log_in_with_the_passkey(client, learner):
    key = SoftKey()
    response = register(client, learner, key, name="My laptop")
    assert response.status_code == 201, response.content
    passkey = Passkey.objects.get(user=learner)
    assert passkey.name == "My laptop" and passkey.last_used_at is None
    assert Entry.objects.filter(action="mfa.passkey_added", actor=learner).exists()
    assert mfa.has_second_factor(user=learner)
    page = client.get(reverse("security"))
    assert b"My laptop" in page.content and b"never used" in page.content

    start_login(client, "learner1")
    second = client.get(reverse("login-second-factor"))
    assert b"data-passkey-login" in second.content
    assert b'data-testid="second-factor-form"' not in second.content  # no app: no code box
    assert not signed_in(client)
    options = login_options(client)
    assert [c["id"] for c in options["allowCredentials"]] == [passkey.credential_id]
    assert options["rpId"] == RP_ID
    response = post_json(client, "passkey-login", {"credential": key.assertion(options)})
    assert response.status_code == 200, response.content
    assert response.json()["redirect"]
    assert signed_in(client)
    passkey.refresh_from_db()
    assert passkey.sign_count == 1 and passkey.last_used_at is not None


def test_several_passkeys_and_removal(client, learner):
    first, second = SoftKey(), SoftKey()
    assert register(client, learner, first, name="Phone").status_code == 201
    assert register(client, learner, second, name="Key").status_code == 201
    phone = Passkey.objects.get(user=learner, name="Phone")
    response = client.post(reverse("passkey-remove", args=[phone.pk]))
    assert response.status_code == 302
    assert list(Passkey.objects.filter(user=learner).values_list("name", flat=True)) == ["Key"]
    entry = Entry.objects.get(action="mfa.passkey_removed")
    assert entry.actor_id == learner.pk and entry.details["name"] == "Phone"

    # The removed passkey no longer opens the account.
    start_login(client, "learner1")
    options = login_options(client)
    response = post_json(client, "passkey-login", {"credential": first.assertion(options)})
    assert response.status_code == 400
    assert "not registered" in response.json()["error"]["message"]
    assert failures("unknown") == 1 and not signed_in(client)


def test_passkey_counts_for_the_staff_rule(client, trainer, space):
    SpaceAccessPolicy.objects.create(space=space, require_mfa_for_staff=True)
    client.force_login(trainer)
    assert client.get(reverse("dashboard")).status_code == 302  # held on the security page
    key = SoftKey()
    options = post_json(client, "passkey-register-options").json()
    response = post_json(
        client, "passkey-register", {"name": "Laptop", "credential": key.attestation(options)}
    )
    assert response.status_code == 201
    assert client.get(reverse("dashboard")).status_code == 200
    # The last factor cannot be removed by the person while the space requires one.
    passkey = Passkey.objects.get(user=trainer)
    client.post(reverse("passkey-remove", args=[passkey.pk]))
    assert Passkey.objects.filter(pk=passkey.pk).exists()
    # A fresh sign-in with the passkey meets the rule.
    start_login(client, trainer.username)
    options = login_options(client)
    response = post_json(client, "passkey-login", {"credential": key.assertion(options)})
    assert response.status_code == 200
    assert client.get(reverse("dashboard")).status_code == 200


# -- bad input -------------------------------------------------------------------------------
def test_replayed_login_answer_is_refused(client, learner):
    key = SoftKey()
    register(client, learner, key)
    start_login(client, "learner1")
    options = login_options(client)
    answer = key.assertion(options)
    assert post_json(client, "passkey-login", {"credential": answer}).status_code == 200
    passkey = Passkey.objects.get(user=learner)
    # The same answer again, in a new second step: its challenge was used.
    start_login(client, "learner1")
    response = post_json(client, "passkey-login", {"credential": answer})
    assert response.status_code == 400
    assert "already used" in response.json()["error"]["message"]
    assert failures("challenge") == 1 and not signed_in(client)
    # A fresh challenge with the old answer: its challenge is not the one issued.
    login_options(client)
    response = post_json(client, "passkey-login", {"credential": answer})
    assert response.status_code == 400 and failures("invalid") == 1
    assert Passkey.objects.get(pk=passkey.pk).sign_count == passkey.sign_count


def test_foreign_challenge_is_refused(client, learner):
    key = SoftKey()
    register(client, learner, key)
    start_login(client, "learner1")
    login_options(client)
    forged = {"challenge": bytes_to_base64url(os.urandom(32))}
    response = post_json(client, "passkey-login", {"credential": key.assertion(forged)})
    assert response.status_code == 400
    assert "could not be checked" in response.json()["error"]["message"]
    assert failures("invalid") == 1 and not signed_in(client)
    assert Passkey.objects.get(user=learner).sign_count == 0


def test_challenge_from_another_session_is_refused(client, learner):
    """A challenge is bound to the session that asked for it."""
    from django.test import Client

    key = SoftKey()
    register(client, learner, key)
    start_login(client, "learner1")
    options = login_options(client)
    other = Client()
    start_login(other, "learner1")
    response = post_json(other, "passkey-login", {"credential": key.assertion(options)})
    assert response.status_code == 400 and failures("challenge") == 1
    assert not signed_in(other)


def test_wrong_origin_is_refused(client, learner):
    key = SoftKey()
    register(client, learner, key)
    start_login(client, "learner1")
    options = login_options(client)
    answer = key.assertion(options, origin="https://evil.example.net")
    response = post_json(client, "passkey-login", {"credential": answer})
    assert response.status_code == 400
    assert "origin" in response.json()["error"]["message"].lower()
    assert failures("invalid") == 1 and not signed_in(client)


def test_registration_with_a_wrong_origin_or_replayed_is_refused(client, learner):
    key = SoftKey()
    response = register(client, learner, key, origin="https://evil.example.net")
    assert response.status_code == 400
    assert not Passkey.objects.exists()
    assert Entry.objects.filter(action="mfa.passkey_refused").count() == 1
    # A valid answer sent twice: the second finds its challenge used.
    options = post_json(client, "passkey-register-options").json()
    answer = key.attestation(options)
    body = {"name": "Laptop", "credential": answer}
    assert post_json(client, "passkey-register", body).status_code == 201
    response = post_json(client, "passkey-register", body)
    assert response.status_code == 400 and "already used" in response.json()["error"]["message"]
    assert Passkey.objects.count() == 1


def test_unknown_credential_is_refused(client, learner):
    key = SoftKey()
    register(client, learner, key)
    start_login(client, "learner1")
    options = login_options(client)
    answer = key.assertion(options, credential_id=os.urandom(32))
    response = post_json(client, "passkey-login", {"credential": answer})
    assert response.status_code == 400 and failures("unknown") == 1
    assert not signed_in(client)


def test_someone_elses_credential_is_refused(client, learner, learner2):
    mine, theirs = SoftKey(), SoftKey()
    register(client, learner, mine)
    register(client, learner2, theirs)
    start_login(client, "learner1")
    options = login_options(client)
    # learner2's own authenticator, signing learner1's challenge.
    response = post_json(client, "passkey-login", {"credential": theirs.assertion(options)})
    assert response.status_code == 400
    assert "not registered" in response.json()["error"]["message"]
    entry = Entry.objects.get(action="mfa.failed", details__passkey="foreign")
    assert entry.target_id == str(learner.pk) or str(entry.target_id) == str(learner.pk)
    assert not signed_in(client)
    assert Passkey.objects.get(user=learner2).sign_count == 0


def test_counter_going_back_is_refused(client, learner):
    key = SoftKey()
    register(client, learner, key)
    start_login(client, "learner1")
    assert (
        post_json(
            client, "passkey-login", {"credential": key.assertion(login_options(client))}
        ).status_code
        == 200
    )
    key.count = 0  # a cloned authenticator starts from an older count
    start_login(client, "learner1")
    response = post_json(
        client, "passkey-login", {"credential": key.assertion(login_options(client))}
    )
    assert response.status_code == 400 and failures("invalid") == 1
    assert "sign count" in response.json()["error"]["message"]
    assert Passkey.objects.get(user=learner).sign_count == 1


def test_removing_someone_elses_passkey_changes_nothing(client, learner, learner2):
    register(client, learner2, SoftKey())
    theirs = Passkey.objects.get(user=learner2)
    client.force_login(learner)
    client.post(reverse("passkey-remove", args=[theirs.pk]))
    assert Passkey.objects.filter(pk=theirs.pk).exists()
    assert not Entry.objects.filter(action="mfa.passkey_removed").exists()


def test_passkey_endpoints_need_a_pending_login_and_json(client, learner):
    response = post_json(client, "passkey-login-options")
    assert response.status_code == 401
    assert post_json(client, "passkey-login", {"credential": {}}).status_code == 401
    client.force_login(learner)
    response = client.post(reverse("passkey-register"), "not json", content_type="application/json")
    assert response.status_code == 400 and "JSON" in response.json()["error"]["message"]
    assert client.get(reverse("passkey-register-options")).status_code == 405
    assert not Passkey.objects.exists()
    assert base64url_to_bytes("AA") == b"\x00"


def test_the_same_authenticator_twice_is_refused(client, learner, learner2):
    key = SoftKey()
    assert register(client, learner, key).status_code == 201
    for person in (learner, learner2):
        response = register(client, person, key)
        assert response.status_code == 400
        assert "already registered" in response.json()["error"]["message"]
    assert Passkey.objects.count() == 1
    assert Entry.objects.filter(action="mfa.passkey_added").count() == 1
