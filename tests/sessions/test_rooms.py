"""Rooms and assets per space, chosen on each occurrence; conflicts for rooms, assets and
trainers (refused, or accepted with a reason, recorded); learners booked twice; the
coordinators' conflicts page, live."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from sessions import services
from sessions.models import Booking
from sessions.services import BookingConflict
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(coordinator, space):
    return services.room_create(
        actor=coordinator,
        space=space,
        name="Room 2",
        site="Lyon office",
        address="1 rue de la République",
        capacity=12,
    )


@pytest.fixture
def projector(coordinator, space):
    return services.asset_create(actor=coordinator, space=space, name="Projector")


def at(days: int, hour: int):
    base = (timezone.now() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    return base.replace(hour=hour)


def session_at(coordinator, space, start, hours=3, **fields):
    return make_session(
        coordinator, space, starts_at=start, ends_at=start + timedelta(hours=hours), **fields
    )


def test_only_coordinators_add_rooms_and_assets(learner, trainer, space, api_client_for, outsider):
    with pytest.raises(PermissionDenied):
        services.room_create(actor=trainer, space=space, name="X", capacity=3)
    with pytest.raises(PermissionDenied):
        services.asset_create(actor=learner, space=space, name="Van")
    assert (
        api_client_for(learner).get(f"/api/v1/sessions/rooms/?space={space.pk}").status_code == 404
    )
    assert (
        api_client_for(outsider)
        .post(
            "/api/v1/sessions/rooms/",
            {"space": space.pk, "name": "X", "capacity": 3},
            format="json",
        )
        .status_code
        == 404
    )


def test_rooms_and_assets_over_rest(coordinator, space, api_client_for):
    api = api_client_for(coordinator)
    made = api.post(
        f"/api/v1/sessions/rooms/?space={space.pk}",
        {"name": "Hall", "site": "Paris", "capacity": 40, "equipment": "screen"},
        format="json",
    )
    assert made.status_code == 201, made.content
    assert (
        api.post(
            f"/api/v1/sessions/rooms/?space={space.pk}",
            {"name": "Hall", "site": "Paris", "capacity": 4},
            format="json",
        ).status_code
        == 400
    )  # the same name on the same site
    assert (
        api.post(
            f"/api/v1/sessions/rooms/?space={space.pk}",
            {"name": "Tiny", "capacity": 0},
            format="json",
        ).status_code
        == 400
    )
    assert [r["name"] for r in api.get(f"/api/v1/sessions/rooms/?space={space.pk}").json()] == [
        "Hall"
    ]
    asset = api.post(f"/api/v1/sessions/assets/?space={space.pk}", {"name": "Dummy"}, format="json")
    assert asset.status_code == 201
    assert api.get("/api/v1/sessions/rooms/?space=abc").status_code == 400


def test_booking_a_room_sets_the_place_and_bounds_the_seats(coordinator, space, room, projector):
    session = session_at(coordinator, space, at(5, 9), capacity=10)
    sequence = session.sequence
    rows = services.occurrence_book(
        actor=coordinator, session=session, room=room, assets=[projector]
    )
    assert {b.resource for b in rows} == {f"room:{room.pk}", f"asset:{projector.pk}"}
    session.refresh_from_db()
    assert session.location == "Room 2, Lyon office, 1 rue de la République"
    assert session.sequence > sequence  # a new place: attendees get the updated invitation
    big = session_at(coordinator, space, at(6, 9), capacity=30)
    with pytest.raises(ValidationError) as refused:
        services.occurrence_book(actor=coordinator, session=big, room=room)
    assert "room" in refused.value.message_dict
    assert not big.bookings.exists()


def test_double_booked_room_is_refused_then_accepted_with_a_reason(
    coordinator, space, room, api_client_for
):
    first = session_at(coordinator, space, at(5, 9))
    second = session_at(coordinator, space, at(5, 11), title="Fire safety")  # overlaps 11-12
    services.occurrence_book(actor=coordinator, session=first, room=room)
    api = api_client_for(coordinator)
    refused = api.post(f"/api/v1/sessions/{second.pk}/book/", {"room": room.pk}, format="json")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "conflict" and "First aid" in error["details"]["conflicts"][0]
    assert not second.bookings.exists()
    second.refresh_from_db()
    assert second.location == ""  # unchanged
    accepted = api.post(
        f"/api/v1/sessions/{second.pk}/book/",
        {"room": room.pk, "override_reason": "Half the group joins at noon"},
        format="json",
    )
    assert accepted.status_code == 200, accepted.content
    booking = second.bookings.get()
    assert booking.override_reason == "Half the group joins at noon"
    assert booking.overridden_by == coordinator
    [conflict] = api.get(f"/api/v1/sessions/conflicts/?space={space.pk}").json()
    assert conflict["booking"]["session"] == second.pk
    assert [o["session"] for o in conflict["with"]] == [first.pk]
    # Back to back is no conflict.
    third = session_at(coordinator, space, at(5, 14))
    fourth = session_at(coordinator, space, at(5, 17))
    services.occurrence_book(actor=coordinator, session=third, room=room)
    services.occurrence_book(actor=coordinator, session=fourth, room=room)


def test_trainers_and_their_time_off_conflict(coordinator, space, room, trainer, api_client_for):
    first = session_at(coordinator, space, at(5, 9), trainers=[trainer])
    second = session_at(coordinator, space, at(5, 10), trainers=[trainer])
    services.occurrence_book(actor=coordinator, session=first)  # holds the trainer
    with pytest.raises(BookingConflict):
        services.occurrence_book(actor=coordinator, session=second)
    # The trainer's time off over a session they teach is refused (409), unless a reason.
    api = api_client_for(trainer)
    body = {
        "space": space.pk,
        "starts_at": at(5, 8).isoformat(),
        "ends_at": at(5, 18).isoformat(),
        "note": "Dentist",
    }
    assert api.post("/api/v1/sessions/time-off/", body, format="json").status_code == 409
    later = {**body, "starts_at": at(8, 8).isoformat(), "ends_at": at(8, 18).isoformat()}
    assert api.post("/api/v1/sessions/time-off/", later, format="json").status_code == 201
    # A session booked then is refused: the trainer is off.
    third = session_at(coordinator, space, at(8, 9), trainers=[trainer])
    with pytest.raises(BookingConflict) as refused:
        services.occurrence_book(actor=coordinator, session=third)
    assert "time off" in str(refused.value)
    # Someone else's time off: only a coordinator of the space.
    other = {**later, "trainer": trainer.pk}
    assert (
        api_client_for(coordinator)
        .post(
            "/api/v1/sessions/time-off/",
            {**other, "starts_at": at(9, 8).isoformat(), "ends_at": at(9, 9).isoformat()},
            format="json",
        )
        .status_code
        == 201
    )


def test_moving_a_booked_session_into_a_conflict_is_refused(coordinator, space, room):
    first = session_at(coordinator, space, at(5, 9))
    second = session_at(coordinator, space, at(5, 14))
    services.occurrence_book(actor=coordinator, session=first, room=room)
    services.occurrence_book(actor=coordinator, session=second, room=room)
    with pytest.raises(ValidationError):
        services.session_update(
            actor=coordinator, session=second, starts_at=at(5, 10), ends_at=at(5, 12)
        )
    second.refresh_from_db()
    assert second.starts_at == at(5, 14)
    # A move to a free time takes the booking along.
    services.session_update(
        actor=coordinator, session=second, starts_at=at(6, 9), ends_at=at(6, 10)
    )
    assert second.bookings.get().starts_at == at(6, 9)
    # Cancelling frees the room.
    services.session_cancel(actor=coordinator, session=first)
    assert not Booking.objects.filter(session=first).exists()


def test_a_part_books_its_own_room(coordinator, space, room):
    session = session_at(coordinator, space, at(5, 9))
    part = services.part_add(
        actor=coordinator, session=session, starts_at=at(6, 9), ends_at=at(6, 12)
    )
    services.occurrence_book(actor=coordinator, session=session, part=part, room=room)
    part.refresh_from_db()
    assert part.location.startswith("Room 2")
    other = session_at(coordinator, space, at(6, 10))
    with pytest.raises(BookingConflict):
        services.occurrence_book(actor=coordinator, session=other, room=room)
    services.part_remove(actor=coordinator, part=part)
    services.occurrence_book(actor=coordinator, session=other, room=room)


def test_learner_booked_twice_is_warned_and_listed(client, coordinator, space, learner):
    first = session_at(coordinator, space, at(5, 9))
    second = session_at(coordinator, space, at(5, 10), title="Fire safety")
    services.registration_register(actor=learner, session=first)
    services.registration_register(actor=learner, session=second)
    client.force_login(learner)
    page = client.get(f"/sessions/{second.pk}/").content.decode()
    assert 'data-testid="booked-twice"' in page and "First aid" in page
    client.force_login(coordinator)
    page = client.get("/sessions/manage/conflicts/").content.decode()
    assert 'data-kind="learner"' in page


def test_pages_and_topic_are_for_coordinators(client, coordinator, learner, space, room, published):
    client.force_login(learner)
    assert client.get("/sessions/manage/conflicts/").status_code == 403
    assert client.get("/sessions/manage/rooms/").status_code == 403
    client.force_login(coordinator)
    assert client.get("/sessions/manage/rooms/").status_code == 200
    made = client.post(
        "/sessions/manage/rooms/", {"space": space.pk, "name": "Lab", "capacity": "8"}
    )
    assert made.status_code == 302 and space.rooms.filter(name="Lab").exists()
    assert client.get("/sessions/manage/conflicts/").status_code == 200
    session = session_at(coordinator, space, at(5, 9))
    response = client.post(f"/sessions/{session.pk}/book/", {"room": room.pk})
    assert response.status_code == 302 and session.bookings.exists()
    assert published(f"sessions.conflicts.{space.pk}")
    from sessions.realtime import ConflictsTopic

    assert ConflictsTopic().authorize(coordinator, str(space.pk))
    assert not ConflictsTopic().authorize(learner, str(space.pk))
    assert not ConflictsTopic().authorize(coordinator, "x")
