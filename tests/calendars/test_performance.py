"""A personal feed of 1,000 sessions is served in under 500 ms, in a bounded number of queries."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from calendars import ics
from sessions.models import Registration, Session, SessionPart

pytestmark = pytest.mark.django_db

SESSIONS = 1000
TARGET_MS = 500
ZONES = ("Europe/Paris", "America/New_York", "UTC", "Asia/Tokyo")


def populate(*, space: Any, coordinator: Any, trainer: Any, user: Any, count: int) -> None:
    """``count`` sessions ``user`` is registered for (some waitlisted, some cancelled), in
    four time zones, each trained by ``trainer``; every tenth has a second part."""
    start = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    sessions = Session.objects.bulk_create(
        Session(
            space=space,
            kind="virtual" if i % 3 == 0 else "face_to_face",
            title=f"Session {i}",
            description=f"Session **{i}**",
            description_html=f"<p>Session <strong>{i}</strong> &amp; more</p>",
            starts_at=start + timedelta(hours=6 * i),
            ends_at=start + timedelta(hours=6 * i + 2),
            time_zone=ZONES[i % len(ZONES)],
            location="" if i % 3 == 0 else f"Room {i % 12}",
            join_url="https://meet.example.com/r" if i % 3 == 0 else "",
            capacity=20,
            status="cancelled" if i % 50 == 49 else "scheduled",
            created_by=coordinator,
        )
        for i in range(count)
    )
    Session.trainers.through.objects.bulk_create(
        Session.trainers.through(session_id=s.pk, user_id=trainer.pk) for s in sessions
    )
    SessionPart.objects.bulk_create(
        SessionPart(
            session=s,
            starts_at=s.starts_at + timedelta(days=7),
            ends_at=s.ends_at + timedelta(days=7),
        )
        for i, s in enumerate(sessions)
        if i % 10 == 0
    )
    Registration.objects.bulk_create(
        Registration(
            session=s,
            user=user,
            status=("waitlisted" if i % 7 == 0 else "cancelled" if i % 25 == 0 else "confirmed"),
            position=1 if i % 7 == 0 else None,
        )
        for i, s in enumerate(sessions)
    )


def timed_get(client: Any, path: str, **headers: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.get(path, **headers)
    return (time.perf_counter() - started) * 1000, response


def test_feed_of_1000_sessions_is_served_under_500_ms(
    client, django_assert_max_num_queries, space, coordinator, trainer, learner
):
    populate(space=space, coordinator=coordinator, trainer=trainer, user=learner, count=SESSIONS)
    path = f"/calendars/feed/{learner.feed_token}.ics"
    ics.blocks.clear()
    # The token, the registrations, the sessions, their trainers and parts: whatever the size.
    with django_assert_max_num_queries(6):
        cold_ms, response = timed_get(client, path)
    assert response.status_code == 200
    assert response.content.count(b"BEGIN:VEVENT") == SESSIONS + SESSIONS // 10
    times = []
    for _ in range(5):
        elapsed, again = timed_get(client, path)
        assert again.status_code == 200 and again["ETag"] == response["ETag"]
        times.append(elapsed)
    median = statistics.median(times)
    revalidate_ms, unchanged = timed_get(client, path, HTTP_IF_NONE_MATCH=response["ETag"])
    assert unchanged.status_code == 304
    print(
        f"\nfeed of {SESSIONS} sessions: cold {cold_ms:.0f} ms, median {median:.0f} ms "
        f"(max {max(times):.0f}), 304 in {revalidate_ms:.0f} ms, {len(response.content)} bytes"
    )
    assert median < TARGET_MS, times
