"""Scheduling, registration, the waiting list and its promotions, through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from sessions.models import Registration, RegistrationStatus, Session, SessionStatus
from sessions.selectors import seats_state
from sessions.services import (
    promote_next_waitlisted,
    registration_approve,
    registration_cancel,
    registration_move,
    registration_register,
    registration_remove,
    session_cancel,
    session_create,
    session_set_capacity,
    waitlist_reorder,
    waitlist_withdraw,
)
from tests.sessions.conftest import make_session


def positions(session):
    return list(
        Registration.objects.filter(session=session, status=RegistrationStatus.WAITLISTED)
        .order_by("position")
        .values_list("user__username", "position")
    )


def test_first_seats_are_confirmed_then_the_waiting_list_fills_in_order(training, crowd):
    regs = [registration_register(actor=u, session=training) for u in crowd[:4]]
    assert [r.status for r in regs] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [r.position for r in regs] == [None, None, 1, 2]
    assert seats_state(session=training) == {
        "capacity": 2,
        "confirmed": 2,
        "offered": 0,
        "reserved": 0,
        "seats_left": 0,
        "waitlist_length": 2,
    }


def test_cancelling_a_seat_promotes_the_head_and_renumbers(training, crowd, published, commit):
    regs = [registration_register(actor=u, session=training) for u in crowd[:4]]
    registration_cancel(actor=crowd[0], registration=regs[0])
    commit()
    regs[2].refresh_from_db()
    assert regs[2].status == "confirmed" and regs[2].promoted_at is not None
    assert positions(training) == [("crowd3", 1)]
    types = [e.type for e in published(training.topic) if e.id]
    assert types[-2:] == ["registration.cancelled", "registration.promoted"]
    seats = [e.data for e in published(training.topic) if e.type == "session.seats"]
    assert seats[-1]["seats_left"] == 0 and seats[-1]["waitlist_length"] == 1
    mine = [e.data for e in published(f"hub.user.{crowd[3].pk}") if e.type == "sessions.position"]
    assert mine[-1]["position"] == 1


def test_promotion_is_notified(training, crowd, run_tasks):
    regs = [registration_register(actor=u, session=training) for u in crowd[:3]]
    registration_cancel(actor=crowd[1], registration=regs[1])
    run_tasks()
    from hub.notify import notifications_for

    kinds = [n.data["kind"] for n in notifications_for(user=crowd[2])]
    assert "session_promoted" in kinds


def test_raising_capacity_promotes_in_fifo_order(training, crowd, coordinator):
    for u in crowd:
        registration_register(actor=u, session=training)
    session_set_capacity(actor=coordinator, session=training, capacity=4)
    confirmed = set(
        training.registrations.filter(status="confirmed").values_list("user__username", flat=True)
    )
    assert confirmed == {"crowd0", "crowd1", "crowd2", "crowd3"}
    assert positions(training) == [("crowd4", 1)]


def test_lowering_capacity_keeps_confirmed_seats(training, crowd, coordinator):
    for u in crowd[:3]:
        registration_register(actor=u, session=training)
    session_set_capacity(actor=coordinator, session=training, capacity=0)
    assert seats_state(session=training)["confirmed"] == 2
    reg = registration_register(actor=crowd[3], session=training)
    assert reg.status == "waitlisted" and reg.position == 2


def test_no_promotion_once_the_session_started(training, crowd):
    regs = [registration_register(actor=u, session=training) for u in crowd[:3]]
    Session.objects.filter(pk=training.pk).update(
        starts_at=timezone.now() - timedelta(minutes=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    training.refresh_from_db()
    assert promote_next_waitlisted(session=training) is None
    regs[2].refresh_from_db()
    assert regs[2].status == "waitlisted"


def test_waitlisted_learner_withdraws_and_the_list_closes_up(training, crowd):
    regs = [registration_register(actor=u, session=training) for u in crowd]
    waitlist_withdraw(actor=crowd[2], registration=regs[2])
    assert positions(training) == [("crowd3", 1), ("crowd4", 2)]


def test_coordinator_reorders_removes_and_moves(training, crowd, coordinator, space):
    regs = [registration_register(actor=u, session=training) for u in crowd]
    waitlist_reorder(
        actor=coordinator, session=training, registration_ids=[regs[4].pk, regs[2].pk, regs[3].pk]
    )
    assert positions(training) == [("crowd4", 1), ("crowd2", 2), ("crowd3", 3)]
    registration_remove(actor=coordinator, registration=regs[2])
    assert positions(training) == [("crowd4", 1), ("crowd3", 2)]
    other = make_session(coordinator, space, title="Other", capacity=5)
    moved = registration_move(actor=coordinator, registration=regs[0], to=other)
    assert moved.status == "confirmed" and moved.session_id == other.pk
    # crowd0's seat went to the head of the (reordered) list.
    assert positions(training) == [("crowd3", 1)]


def test_reorder_must_list_the_whole_waiting_list(training, crowd, coordinator):
    regs = [registration_register(actor=u, session=training) for u in crowd[:4]]
    with pytest.raises(ValidationError):
        waitlist_reorder(actor=coordinator, session=training, registration_ids=[regs[3].pk])
    assert positions(training) == [("crowd2", 1), ("crowd3", 2)]


def test_learner_cannot_reorder_or_remove(training, crowd, learner):
    regs = [registration_register(actor=u, session=training) for u in crowd[:4]]
    with pytest.raises(PermissionDenied):
        waitlist_reorder(actor=learner, session=training, registration_ids=[regs[3].pk, regs[2].pk])
    with pytest.raises(PermissionDenied):
        registration_remove(actor=learner, registration=regs[0])


def test_manager_registers_a_report_but_not_a_stranger(training, manager, learner, crowd):
    reg = registration_register(actor=manager, session=training, user=learner)
    assert reg.status == "confirmed" and reg.registered_by == manager
    with pytest.raises(PermissionDenied):
        registration_register(actor=manager, session=training, user=crowd[0])


def test_manager_approval_makes_a_pending_request(coordinator, space, learner, manager):
    session = make_session(coordinator, space, approval="manager")
    reg = registration_register(actor=learner, session=session)
    assert reg.status == "pending" and reg.position is None
    assert seats_state(session=session)["confirmed"] == 0
    approved = registration_approve(actor=manager, registration=reg)
    assert approved.status == "confirmed"
    # The manager registering a report needs no second approval.
    session2 = make_session(coordinator, space, approval="manager")
    assert (
        registration_register(actor=manager, session=session2, user=learner).status == "confirmed"
    )


def test_coordinator_approval(coordinator, space, learner, learner2):
    session = make_session(coordinator, space, approval="coordinator")
    reg = registration_register(actor=learner, session=session)
    with pytest.raises(PermissionDenied):
        registration_approve(actor=learner2, registration=reg)
    assert registration_approve(actor=coordinator, registration=reg).status == "confirmed"


def test_session_cancel_cancels_every_registration(training, crowd, coordinator):
    for u in crowd[:3]:
        registration_register(actor=u, session=training)
    session_cancel(actor=coordinator, session=training)
    training.refresh_from_db()
    assert training.status == SessionStatus.CANCELLED
    assert not training.registrations.exclude(status="cancelled").exists()


def test_register_again_after_cancelling(training, learner):
    reg = registration_register(actor=learner, session=training)
    registration_cancel(actor=learner, registration=reg)
    again = registration_register(actor=learner, session=training)
    assert again.status == "confirmed" and again.pk != reg.pk


def test_only_coordinators_schedule(learner, space, trainer):
    start = timezone.now() + timedelta(days=1)
    with pytest.raises(PermissionDenied):
        session_create(
            actor=learner,
            space=space,
            kind="virtual",
            title="x",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            capacity=3,
        )
    assert not Session.objects.exists()


# -- bad input: refused, nothing changed ------------------------------------------------------
def test_registering_twice_is_refused(training, learner):
    registration_register(actor=learner, session=training)
    with pytest.raises(ValidationError):
        registration_register(actor=learner, session=training)
    assert training.registrations.count() == 1


def test_registering_after_registration_closes(coordinator, space, learner):
    session = make_session(
        coordinator, space, registration_closes_at=timezone.now() - timedelta(minutes=1)
    )
    with pytest.raises(ValidationError):
        registration_register(actor=learner, session=session)
    assert not session.registrations.exists()


def test_registering_before_registration_opens(coordinator, space, learner):
    session = make_session(
        coordinator, space, registration_opens_at=timezone.now() + timedelta(days=1)
    )
    with pytest.raises(ValidationError):
        registration_register(actor=learner, session=session)


def test_registering_to_a_cancelled_session(training, coordinator, learner):
    session_cancel(actor=coordinator, session=training)
    with pytest.raises(ValidationError):
        registration_register(actor=learner, session=training)
    assert not training.registrations.exists()


def test_outsider_cannot_register(training, outsider):
    with pytest.raises(PermissionDenied):
        registration_register(actor=outsider, session=training)


def test_cancelling_someone_elses_seat(training, learner, learner2):
    reg = registration_register(actor=learner, session=training)
    with pytest.raises(PermissionDenied):
        registration_cancel(actor=learner2, registration=reg)
    reg.refresh_from_db()
    assert reg.status == "confirmed"


def test_cancelling_after_the_deadline(coordinator, space, learner):
    session = make_session(
        coordinator, space, cancellation_deadline=timezone.now() - timedelta(minutes=1)
    )
    reg = registration_register(actor=learner, session=session)
    with pytest.raises(ValidationError):
        registration_cancel(actor=learner, registration=reg)
    reg.refresh_from_db()
    assert reg.status == "confirmed"


@pytest.mark.parametrize(
    "change",
    [{"capacity": -1}, {"ends_at_offset": -1}, {"ends_at_offset": 0}, {"time_zone": "Mars/Base"}],
)
def test_bad_session_fields_are_refused(coordinator, space, change):
    start = timezone.now() + timedelta(days=2)
    fields = {"capacity": 5, "time_zone": "Europe/Paris"}
    fields.update({k: v for k, v in change.items() if k != "ends_at_offset"})
    end = start + timedelta(hours=change.get("ends_at_offset", 2))
    with pytest.raises(ValidationError):
        session_create(
            actor=coordinator,
            space=space,
            kind="virtual",
            title="x",
            starts_at=start,
            ends_at=end,
            **fields,
        )
    assert not Session.objects.exists()


def test_negative_capacity_update_is_refused(training, coordinator):
    with pytest.raises(ValidationError):
        session_set_capacity(actor=coordinator, session=training, capacity=-3)
    training.refresh_from_db()
    assert training.capacity == 2


def test_moving_locks_both_sessions_lowest_id_first(coordinator, space, crowd, monkeypatch):
    """Two coordinators moving people in opposite directions at once must take the two row
    locks in the same order (else each holds one and waits for the other: a deadlock)."""
    from sessions import services

    low = make_session(coordinator, space, title="Low", capacity=5)
    high = make_session(coordinator, space, title="High", capacity=5)
    assert low.pk < high.pk
    up = registration_register(actor=crowd[0], session=low)
    down = registration_register(actor=crowd[1], session=high)
    locked: list[int] = []
    real = services._locked

    def recording(session):
        locked.append(session.pk)
        return real(session)

    monkeypatch.setattr(services, "_locked", recording)
    registration_move(actor=coordinator, registration=up, to=high)
    assert locked[:2] == [low.pk, high.pk]
    locked.clear()
    registration_move(actor=coordinator, registration=down, to=low)
    assert locked[:2] == [low.pk, high.pk]
    assert Registration.objects.get(user=crowd[0], session=high).status == "confirmed"
    assert Registration.objects.get(user=crowd[1], session=low).status == "confirmed"
