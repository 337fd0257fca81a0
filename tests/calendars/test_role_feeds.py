"""A coordinator's and a trainer's feeds, and live classes in the agenda and the feeds.

Every feed is read by the three parsers (tests/calendars/parsers.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from calendars.ics import session_uid, uid_domain
from classrooms.services import liveclass_create
from sessions.services import registration_register
from tests.calendars.conftest import make_session
from tests.calendars.parsers import read_all

pytestmark = pytest.mark.django_db


def token_of(client: Any, user: Any) -> str:
    client.force_login(user)
    client.post("/calendars/feed/reset/")
    user.refresh_from_db()
    return user.feed_token


def feed(client: Any, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, path
    assert response["Content-Type"] == "text/calendar; charset=utf-8; method=PUBLISH"
    return read_all(response.content)


@pytest.fixture
def live_class(trainer, space):
    start = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    return liveclass_create(
        actor=trainer,
        space=space,
        title="Live Q&A",
        scheduled_start=start,
        scheduled_end=start + timedelta(hours=1),
    )


def live_uid(live_class: Any) -> str:
    return f"liveclass-{live_class.pk}@{uid_domain()}"


def test_coordinators_feeds_hold_every_session_of_their_spaces(
    client, coordinator, space, trainer, learner, live_class
):
    taught = make_session(coordinator, space, trainers=[trainer], title="Taught")
    other = make_session(coordinator, space, title="Untrained")
    token = token_of(client, coordinator)
    for path in (f"/calendars/feed/{token}.ics", f"/calendars/feed/{token}/managed.ics"):
        events = feed(client, path)
        assert {session_uid(taught.pk), session_uid(other.pk), live_uid(live_class)} <= set(events)
        assert events[session_uid(other.pk)].start == other.starts_at
    # A learner coordinates nothing: no such feed.
    learner_token = token_of(client, learner)
    assert client.get(f"/calendars/feed/{learner_token}/managed.ics").status_code == 404
    assert client.get("/calendars/feed/not-a-token-at-all-x/managed.ics").status_code == 404


def test_trainers_teaching_feed_holds_what_they_teach_only(
    client, coordinator, space, trainer, live_class
):
    taught = make_session(coordinator, space, trainers=[trainer], title="Taught")
    attended = make_session(coordinator, space, title="Attended")
    registration_register(actor=trainer, session=attended)
    token = token_of(client, trainer)
    teaching = feed(client, f"/calendars/feed/{token}/teaching.ics")
    assert set(teaching) == {session_uid(taught.pk), live_uid(live_class)}
    personal = feed(client, f"/calendars/feed/{token}.ics")
    assert session_uid(attended.pk) in personal and session_uid(taught.pk) in personal
    page = client.get("/calendars/").content.decode()
    assert 'data-feed="teaching"' in page and 'data-feed="managed"' not in page


def test_live_class_is_in_the_agenda_and_feed_of_its_course_learners_only(
    client, api_client_for, trainer, space, learner, outsider, live_class
):
    from classrooms.models import Course, Enrolment

    course = Course.objects.create(space=space, title="Safety", published=True)
    live_class.course = course
    live_class.save(update_fields=["course"])
    Enrolment.objects.create(user=learner, course=course, source="self")
    events = feed(client, f"/calendars/feed/{token_of(client, learner)}.ics")
    assert events[live_uid(live_class)].start == live_class.scheduled_start
    assert events[live_uid(live_class)].end == live_class.scheduled_end
    day = live_class.scheduled_start.date()
    answer = api_client_for(learner).get(
        f"/api/v1/calendars/agenda/?start={day:%Y-%m-%d}&end={day + timedelta(days=1):%Y-%m-%d}"
    )
    [item] = answer.json()
    assert item["live_class"] is True and item["url"] == f"/liveclass/{live_class.pk}/"
    assert item["ics_url"] is None
    page = client.get(f"/calendars/?view=week&date={day:%Y-%m-%d}").content.decode()
    assert f'data-live-class="{live_class.pk}"' in page
    # Someone outside the course sees nothing of it.
    assert live_uid(live_class) not in feed(
        client, f"/calendars/feed/{token_of(client, outsider)}.ics"
    )


def test_a_rooms_feed_holds_the_sessions_booked_there(client, coordinator, space, learner):
    from sessions.services import occurrence_book, room_create

    room = room_create(actor=coordinator, space=space, name="Room 2", capacity=10)
    booked = make_session(coordinator, space, title="Booked")
    elsewhere = make_session(coordinator, space, title="Elsewhere")
    occurrence_book(actor=coordinator, session=booked, room=room)
    token = token_of(client, coordinator)
    events = feed(client, f"/calendars/feed/{token}/room/{room.pk}.ics")
    assert set(events) == {session_uid(booked.pk)}
    assert session_uid(elsewhere.pk) not in events
    assert f"/room/{room.pk}.ics" in client.get("/calendars/").content.decode()
    # Not for a learner, nor with a wrong token.
    learner_token = token_of(client, learner)
    assert client.get(f"/calendars/feed/{learner_token}/room/{room.pk}.ics").status_code == 404
    assert client.get(f"/calendars/feed/{token}/room/987654.ics").status_code == 404
