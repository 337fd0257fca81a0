"""ID tokens that must be refused: tampered, expired, wrong issuer, audience, nonce or
signature, ``alg: none``; and SCIM payloads that must be refused."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from identity import sso
from identity.models import IdentityProvider

ISSUER = "https://idp.example.test"


@pytest.fixture
def keys(monkeypatch):
    good = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    monkeypatch.setattr(sso, "oidc_metadata", lambda provider: {"issuer": ISSUER})
    monkeypatch.setattr(sso, "oidc_keys", lambda provider, refresh=False: KeySet([good]))
    return good


def provider() -> IdentityProvider:
    return IdentityProvider(pk=1, kind="oidc", issuer=ISSUER, client_id="lyceum")


def token(key, **overrides) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "lyceum",
        "sub": "ada",
        "iat": now,
        "exp": now + 300,
        "nonce": "n1",
        **overrides,
    }
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)


def test_a_good_token_passes(keys):
    assert sso.id_token_claims(provider(), token(keys), "n1")["sub"] == "ada"


@pytest.mark.parametrize(
    "overrides, nonce",
    [
        ({"iss": "https://evil.example.test"}, "n1"),
        ({"aud": "someone-else"}, "n1"),
        ({"exp": int(time.time()) - 3600}, "n1"),
        ({}, "another-nonce"),
        ({"nonce": None}, "n1"),
        ({"sub": None}, "n1"),
    ],
)
def test_wrong_claims_are_refused(keys, overrides, nonce):
    with pytest.raises(sso.SSOError):
        sso.id_token_claims(provider(), token(keys, **overrides), nonce)


def test_a_foreign_signature_a_tampered_payload_and_alg_none_are_refused(keys):
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    with pytest.raises(sso.SSOError):
        sso.id_token_claims(provider(), token(other), "n1")
    head, body, sig = token(keys).split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["sub"] = "root"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(sso.SSOError):
        sso.id_token_claims(provider(), f"{head}.{forged}.{sig}", "n1")
    none_head = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    with pytest.raises(sso.SSOError):
        sso.id_token_claims(provider(), f"{none_head}.{body}.", "n1")


# -- SCIM bad input ------------------------------------------------------------------------
def scim(client, method, path, token, body=None):
    return client.generic(
        method,
        path,
        json.dumps(body) if body is not None else "",
        content_type="application/scim+json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@pytest.mark.django_db
def test_scim_refuses_unknown_attributes_wrong_types_and_other_spaces(
    client, space, other_space, scim_token, admin
):
    from django.contrib.auth import get_user_model

    from tests.factories import UserFactory
    from tests.identity.conftest import make_token

    user_schema = "urn:ietf:params:scim:schemas:core:2.0:User"
    r = scim(
        client,
        "POST",
        "/scim/v2/Users",
        scim_token,
        {"schemas": [user_schema], "userName": "x", "shoeSize": 42},
    )
    assert r.status_code == 400 and r.json()["scimType"] == "invalidSyntax"
    r = scim(
        client,
        "POST",
        "/scim/v2/Users",
        scim_token,
        {"schemas": [user_schema], "userName": "x", "active": "maybe"},
    )
    assert r.status_code == 400 and r.json()["scimType"] == "invalidValue"
    r = scim(client, "POST", "/scim/v2/Users", scim_token, [1, 2])
    assert r.status_code == 400
    assert not get_user_model().objects.filter(username="x").exists()
    # Someone in another space: not found, not patchable, not a group member here.
    stranger = UserFactory(username="stranger", spaces=[other_space])
    assert scim(client, "GET", f"/scim/v2/Users/{stranger.pk}", scim_token).status_code == 404
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    assert (
        scim(client, "PATCH", f"/scim/v2/Users/{stranger.pk}", scim_token, patch).status_code == 404
    )
    r = scim(
        client,
        "POST",
        "/scim/v2/Groups",
        scim_token,
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "G",
            "members": [{"value": str(stranger.pk)}],
        },
    )
    assert r.status_code == 400
    stranger.refresh_from_db()
    assert stranger.is_active
    # The other space's token sees its own people only; no token, a bad token: 401.
    other_token = make_token(other_space, admin)
    listed = scim(client, "GET", "/scim/v2/Users", other_token).json()
    assert [u["userName"] for u in listed["Resources"]] == ["stranger"]
    assert scim(client, "GET", "/scim/v2/Users", "scim_nope").status_code == 401
    assert client.get("/scim/v2/Users").status_code == 401
    bad_filter = client.get(
        "/scim/v2/Users?filter=userName%20zz%20%22a%22", HTTP_AUTHORIZATION=f"Bearer {scim_token}"
    )
    assert bad_filter.status_code == 400 and bad_filter.json()["scimType"] == "invalidFilter"


@pytest.mark.django_db
def test_scim_deactivation_ends_access_and_filters_paginate(client, space, scim_token, admin):
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user_schema = "urn:ietf:params:scim:schemas:core:2.0:User"
    ids = []
    for i in range(5):
        r = scim(
            client,
            "POST",
            "/scim/v2/Users",
            scim_token,
            {
                "schemas": [user_schema],
                "userName": f"p{i}",
                "externalId": f"hr{i}",
                "emails": [{"value": f"p{i}@acme.test", "primary": True}],
            },
        )
        assert r.status_code == 201, r.content
        ids.append(r.json()["id"])
    page = client.get(
        "/scim/v2/Users?filter=userName%20sw%20%22p%22&startIndex=2&count=2",
        HTTP_AUTHORIZATION=f"Bearer {scim_token}",
    ).json()
    assert page["totalResults"] == 5 and page["itemsPerPage"] == 2 and page["startIndex"] == 2
    found = client.get(
        '/scim/v2/Users?filter=externalId eq "hr3"', HTTP_AUTHORIZATION=f"Bearer {scim_token}"
    ).json()
    assert [u["id"] for u in found["Resources"]] == [ids[3]]
    person = get_user_model().objects.get(pk=ids[0])
    Token.objects.create(user=person)
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    r = scim(client, "PATCH", f"/scim/v2/Users/{ids[0]}", scim_token, patch)
    assert r.status_code == 200 and r.json()["active"] is False
    person.refresh_from_db()
    assert not person.is_active
    assert not Token.objects.filter(user=person).exists()
