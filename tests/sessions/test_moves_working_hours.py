"""Working hours beyond booking: moving a booked session or part re-checks the trainers'
hours (outside them: a conflict unless a reason is given, recorded), and a coach who set
working hours publishes coaching slots only within them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from sessions import services
from sessions.models import Booking, CoachingSlot, Session
from sessions.selectors import space_conflicts
from tests.sessions.conftest import make_session
from tests.sessions.test_availability import next_weekday, office_hours, session_at  # noqa: F401

pytestmark = pytest.mark.django_db


def booked(coordinator, space, trainer, start):
    session = session_at(coordinator, space, trainer, start)
    services.occurrence_book(actor=coordinator, session=session)
    return session


def test_moving_a_session_outside_the_hours_is_a_conflict(
    coordinator,
    space,
    trainer,
    office_hours,  # noqa: F811
):
    session = booked(coordinator, space, trainer, next_weekday(1, 9))
    evening = next_weekday(1, 18)
    with pytest.raises(services.BookingConflict, match="outside their working hours"):
        services.session_update(
            actor=coordinator,
            session=session,
            starts_at=evening,
            ends_at=evening + timedelta(hours=2),
        )
    # Nothing moved.
    assert Session.objects.get(pk=session.pk).starts_at == next_weekday(1, 9)
    [row] = Booking.objects.filter(session=session)
    assert row.starts_at == next_weekday(1, 9) and row.override_reason == ""
    # Within the hours: moves cleanly.
    later = next_weekday(3, 10)
    services.session_update(
        actor=coordinator, session=session, starts_at=later, ends_at=later + timedelta(hours=3)
    )
    assert Booking.objects.get(session=session).starts_at == later
    # With a reason: moved, the reason recorded and the conflict listed.
    services.session_update(
        actor=coordinator,
        session=Session.objects.get(pk=session.pk),
        starts_at=evening,
        ends_at=evening + timedelta(hours=2),
        override_reason="Evening class for shift workers",
    )
    row = Booking.objects.get(session=session)
    assert row.starts_at == evening
    assert row.override_reason == "Evening class for shift workers"
    assert row.overridden_by_id == coordinator.pk
    [listed] = space_conflicts(space_ids=[space.pk])
    assert listed["outside_hours"] is True


def test_moving_a_part_outside_the_hours_is_a_conflict(
    coordinator,
    space,
    trainer,
    office_hours,  # noqa: F811
):
    session = session_at(coordinator, space, trainer, next_weekday(1, 9))
    part = services.part_add(
        actor=coordinator,
        session=session,
        starts_at=next_weekday(2, 9),
        ends_at=next_weekday(2, 12),
    )
    services.occurrence_book(actor=coordinator, session=session, part=part)
    saturday = next_weekday(5, 9)
    with pytest.raises(services.BookingConflict):
        services.part_update(
            actor=coordinator, part=part, starts_at=saturday, ends_at=saturday + timedelta(hours=3)
        )
    assert Booking.objects.get(part=part).starts_at == next_weekday(2, 9)
    services.part_update(
        actor=coordinator,
        part=part,
        starts_at=saturday,
        ends_at=saturday + timedelta(hours=3),
        override_reason="Saturday workshop",
    )
    assert Booking.objects.get(part=part).override_reason == "Saturday workshop"


def test_rest_move_is_a_409_unless_a_reason_is_given(
    api_client_for,
    coordinator,
    space,
    trainer,
    office_hours,  # noqa: F811
):
    session = booked(coordinator, space, trainer, next_weekday(1, 9))
    evening = next_weekday(1, 18)
    body = {"starts_at": evening.isoformat(), "ends_at": (evening + timedelta(hours=2)).isoformat()}
    api = api_client_for(coordinator)
    r = api.patch(f"/api/v1/sessions/{session.pk}/", body, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict", r.content
    assert Session.objects.get(pk=session.pk).starts_at == next_weekday(1, 9)
    r = api.patch(
        f"/api/v1/sessions/{session.pk}/", {**body, "override_reason": "Late shift"}, format="json"
    )
    assert r.status_code == 200, r.content
    assert Booking.objects.get(session=session).override_reason == "Late shift"


def test_a_session_never_booked_moves_freely(
    coordinator,
    space,
    trainer,
    office_hours,  # noqa: F811
):
    session = make_session(coordinator, space, trainers=[trainer], starts_at=next_weekday(1, 9))
    sunday = next_weekday(6, 9)
    services.session_update(
        actor=coordinator, session=session, starts_at=sunday, ends_at=sunday + timedelta(hours=1)
    )


def test_coaching_slots_outside_the_coachs_hours_are_refused(
    api_client_for,
    trainer,
    space,
    office_hours,  # noqa: F811
):
    evening = next_weekday(1, 16)
    with pytest.raises(ValidationError, match="outside your working hours"):
        services.coaching_slots_publish(
            actor=trainer,
            space=space,
            starts_at=evening,
            ends_at=evening + timedelta(hours=2),
            slot_minutes=30,
        )
    assert not CoachingSlot.objects.exists()
    body = {
        "space": space.pk,
        "starts_at": evening.isoformat(),
        "ends_at": (evening + timedelta(hours=2)).isoformat(),
        "slot_minutes": 30,
    }
    r = api_client_for(trainer).post("/api/v1/sessions/coaching/slots/", body, format="json")
    assert r.status_code == 400 and "working hours" in r.content.decode()
    assert not CoachingSlot.objects.exists()
    # Within them: published.
    morning = next_weekday(1, 10)
    slots = services.coaching_slots_publish(
        actor=trainer,
        space=space,
        starts_at=morning,
        ends_at=morning + timedelta(hours=1),
        slot_minutes=30,
    )
    assert len(slots) == 2


def test_a_coach_without_hours_publishes_any_time(trainer, space):
    sunday = next_weekday(6, 21)
    assert services.coaching_slots_publish(
        actor=trainer,
        space=space,
        starts_at=sunday,
        ends_at=sunday + timedelta(minutes=30),
        slot_minutes=30,
    )


def test_the_edit_page_asks_for_a_reason(
    client,
    coordinator,
    space,
    trainer,
    office_hours,  # noqa: F811
):
    from tests.sessions.test_pages_manage import form_data

    session = booked(coordinator, space, trainer, next_weekday(1, 9))
    client.force_login(coordinator)
    page = client.get(f"/sessions/{session.pk}/edit/")
    assert b'name="override_reason"' in page.content
    evening = next_weekday(1, 18)
    data = form_data(space, evening, trainers=[trainer.pk])
    data.pop("space")
    page = client.post(f"/sessions/{session.pk}/edit/", data)
    assert page.status_code == 200 and b"outside their working hours" in page.content
    assert Session.objects.get(pk=session.pk).starts_at == next_weekday(1, 9)
    reply = client.post(f"/sessions/{session.pk}/edit/", {**data, "override_reason": "Late shift"})
    assert reply.status_code == 302
    assert Booking.objects.get(session=session).override_reason == "Late shift"
    # Creating a session has no such field.
    assert b'name="override_reason"' not in client.get("/sessions/new/").content
