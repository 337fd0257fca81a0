"""Registrations at the same moment on PostgreSQL: never overbooked, positions contiguous."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import close_old_connections, connection

from hub.accounts.models import Role
from sessions.models import Registration, RegistrationStatus
from sessions.services import registration_cancel, registration_register
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
