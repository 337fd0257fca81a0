"""The coordinator's home page shows a conflicts card: the count and a link to the
conflicts page; its script follows ``sessions.conflicts.<space>`` (the browser test in
tests/e2e/test_coaching_reservations.py sees it change)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sessions import services
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db


def test_card_counts_conflicts_for_coordinators_only(client, coordinator, learner, space):
    client.force_login(coordinator)
    page = client.get("/").content.decode()
    assert (
        'data-testid="conflicts-card"' in page
        and 'data-testid="conflicts-count" data-count>0<' in page
    )
    assert "/sessions/manage/conflicts/" in page and "sessions/conflicts_card.js" in page
    room = services.room_create(actor=coordinator, space=space, name="Room 2", capacity=20)
    first = make_session(coordinator, space)
    second = make_session(
        coordinator,
        space,
        starts_at=first.starts_at + timedelta(hours=1),
        ends_at=first.ends_at + timedelta(hours=1),
    )
    services.occurrence_book(actor=coordinator, session=first, room=room)
    services.occurrence_book(actor=coordinator, session=second, room=room, override_reason="Shared")
    page = client.get("/").content.decode()
    assert "data-count>1<" in page
    client.force_login(learner)
    assert 'data-testid="conflicts-card"' not in client.get("/").content.decode()
