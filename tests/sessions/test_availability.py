"""Facilitators' weekly availability: booking a trainer outside their working hours is a
conflict, accepted only with a reason (recorded, on the conflicts page), as time off."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from sessions import services
from sessions.models import Availability, Booking
from sessions.selectors import space_conflicts
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def next_weekday(weekday: int, hour: int) -> datetime:
    """The next such weekday (a week or more ahead), at ``hour`` Paris time."""
    day = datetime.now(PARIS).date() + timedelta(days=7)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


@pytest.fixture
def office_hours(trainer):
    """Monday to Friday, 09:00-17:00 Paris."""
    return services.availability_set(
        actor=trainer,
        trainer=trainer,
        windows=[{"weekday": d, "starts": time(9), "ends": time(17)} for d in range(5)],
        time_zone="Europe/Paris",
    )


def session_at(coordinator, space, trainer, start):
    return make_session(
        coordinator, space, trainers=[trainer], starts_at=start, ends_at=start + timedelta(hours=3)
    )


def test_inside_working_hours_books_cleanly(coordinator, space, trainer, office_hours):
    session = session_at(coordinator, space, trainer, next_weekday(1, 9))
    rows = services.occurrence_book(actor=coordinator, session=session)
    assert [b.override_reason for b in rows] == [""]


def test_outside_is_a_conflict_unless_a_reason_is_given(coordinator, space, trainer, office_hours):
    evening = session_at(coordinator, space, trainer, next_weekday(2, 16))  # ends 19:00
    with pytest.raises(services.BookingConflict, match="outside their working hours"):
        services.occurrence_book(actor=coordinator, session=evening)
    assert not Booking.objects.exists()
    sunday = session_at(coordinator, space, trainer, next_weekday(6, 10))
    with pytest.raises(services.BookingConflict):
        services.occurrence_book(actor=coordinator, session=sunday)
    [row] = services.occurrence_book(
        actor=coordinator, session=sunday, override_reason="Weekend open day"
    )
    assert row.override_reason == "Weekend open day" and row.overridden_by_id == coordinator.pk
    [listed] = space_conflicts(space_ids=[space.pk])
    assert listed["outside_hours"] is True and listed["with"] == []


def test_no_hours_given_means_any_time(coordinator, space, trainer):
    sunday = session_at(coordinator, space, trainer, next_weekday(6, 22))
    assert services.occurrence_book(actor=coordinator, session=sunday)


def test_rest_and_who_may_set_them(
    api_client_for, trainer, coordinator, learner, outsider, office_hours
):
    api = api_client_for(trainer)
    got = api.get("/api/v1/sessions/availability/").json()
    assert [w["weekday"] for w in got["windows"]] == [0, 1, 2, 3, 4]
    assert got["windows"][0] == {
        "weekday": 0,
        "starts": "09:00",
        "ends": "17:00",
        "time_zone": "Europe/Paris",
    }
    body = {"time_zone": "UTC", "windows": [{"weekday": 0, "starts": "08:00", "ends": "12:00"}]}
    assert api.put("/api/v1/sessions/availability/", body, format="json").status_code == 200
    assert Availability.objects.filter(trainer=trainer).count() == 1
    # A coordinator of a shared space reads and sets them; others get a 404.
    assert (
        api_client_for(coordinator)
        .get(f"/api/v1/sessions/availability/?trainer={trainer.pk}")
        .status_code
        == 200
    )
    assert (
        api_client_for(outsider)
        .get(f"/api/v1/sessions/availability/?trainer={trainer.pk}")
        .status_code
        == 404
    )
    bad = {"time_zone": "UTC", "windows": [{"weekday": 9, "starts": "08:00", "ends": "07:00"}]}
    assert api.put("/api/v1/sessions/availability/", bad, format="json").status_code == 400
    with pytest.raises(ValidationError):
        services.availability_set(
            actor=trainer,
            trainer=trainer,
            windows=[{"weekday": 1, "starts": time(12), "ends": time(9)}],
            time_zone="UTC",
        )
    with pytest.raises(ValidationError):
        services.availability_set(
            actor=trainer, trainer=trainer, windows=[], time_zone="Mars/Olympus"
        )
    with pytest.raises(PermissionDenied):
        services.availability_set(actor=learner, trainer=trainer, windows=[], time_zone="UTC")
    assert Availability.objects.filter(trainer=trainer).count() == 1


def test_page(client, trainer, learner):
    client.force_login(learner)
    assert client.get("/sessions/availability/").status_code == 403
    client.force_login(trainer)
    assert client.get("/sessions/availability/").status_code == 200
    r = client.post(
        "/sessions/availability/",
        {
            "time_zone": "Europe/Paris",
            "from_0": "09:00",
            "until_0": "17:30",
            "from_4": "10:00",
            "until_4": "12:00",
        },
    )
    assert r.status_code == 302
    assert [(w.weekday, w.ends) for w in Availability.objects.filter(trainer=trainer)] == [
        (0, time(17, 30)),
        (4, time(12)),
    ]
    page = client.get("/sessions/availability/")
    assert b'value="17:30"' in page.content
    r = client.post(
        "/sessions/availability/",
        {"time_zone": "Europe/Paris", "from_1": "12:00", "until_1": "09:00"},
    )
    assert r.status_code == 200  # the error is shown, nothing changed
    assert Availability.objects.filter(trainer=trainer).count() == 2
