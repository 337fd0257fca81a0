"""At the same moment on PostgreSQL: two managers reserving the last seats, two learners
booking one coaching slot. One wins, the other gets a clear conflict, and the seat count
stays exact (the session's row lock queues them; the second sees the seats taken)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from hub.accounts.models import Role
from sessions import services
from sessions.models import Registration, SeatReservation, Session
from sessions.selectors import seats_state
from tests.factories import TeamFactory, UserFactory
from tests.sessions.conftest import make_session
from tests.sessions.test_concurrency import run_all

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.SERVICES_MODE, reason="concurrent writers need PostgreSQL (services mode)"
    ),
]


def test_two_managers_reserve_the_last_seats_at_once(coordinator, space, manager, crowd):
    session = make_session(coordinator, space, capacity=4)
    services.registration_register(actor=crowd[0], session=session)  # 3 seats left
    other = UserFactory(username="manager2", roles=[Role.MANAGER], spaces=[space])
    TeamFactory(name="Team B", space=space, manager=other, members=[crowd[1]])
    deadline = timezone.now() + timedelta(days=1)
    done: list[int] = []

    def reserve(actor):
        def call():
            reservation = services.reservation_reserve(
                actor=actor, session=session, seats=2, deadline=deadline
            )
            done.append(reservation.pk)

        return call

    errors = run_all([reserve(manager), reserve(other)])
    assert len(done) == 1, (done, errors)
    [error] = errors
    assert isinstance(error, services.SeatConflict)
    assert "Only 1 seats are free" in str(error)
    session = Session.objects.get(pk=session.pk)
    assert session.reserved_seats == 2 == SeatReservation.objects.get().held
    assert seats_state(session=session)["seats_left"] == 1


def test_two_learners_book_one_slot_at_once(trainer, space, learner, learner2):
    start = timezone.now() + timedelta(days=2)
    [slot] = services.coaching_slots_publish(
        actor=trainer,
        space=space,
        starts_at=start,
        ends_at=start + timedelta(minutes=30),
        slot_minutes=30,
    )
    won: list[int] = []

    def book(actor):
        def call():
            won.append(services.coaching_book(actor=actor, session=slot).user_id)

        return call

    errors = run_all([book(learner), book(learner2)])
    assert len(won) == 1, (won, errors)
    [error] = errors
    assert isinstance(error, services.SeatConflict)
    assert Registration.objects.filter(session=slot).count() == 1
