"""The conflict check when scheduling in a space with 10,000 booked parts and 500 rooms:
indexed, a constant number of queries, milliseconds (figures in docs/SCHEDULING.md).

The test holds the query count to the same number as in an empty space and the check's
time to a loose bound (the machine is shared); ``-s`` prints the figures."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions import services
from sessions.models import Booking, BookingKind, Room, Session, SessionPart
from sessions.selectors import overlapping_bookings, room_key, trainer_key
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db

ROOMS = 500
PARTS = 10_000


def populate(space, coordinator) -> list[Room]:
    """500 rooms; 1,000 sessions of 10 parts each over a year, every part in a room."""
    rooms = Room.objects.bulk_create(
        Room(space=space, name=f"Room {n}", site="HQ", capacity=30) for n in range(ROOMS)
    )
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    sessions = Session.objects.bulk_create(
        Session(
            space=space,
            kind="face_to_face",
            title=f"Session {n}",
            starts_at=start + timedelta(hours=9 * n),
            ends_at=start + timedelta(hours=9 * n + 2),
            capacity=10,
            created_by=coordinator,
        )
        for n in range(PARTS // 10)
    )
    parts = SessionPart.objects.bulk_create(
        SessionPart(
            session=s,
            starts_at=s.starts_at + timedelta(hours=3 * k // 10, days=k),
            ends_at=s.starts_at + timedelta(hours=3 * k // 10 + 2, days=k),
        )
        for s in sessions
        for k in range(10)
    )
    Booking.objects.bulk_create(
        (
            Booking(
                space=space,
                kind=BookingKind.SESSION,
                resource=room_key(rooms[n % ROOMS].pk),
                session_id=p.session_id,
                part=p,
                room=rooms[n % ROOMS],
                starts_at=p.starts_at,
                ends_at=p.ends_at,
            )
            for n, p in enumerate(parts)
        ),
        batch_size=2000,
    )
    return rooms


def measure(space, coordinator, trainer, room, *, day: int) -> tuple[int, float]:
    """(queries, median ms) of booking five new sessions' room and trainer on ``day``."""
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=day)
    times, counts = [], []
    for n in range(5):
        session = make_session(
            coordinator,
            space,
            starts_at=start + timedelta(hours=n),
            ends_at=start + timedelta(hours=n, minutes=30),
            trainers=[trainer],
        )
        with CaptureQueriesContext(connection) as queries:
            began = time.perf_counter()
            services.occurrence_book(actor=coordinator, session=session, room=room)
            times.append((time.perf_counter() - began) * 1000)
        counts.append(len(queries))
    assert len(set(counts)) == 1, counts
    return counts[0], statistics.median(times)


def test_conflict_check_is_indexed_and_constant(coordinator, space, trainer):
    small_room = Room.objects.create(space=space, name="Solo", capacity=30)
    empty_queries, empty_ms = measure(space, coordinator, trainer, small_room, day=30)
    rooms = populate(space, coordinator)
    assert Booking.objects.count() >= PARTS
    full_queries, full_ms = measure(space, coordinator, trainer, rooms[7], day=400)
    assert full_queries == empty_queries
    # The check itself: one query, an index range scan per resource.
    window = Booking.objects.filter(room=rooms[7]).order_by("starts_at")[10]
    keys = [room_key(rooms[7].pk), trainer_key(trainer.pk)]
    check_times = []
    for _ in range(20):
        began = time.perf_counter()
        found = list(
            overlapping_bookings(keys=keys, starts_at=window.starts_at, ends_at=window.ends_at)
        )
        check_times.append((time.perf_counter() - began) * 1000)
    assert [b.pk for b in found] == [window.pk]
    check_ms = statistics.median(check_times)
    plan = ""
    if connection.vendor == "postgresql":
        sql, params = overlapping_bookings(
            keys=keys, starts_at=window.starts_at, ends_at=window.ends_at
        ).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Seq Scan on training_sessions_booking" not in plan, plan
    print(
        f"\n{connection.vendor}: booking a room + trainer: {empty_queries} queries / "
        f"{empty_ms:.1f} ms in an empty space, {full_queries} queries / {full_ms:.1f} ms with "
        f"{PARTS} booked parts in {ROOMS} rooms; the conflict check alone: {check_ms:.2f} ms"
        f"\n{plan}"
    )
    assert check_ms < 50, check_times
