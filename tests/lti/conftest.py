"""A platform played by the tests for bad-input checks: id tokens signed with joserfc (not
the library under test), its JWKS served over HTTP on 127.0.0.1, and a helper that goes
through our login initiation first (so state and nonce are the ones we issued)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from joserfc import jwt
from joserfc.jwk import RSAKey

from lti.models import Platform

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


def make_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})


@pytest.fixture(scope="session")
def platform_key() -> RSAKey:
    return make_key("platform-1")


@pytest.fixture(scope="session")
def rogue_key() -> RSAKey:
    """Same kid as the platform's key, another key: a forged signature."""
    return make_key("platform-1")


@pytest.fixture(scope="session")
def jwks_url(platform_key: RSAKey):
    body = json.dumps({"keys": [platform_key.as_dict(private=False)]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    server.shutdown()


ISSUER = "https://lms.example.test"


@pytest.fixture
def admin(space):
    from hub.accounts.models import Role
    from tests.factories import UserFactory

    return UserFactory(username="admin1", roles=[Role.ADMIN], spaces=[space])


@pytest.fixture
def course(trainer, space):
    from tests.classrooms.conftest import build_course

    return build_course(trainer=trainer, space=space)


@pytest.fixture
def platform(space, admin, jwks_url, course) -> Platform:
    from lti.services import platform_create

    return platform_create(
        actor=admin,
        space=space,
        name="Test LMS",
        issuer=ISSUER,
        client_id="lyceum-client",
        deployment_ids=["dep-1"],
        auth_login_url="https://lms.example.test/auth",
        auth_token_url="https://lms.example.test/token",
        key_set_url=jwks_url,
        default_course=course.course,
    )


def claims_for(platform: Platform, nonce: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": platform.issuer,
        "aud": platform.client_id,
        "azp": platform.client_id,
        "sub": "u-ada",
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "name": "Ada Lovelace",
        "email": "ada@lms.example.test",
        CLAIM + "message_type": "LtiResourceLinkRequest",
        CLAIM + "version": "1.3.0",
        CLAIM + "deployment_id": "dep-1",
        CLAIM + "target_link_uri": "http://testserver/lti/test-space/launch/",
        CLAIM + "resource_link": {"id": "rl-1", "title": "Safety"},
        CLAIM + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        CLAIM + "context": {"id": "ctx-1", "title": "LMS course"},
    }
    for key, value in overrides.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    return claims


class Launcher:
    """Login initiation through our endpoint, then a launch with a token we sign."""

    def __init__(self, client: Any, platform: Platform, key: RSAKey, slug: str) -> None:
        self.client = client
        self.platform = platform
        self.key = key
        self.slug = slug

    def login(self, **params: str) -> tuple[str, str]:
        query = {
            "iss": self.platform.issuer,
            "client_id": self.platform.client_id,
            "login_hint": "u-ada",
            "target_link_uri": f"http://testserver/lti/{self.slug}/launch/",
            "lti_message_hint": "m1",
            **params,
        }
        response = self.client.get(reverse("lti-login", args=[self.slug]), query)
        assert response.status_code == 302, response.content[:500]
        sent = parse_qs(urlsplit(response["Location"]).query)
        return sent["state"][0], sent["nonce"][0]

    def sign(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        key = key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key)

    def launch(self, key: RSAKey | None = None, state: str | None = None, **overrides: Any):
        got_state, nonce = self.login()
        claims = claims_for(self.platform, nonce, **overrides)
        token = self.sign(claims, key)
        return self.post(token, state or got_state)

    def post(self, token: str, state: str):
        return self.client.post(
            reverse("lti-launch", args=[self.slug]), {"id_token": token, "state": state}
        )


@pytest.fixture
def launcher(client, platform, platform_key, space) -> Launcher:
    return Launcher(client, platform, platform_key, space.slug)


def fresh_id() -> str:
    return uuid.uuid4().hex
