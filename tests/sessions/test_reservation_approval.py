"""A seat named from a manager's reservation respects the session's approval rule: where
the namer may not approve (a manager, for a session a coordinator approves), the named
person awaits approval holding the reserved seat; approved, it is their seat; declined, it
goes back to the reservation, or to everyone once the deadline passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from notifications.models import Notification

from sessions import services
from sessions.models import Registration, RegistrationStatus, SeatReservation, Session
from sessions.selectors import reservations_payload, seats_state
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db


def fresh(session: Session) -> Session:
    return Session.objects.get(pk=session.pk)


def reserve(manager, session, seats=2, hours=24):
    return services.reservation_reserve(
        actor=manager,
        session=session,
        seats=seats,
        deadline=timezone.now() + timedelta(hours=hours),
    )


@pytest.fixture
def approved(coordinator, space):
    """Four seats; a coordinator approves every registration."""
    return make_session(coordinator, space, capacity=4, approval="coordinator")


def test_named_by_a_manager_waits_for_the_coordinator_holding_the_seat(
    approved, manager, coordinator, learner, crowd
):
    reservation = reserve(manager, approved, seats=2)
    named = services.reservation_name(actor=manager, reservation=reservation, user=learner)
    assert named.status == RegistrationStatus.PENDING and named.reservation_id == reservation.pk
    reservation.refresh_from_db()
    # One seat left to name; both still out of the pool (one is the learner's, waiting).
    assert reservation.held == 1 and fresh(approved).reserved_seats == 2
    assert seats_state(session=fresh(approved))["seats_left"] == 2
    assert Notification.objects.filter(recipient=coordinator).exists()
    [row] = reservations_payload(session=fresh(approved))
    assert [p["id"] for p in row["named"]] == [learner.pk]
    # Everyone else fills the two free seats: the learner's seat is not theirs to take.
    for person in crowd[:2]:
        services.registration_register(actor=person, session=approved, user=person)
        services.registration_approve(
            actor=coordinator, registration=Registration.objects.get(user=person)
        )
    third = services.registration_register(actor=crowd[2], session=approved)
    services.registration_approve(actor=coordinator, registration=third)
    assert Registration.objects.get(pk=third.pk).status == RegistrationStatus.WAITLISTED
    # Approved: the reserved seat becomes theirs (no waiting list in between).
    services.registration_approve(actor=coordinator, registration=named)
    named.refresh_from_db()
    assert named.status == RegistrationStatus.CONFIRMED and named.position is None
    assert fresh(approved).reserved_seats == 1
    assert Registration.objects.get(pk=third.pk).status == RegistrationStatus.WAITLISTED
    # The same person cannot be named twice while waiting.
    with pytest.raises(services.ValidationError):
        services.reservation_name(actor=manager, reservation=reservation, user=learner)


def test_declined_before_the_deadline_the_seat_returns_to_the_reservation(
    approved, manager, coordinator, learner, learner2
):
    reservation = reserve(manager, approved, seats=1)
    named = services.reservation_name(actor=manager, reservation=reservation, user=learner)
    with pytest.raises(services.ValidationError, match="Every reserved seat is named"):
        services.reservation_name(actor=manager, reservation=reservation, user=learner2)
    services.registration_remove(actor=coordinator, registration=named)
    reservation.refresh_from_db()
    assert reservation.held == 1 and fresh(approved).reserved_seats == 1
    # The manager names someone else into it.
    other = services.reservation_name(actor=manager, reservation=reservation, user=learner2)
    assert other.status == RegistrationStatus.PENDING


def test_declined_after_the_deadline_the_seat_returns_to_everyone(
    approved, manager, coordinator, learner, crowd, clock
):
    reservation = reserve(manager, approved, seats=2)
    named = services.reservation_name(actor=manager, reservation=reservation, user=learner)
    for person in crowd[:3]:
        services.registration_approve(
            actor=coordinator,
            registration=services.registration_register(actor=person, session=approved),
        )
    assert [r.status for r in Registration.objects.filter(user__in=crowd[:3])].count(
        RegistrationStatus.WAITLISTED
    ) == 1
    clock.advance(hours=25)
    # The deadline: the seat not named goes back (the head of the list takes it); the
    # learner's stays held while they wait.
    assert services.reservations_sweep(now=clock.now) == 1
    assert fresh(approved).reserved_seats == 1
    waiting = Registration.objects.filter(status=RegistrationStatus.WAITLISTED)
    assert not waiting.exists()
    fourth = services.registration_register(actor=crowd[3], session=approved)
    services.registration_approve(actor=coordinator, registration=fourth)
    assert Registration.objects.get(pk=fourth.pk).status == RegistrationStatus.WAITLISTED
    services.registration_remove(actor=coordinator, registration=named)
    assert fresh(approved).reserved_seats == 0
    assert SeatReservation.objects.get().held == 0
    assert Registration.objects.get(pk=fourth.pk).status == RegistrationStatus.CONFIRMED


def test_the_named_person_withdrawing_gives_the_seat_back(approved, manager, learner):
    reservation = reserve(manager, approved, seats=1)
    named = services.reservation_name(actor=manager, reservation=reservation, user=learner)
    services.registration_cancel(actor=learner, registration=named)
    reservation.refresh_from_db()
    assert reservation.held == 1 and fresh(approved).reserved_seats == 1


def test_who_may_approve_names_straight_to_a_seat(coordinator, space, manager, learner, learner2):
    # A session the manager approves: the manager naming their report is the approval.
    by_manager = make_session(coordinator, space, capacity=4, approval="manager")
    reservation = reserve(manager, by_manager, seats=1)
    named = services.reservation_name(actor=manager, reservation=reservation, user=learner)
    assert named.status == RegistrationStatus.CONFIRMED
    assert fresh(by_manager).reserved_seats == 0
    # A coordinator naming for a session a coordinator approves.
    by_coordinator = make_session(coordinator, space, capacity=4, approval="coordinator")
    reservation = reserve(manager, by_coordinator, seats=1)
    named = services.reservation_name(actor=coordinator, reservation=reservation, user=learner2)
    assert named.status == RegistrationStatus.CONFIRMED


def test_a_waitlisted_report_was_approved_already(
    coordinator, space, manager, learner, crowd, approved
):
    reservation = reserve(manager, approved, seats=1)
    for person in [*crowd[:3], learner]:
        services.registration_approve(
            actor=coordinator,
            registration=services.registration_register(actor=person, session=approved),
        )
    assert Registration.objects.get(user=learner).status == RegistrationStatus.WAITLISTED
    named = services.reservation_name(actor=manager, reservation=reservation, user=learner)
    assert named.status == RegistrationStatus.CONFIRMED
    assert fresh(approved).reserved_seats == 0


def test_rest_names_into_a_pending_seat(api_client_for, approved, manager, learner):
    reservation = reserve(manager, approved, seats=1)
    response = api_client_for(manager).post(
        f"/api/v1/sessions/reservations/{reservation.pk}/name/",
        {"user": learner.pk},
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    assert response.json()["status"] == "pending"
