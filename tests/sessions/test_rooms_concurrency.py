"""Two coordinators book the same room for overlapping times at the same moment on
PostgreSQL: one wins, the other gets a clear conflict (the exclusion constraint of
migration 0006 decides; both conflict checks saw a free room). SQLite needs no test of its
own: its transactions take the write lock at BEGIN (IMMEDIATE), so check and insert of two
writers run one after the other."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from hub.accounts.models import Role
from sessions import services
from sessions.models import Booking
from sessions.services import BookingConflict
from tests.factories import UserFactory
from tests.sessions.conftest import make_session
from tests.sessions.test_concurrency import run_all

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.SERVICES_MODE,
        reason="the exclusion constraint under concurrency needs PostgreSQL (services mode)",
    ),
]


def test_two_coordinators_book_the_same_room_at_once(coordinator, space, monkeypatch):
    other = UserFactory(username="coordinator2", roles=[Role.COORDINATOR], spaces=[space])
    room = services.room_create(actor=coordinator, space=space, name="Room 2", capacity=20)
    start = (timezone.now() + timedelta(days=5)).replace(microsecond=0)
    first = make_session(coordinator, space, starts_at=start, ends_at=start + timedelta(hours=3))
    second = make_session(
        other, space, starts_at=start + timedelta(hours=1), ends_at=start + timedelta(hours=4)
    )
    # Both have checked (and found the room free) before either inserts.
    checked = threading.Barrier(2, timeout=20)
    insert = services._insert_bookings

    def after_both_checked(rows):
        checked.wait()
        insert(rows)

    monkeypatch.setattr(services, "_insert_bookings", after_both_checked)
    results: list[str] = []

    def book(actor, session):
        def call():
            services.occurrence_book(actor=actor, session=session, room=room)
            results.append(f"booked {session.pk}")

        return call

    errors = run_all([book(coordinator, first), book(other, second)])
    assert len(results) == 1, (results, errors)
    [error] = errors
    assert isinstance(error, BookingConflict)
    assert "at the same time" in str(error)
    assert Booking.objects.filter(resource=f"room:{room.pk}").count() == 1
