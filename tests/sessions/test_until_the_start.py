"""Rules that turn at the start (or 15 minutes before it), tested at the exact second.

The clock is frozen (``clock`` fixture): a session's start is set relative to it, and the
test moves it to one second before, exactly at, or after the boundary.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from sessions import services
from sessions.models import NoticeKind, Registration, Session, SessionEvent
from sessions.selectors import attendance_payload, seats_state
from tests.sessions.conftest import Clock, make_session

pytestmark = pytest.mark.django_db


def url(session: Session, rest: str = "") -> str:
    return f"/api/v1/sessions/{session.pk}/{rest}"


def snapshot(session: Session) -> tuple[Any, ...]:
    """Everything a refused request must leave as it was."""
    return (
        list(
            session.registrations.order_by("pk").values_list(
                "pk", "status", "position", "revision", "attendance", "cancelled_at"
            )
        ),
        SessionEvent.objects.filter(session=session).count(),
        Session.objects.values_list("sequence", "capacity").get(pk=session.pk),
    )


def full_session(coordinator, space, crowd, clock: Clock, **fields: Any) -> Session:
    """One seat taken by crowd0; crowd1 and crowd2 wait. Starts in a day."""
    session = make_session(
        coordinator, space, capacity=1, starts_at=clock.now + timedelta(days=1), **fields
    )
    for person in crowd[:3]:
        services.registration_register(actor=person, session=session)
    return session


def waiting(session: Session) -> list[tuple[str, int]]:
    return [
        (r.user.username, r.position)
        for r in session.registrations.filter(status="waitlisted")
        .select_related("user")
        .order_by("position")
    ]


# -- withdrawing from the waiting list ---------------------------------------------------------
@pytest.mark.parametrize("after_start", [timedelta(0), timedelta(seconds=1), timedelta(hours=2)])
def test_withdrawing_from_the_waiting_list_after_the_start_is_refused(
    coordinator, space, crowd, clock, api_client_for, after_start
):
    session = full_session(coordinator, space, crowd, clock)
    clock.now = session.starts_at + after_start
    before = snapshot(session)
    reply = api_client_for(crowd[1]).post(url(session, "cancel/"))
    assert reply.status_code == 400
    assert "started" in str(reply.json()["error"]["details"])
    assert snapshot(session) == before
    registration = Registration.objects.get(session=session, user=crowd[1])
    with pytest.raises(ValidationError):
        services.waitlist_withdraw(actor=crowd[1], registration=registration)
    assert snapshot(session) == before


def test_withdrawing_one_second_before_the_start_is_allowed(
    coordinator, space, crowd, clock, api_client_for
):
    session = full_session(coordinator, space, crowd, clock)
    clock.now = session.starts_at - timedelta(seconds=1)
    reply = api_client_for(crowd[1]).post(url(session, "cancel/"))
    assert reply.status_code == 200 and reply.json()["status"] == "cancelled"
    assert waiting(session) == [("crowd2", 1)]


# -- no promotion once started -----------------------------------------------------------------
@pytest.mark.parametrize("claim_hours", [None, 4])
def test_removing_a_confirmed_attendee_after_the_start_promotes_nobody(
    coordinator, space, crowd, clock, api_client_for, published, claim_hours
):
    session = full_session(coordinator, space, crowd, clock, claim_hours=claim_hours)
    seat = Registration.objects.get(session=session, user=crowd[0])
    clock.now = session.starts_at
    published()  # what registering published is not what this test looks at
    seen = len(published(session.topic))
    reply = api_client_for(coordinator).post(url(session, f"registrations/{seat.pk}/remove/"))
    assert reply.status_code == 200 and reply.json()["status"] == "cancelled"
    assert waiting(session) == [("crowd1", 1), ("crowd2", 2)]
    assert seats_state(session=session) | {"capacity": 1} == {
        "capacity": 1,
        "confirmed": 0,
        "offered": 0,
        "reserved": 0,
        "seats_left": 1,
        "waitlist_length": 2,
    }
    types = [e.type for e in published(session.topic)[seen:]]
    assert "registration.promoted" not in types and "registration.offered" not in types
    assert not Registration.objects.filter(session=session, notices__kind=NoticeKind.PROMOTED)


def test_removing_one_second_before_the_start_still_promotes(
    coordinator, space, crowd, clock, api_client_for
):
    """The other side of the boundary: the test above fails if promotion never happens."""
    session = full_session(coordinator, space, crowd, clock)
    seat = Registration.objects.get(session=session, user=crowd[0])
    clock.now = session.starts_at - timedelta(seconds=1)
    reply = api_client_for(coordinator).post(url(session, f"registrations/{seat.pk}/remove/"))
    assert reply.status_code == 200
    assert Registration.objects.get(session=session, user=crowd[1]).status == "confirmed"
    assert waiting(session) == [("crowd2", 1)]


def test_cancelling_ones_own_seat_after_the_start_is_refused_and_promotes_nobody(
    coordinator, space, crowd, clock, api_client_for
):
    session = full_session(coordinator, space, crowd, clock)
    clock.now = session.starts_at
    before = snapshot(session)
    reply = api_client_for(crowd[0]).post(url(session, "cancel/"))
    assert reply.status_code == 400
    assert snapshot(session) == before


def test_raising_the_capacity_after_the_start_promotes_nobody(coordinator, space, crowd, clock):
    session = full_session(coordinator, space, crowd, clock)
    clock.now = session.starts_at
    services.session_set_capacity(actor=coordinator, session=session, capacity=5)
    assert waiting(session) == [("crowd1", 1), ("crowd2", 2)]
    assert services.promote_next_waitlisted(session=session) is None


# -- the sign-in sheet opens 15 minutes before the start ---------------------------------------
@pytest.fixture
def sheet(coordinator, space, trainer, learner, clock) -> tuple[Session, Registration]:
    session = make_session(
        coordinator, space, trainers=[trainer], starts_at=clock.now + timedelta(days=1)
    )
    return session, services.registration_register(actor=learner, session=session)


def test_sign_in_sheet_is_shut_at_15_minutes_and_1_second_before(
    sheet, trainer, clock, api_client_for
):
    session, registration = sheet
    clock.now = session.starts_at - timedelta(minutes=15, seconds=1)
    client = api_client_for(trainer)
    assert client.get(url(session, "attendance/")).json()["open"] is False
    before = snapshot(session)
    reply = client.post(
        url(session, "attendance/"),
        {"registration": registration.pk, "attendance": "present"},
        format="json",
    )
    assert reply.status_code == 400
    assert "15 minutes" in str(reply.json()["error"]["details"])
    assert snapshot(session) == before
    assert services.attendance_is_open(session=session) is False


def test_sign_in_sheet_opens_at_exactly_15_minutes_before(sheet, trainer, clock, api_client_for):
    session, registration = sheet
    clock.now = session.starts_at - timedelta(minutes=15)
    client = api_client_for(trainer)
    assert client.get(url(session, "attendance/")).json()["open"] is True
    assert attendance_payload(session=session)["open"] is True
    reply = client.post(
        url(session, "attendance/"),
        {"registration": registration.pk, "attendance": "present"},
        format="json",
    )
    assert reply.status_code == 200 and reply.json()["attendance"] == "present"
    registration.refresh_from_db()
    assert registration.attendance == "present"
