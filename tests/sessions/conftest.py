"""Fixtures of the session tests: a session of the test space, a few more learners, a clock."""

from __future__ import annotations

from datetime import datetime, timedelta

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


class Clock:
    """``timezone.now()`` frozen at a whole second, moved only by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """Freeze the time services read, so a rule "until the start" or "15 minutes before"
    is tested at the exact second (a moving clock cannot tell ``>`` from ``>=``)."""
    frozen = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", frozen)
    return frozen
