"""Registrations, cancellations, offers and capacity changes at the same moment on PostgreSQL:
never overbooked, nobody promoted or offered twice, positions contiguous."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection
from django.utils import timezone

from hub.accounts.models import Role
from sessions.models import Registration, RegistrationStatus, SessionEvent
from sessions.services import (
    offer_accept,
    offer_expire,
    registration_cancel,
    registration_register,
    session_set_capacity,
)
from tests.factories import UserFactory
from tests.sessions.conftest import make_session

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.SERVICES_MODE,
        reason="row locks under concurrency need PostgreSQL (services mode)",
    ),
]


def run_all(calls) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def worker(fn) -> None:
        try:
            barrier.wait()
            fn()
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(fn,)) for fn in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_concurrent_registrations_fill_exactly_the_seats(coordinator, space):
    session = make_session(coordinator, space, capacity=5)
    people = [
        UserFactory(username=f"rush{i}", roles=[Role.LEARNER], spaces=[space]) for i in range(30)
    ]
    errors = run_all([lambda u=u: registration_register(actor=u, session=session) for u in people])
    assert errors == []
    rows = Registration.objects.filter(session=session)
    assert rows.filter(status=RegistrationStatus.CONFIRMED).count() == 5
    positions = sorted(
        rows.filter(status=RegistrationStatus.WAITLISTED).values_list("position", flat=True)
    )
    assert positions == list(range(1, 26))


def test_concurrent_cancellations_promote_each_waiter_once(coordinator, space):
    session = make_session(coordinator, space, capacity=5)
    people = [
        UserFactory(username=f"rush{i}", roles=[Role.LEARNER], spaces=[space]) for i in range(12)
    ]
    regs = [registration_register(actor=u, session=session) for u in people]
    seated = regs[:5]
    errors = run_all(
        [lambda r=r: registration_cancel(actor=r.user, registration=r) for r in seated]
    )
    assert errors == []
    rows = Registration.objects.filter(session=session)
    confirmed = list(
        rows.filter(status=RegistrationStatus.CONFIRMED).values_list("user__username", flat=True)
    )
    assert sorted(confirmed) == sorted(f"rush{i}" for i in range(5, 10))
    assert list(
        rows.filter(status=RegistrationStatus.WAITLISTED)
        .order_by("position")
        .values_list("user__username", "position")
    ) == [("rush10", 1), ("rush11", 2)]


def test_concurrent_cancellations_offer_each_waiter_once(coordinator, space):
    session = make_session(coordinator, space, capacity=4, claim_hours=2)
    people = [
        UserFactory(username=f"rush{i}", roles=[Role.LEARNER], spaces=[space]) for i in range(10)
    ]
    regs = [registration_register(actor=u, session=session) for u in people]
    errors = run_all(
        [lambda r=r: registration_cancel(actor=r.user, registration=r) for r in regs[:4]]
    )
    assert errors == []
    rows = Registration.objects.filter(session=session)
    offered = sorted(
        rows.filter(status=RegistrationStatus.OFFERED).values_list("user__username", flat=True)
    )
    assert offered == [f"rush{i}" for i in range(4, 8)]
    assert list(
        rows.filter(status=RegistrationStatus.WAITLISTED)
        .order_by("position")
        .values_list("user__username", "position")
    ) == [("rush8", 1), ("rush9", 2)]
    assert SessionEvent.objects.filter(session=session, type="registration.offered").count() == 4


def test_accept_racing_expiry_and_registrations_never_overbook(coordinator, space):
    """An offer accepted as it expires, newcomers and a capacity change at the same moment."""
    session = make_session(coordinator, space, capacity=2, claim_hours=2)
    people = [
        UserFactory(username=f"rush{i}", roles=[Role.LEARNER], spaces=[space]) for i in range(16)
    ]
    regs = [registration_register(actor=u, session=session) for u in people[:4]]
    registration_cancel(actor=people[0], registration=regs[0])
    offer = Registration.objects.get(session=session, status=RegistrationStatus.OFFERED)
    Registration.objects.filter(pk=offer.pk).update(
        offer_expires_at=timezone.now() + timedelta(milliseconds=300)
    )

    def accept() -> None:
        # Expired first (ValidationError) is the other acceptable outcome.
        with contextlib.suppress(ValidationError):
            offer_accept(actor=offer.user, registration=offer)

    def expire() -> None:
        time.sleep(0.3)
        offer_expire(registration_id=offer.pk)

    calls = [accept, expire]
    calls += [lambda u=u: registration_register(actor=u, session=session) for u in people[4:]]
    calls.append(lambda: session_set_capacity(actor=coordinator, session=session, capacity=3))
    errors = run_all(calls)
    assert errors == []
    rows = Registration.objects.filter(session=session)
    held = rows.filter(status__in=[RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED])
    assert held.count() == 3
    offer.refresh_from_db()
    assert offer.status in {RegistrationStatus.CONFIRMED, RegistrationStatus.CANCELLED}
    positions = sorted(
        rows.filter(status=RegistrationStatus.WAITLISTED).values_list("position", flat=True)
    )
    assert positions == list(range(1, len(positions) + 1))
    assert rows.exclude(status=RegistrationStatus.CANCELLED).count() == 15 - (
        offer.status == RegistrationStatus.CANCELLED
    )


def test_opposite_moves_at_the_same_moment_do_not_deadlock(coordinator, space, monkeypatch):
    """Coordinator A moves someone from session 1 to 2 while B moves someone from 2 to 1.

    Each move holds its first row lock while it registers; the pause makes both reach their
    second lock together, which deadlocked (PostgreSQL aborts one) when each locked the
    target first."""
    from sessions import services

    one = make_session(coordinator, space, title="One", capacity=5)
    two = make_session(coordinator, space, title="Two", capacity=5)
    people = [
        UserFactory(username=f"mover{i}", roles=[Role.LEARNER], spaces=[space]) for i in range(2)
    ]
    first = registration_register(actor=people[0], session=one)
    second = registration_register(actor=people[1], session=two)
    real_register = services.registration_register

    def slow_register(**kwargs):
        result = real_register(**kwargs)
        time.sleep(0.5)  # still inside the move's transaction, holding its locks
        return result

    monkeypatch.setattr(services, "registration_register", slow_register)
    errors = run_all(
        [
            lambda: services.registration_move(actor=coordinator, registration=first, to=two),
            lambda: services.registration_move(actor=coordinator, registration=second, to=one),
        ]
    )
    assert errors == []
    live = Registration.objects.exclude(status=RegistrationStatus.CANCELLED)
    assert sorted(live.values_list("user__username", "session__title")) == [
        ("mover0", "Two"),
        ("mover1", "One"),
    ]


def _wait_until(condition, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.01)


def _blocked_on_a_lock(pid: int | None) -> bool:
    """Is the backend ``pid`` waiting for a lock another transaction holds?"""
    if pid is None:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [pid])
        return bool(cursor.fetchone()[0])


def test_cancelling_while_the_notice_job_runs_does_not_deadlock(coordinator, space, monkeypatch):
    """Learners cancel their seat while the job sends their 'Registered' notice.

    The notice job took the learner's notification topic (``hub.user.<id>``) before the
    registration row (the NoticeSent row's foreign key is checked at commit), the
    cancellation the other way round: PostgreSQL aborted one of them (HTTP 500 on the
    cancel, or a notice never sent). Each pair is brought to the window that deadlocked: the
    job holding the learner's topic while the cancellation locks the registration."""
    from notifications.models import Notification

    from hub import realtime
    from sessions import services
    from sessions.models import NoticeKind, NoticeSent

    people = [
        UserFactory(username=f"quitter{i}", roles=[Role.LEARNER], spaces=[space]) for i in range(4)
    ]
    # One session each: cancellations of one session queue on its row and would hide the race.
    regs = [
        registration_register(actor=u, session=make_session(coordinator, space)) for u in people
    ]
    assert {r.status for r in regs} == {RegistrationStatus.CONFIRMED}

    class Pair:
        def __init__(self) -> None:
            self.notice_holds_topic = threading.Event()
            self.cancel_holds_row = threading.Event()
            self.cancel_pid: int | None = None

    pairs = [Pair() for _ in regs]
    roles: dict[int, tuple[str, Pair]] = {}  # thread ident -> its role in its pair

    real_hold, real_drop = realtime.hold_topic_order, services._drop

    def hold(*topics: str) -> None:
        real_hold(*topics)
        role, pair = roles.get(threading.get_ident(), ("", None))
        if role == "notice" and any(t.startswith("hub.user.") for t in topics):
            pair.notice_holds_topic.set()
            # Let the cancellation run until it holds the registration, or waits for it.
            _wait_until(
                lambda: pair.cancel_holds_row.is_set() or _blocked_on_a_lock(pair.cancel_pid),
                "the cancellation holds or waits for the registration",
            )

    def drop(session, registration, **kwargs):
        was = real_drop(session, registration, **kwargs)
        role, pair = roles.get(threading.get_ident(), ("", None))
        if role == "cancel":
            pair.cancel_holds_row.set()
        return was

    monkeypatch.setattr(realtime, "hold_topic_order", hold)
    monkeypatch.setattr(services, "_drop", drop)

    def notice(registration, pair):
        def run() -> None:
            roles[threading.get_ident()] = ("notice", pair)
            assert services.notice_send(registration_id=registration.pk, kind=NoticeKind.CONFIRMED)

        return run

    def cancel(registration, pair):
        def run() -> None:
            roles[threading.get_ident()] = ("cancel", pair)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pair.cancel_pid = cursor.fetchone()[0]
            _wait_until(pair.notice_holds_topic.is_set, "the job holds the learner's topic")
            registration_cancel(actor=registration.user, registration=registration)

        return run

    calls = [notice(r, p) for r, p in zip(regs, pairs, strict=True)]
    calls += [cancel(r, p) for r, p in zip(regs, pairs, strict=True)]
    errors = run_all(calls)
    assert errors == []
    for registration in regs:
        registration.refresh_from_db()
        assert registration.status == RegistrationStatus.CANCELLED
        assert NoticeSent.objects.filter(registration=registration).count() == 1
        # A second run of the job sends nothing more.
        assert not services.notice_send(registration_id=registration.pk, kind=NoticeKind.CONFIRMED)
        verbs = sorted(
            Notification.objects.filter(recipient=registration.user).values_list("verb", flat=True)
        )
        assert verbs == ["Registered: First aid", "Registration cancelled: First aid"]


def test_a_manager_cancelling_while_the_job_notifies_their_report_does_not_deadlock(
    coordinator, space, learner, manager, monkeypatch
):
    """A manager cancels his own seat, which goes to his waiting report, while the job sends
    the report's 'waiting list' notice (to the report and to him, the manager).

    The cancellation told the manager (his topic) before it promoted the report (the report's
    registration row), and the job holds that row while it takes the manager's topic:
    PostgreSQL aborted one of them. The cancellation now locks every registration it
    changes before anyone's topic."""
    from sessions import services
    from sessions.models import NoticeKind, NoticeSent

    session = make_session(coordinator, space, capacity=1)
    seat = registration_register(actor=manager, session=session)
    waiting = registration_register(actor=learner, session=session)
    assert (seat.status, waiting.status) == ("confirmed", "waitlisted")

    cancel_told = threading.Event()
    job_pid: list[int] = []
    real_notify = services.notify

    def notify(**kwargs):
        result = real_notify(**kwargs)
        if threading.current_thread().name == "cancel":
            cancel_told.set()
            # Hold the manager's topic until the job holds or waits for what it needs.
            _wait_until(lambda: job_pid and _blocked_on_a_lock(job_pid[0]), "the job waits")
        return result

    monkeypatch.setattr(services, "notify", notify)

    def cancel() -> None:
        threading.current_thread().name = "cancel"
        registration_cancel(actor=manager, registration=seat)

    def job() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            job_pid.append(cursor.fetchone()[0])
        _wait_until(cancel_told.is_set, "the cancellation told the manager")
        # Run when the report is already promoted: the 'waiting list' notice is no longer
        # true and is not sent.
        assert not services.notice_send(registration_id=waiting.pk, kind=NoticeKind.WAITLISTED)

    errors = run_all([cancel, job])
    assert errors == []
    waiting.refresh_from_db()
    assert waiting.status == RegistrationStatus.CONFIRMED
    assert not NoticeSent.objects.filter(registration=waiting).exists()
    assert services.notice_send(registration_id=waiting.pk, kind=NoticeKind.PROMOTED)
