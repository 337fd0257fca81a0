"""Fixtures of the session tests: a session of the test space, a few more learners."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hub.accounts.models import Role
from sessions.services import session_create
from tests.factories import UserFactory


def make_session(coordinator, space, **fields):
    start = fields.pop("starts_at", timezone.now() + timedelta(days=7))
    defaults = {
        "kind": "face_to_face",
        "title": "First aid",
        "starts_at": start,
        "ends_at": start + timedelta(hours=3),
        "capacity": 2,
    }
    defaults.update(fields)
    return session_create(actor=coordinator, space=space, **defaults)


@pytest.fixture
def training(coordinator, space):
    """A face-to-face session in a week, two seats."""
    return make_session(coordinator, space)


@pytest.fixture
def crowd(space):
    """Five more learners of the space."""
    return [
        UserFactory(username=f"crowd{i}", roles=[Role.LEARNER], spaces=[space]) for i in range(5)
    ]
