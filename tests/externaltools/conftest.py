"""A tool that lives in the test: its RSA key pair signs what it sends to Lyceum (deep
linking responses, client assertions) as an LTI 1.3 tool would."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from classrooms import services as classrooms_services
from externaltools import services
from externaltools.models import Tool
from tests.factories import UserFactory

TOOL_ORIGIN = "https://tool.example.org"


@pytest.fixture(scope="session")
def tool_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "tool-1", "alg": "RS256"})


@pytest.fixture(scope="session")
def other_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "tool-1", "alg": "RS256"})


def sign_as(key: RSAKey, claims: dict[str, Any]) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


@dataclass
class Setup:
    tool: Tool
    course: Any
    module: Any
    external: Any
    admin: Any
    trainer: Any
    learner: Any
    key: RSAKey

    def assertion(self, *, key: RSAKey | None = None, **changes: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.tool.client_id,
            "sub": self.tool.client_id,
            "aud": "http://127.0.0.1:8000/externaltools/token",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
            **changes,
        }
        return sign_as(key or self.key, {k: v for k, v in claims.items() if v is not None})


@pytest.fixture
def lti(space, trainer, learner, tool_key, settings) -> Setup:
    settings.SITE_URL = "http://127.0.0.1:8000"
    admin = UserFactory(username="admin1", roles=["admin"], spaces=[space])
    tool = services.tool_create(
        actor=admin,
        space=space,
        name="Drills",
        login_url=f"{TOOL_ORIGIN}/login",
        launch_url=f"{TOOL_ORIGIN}/launch",
        deep_linking_url=f"{TOOL_ORIGIN}/deep",
        public_key=tool_key.as_pem(private=False).decode(),
        share_name=True,
        share_email=False,
        custom={"level": "2", "who": "$User.username"},
    )
    course = classrooms_services.course_create(author=trainer, space=space, title="Algebra")
    module = classrooms_services.module_create(user=trainer, course=course, title="Week 1")
    classrooms_services.enrolment_create(actor=trainer, user=learner, course=course)
    external = services.external_activity_create(
        user=trainer, module=module, tool=tool, title="Drill 1", custom={"drill": "1"}
    )
    return Setup(tool, course, module, external, admin, trainer, learner, tool_key)
