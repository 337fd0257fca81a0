"""Any sequence of register / cancel / capacity change keeps the waiting list sound.

Checked against a plain model of the rules after every step: confirmed <= capacity (unless
capacity was lowered under the confirmed count, which never unseats anyone), positions
1..n contiguous, FIFO order, and nobody promoted twice.
"""

from __future__ import annotations

from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions.models import Registration, RegistrationStatus, SessionEvent
from sessions.selectors import active_registration
from sessions.services import registration_cancel, registration_register, session_set_capacity
from tests.sessions.conftest import make_session

PEOPLE = 5
step = st.one_of(
    st.tuples(st.just("register"), st.integers(0, PEOPLE - 1)),
    st.tuples(st.just("cancel"), st.integers(0, PEOPLE - 1)),
    st.tuples(st.just("capacity"), st.integers(0, 4)),
)


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(capacity=st.integers(0, 3), steps=st.lists(step, max_size=14))
def test_any_sequence_keeps_the_invariants(coordinator, space, crowd, capacity, steps):
    session = make_session(coordinator, space, capacity=capacity)
    confirmed: list[int] = []
    waiting: list[int] = []
    cap = capacity

    def fill() -> None:
        while len(confirmed) < cap and waiting:
            confirmed.append(waiting.pop(0))

    for op, arg in steps:
        if op == "register":
            user = crowd[arg]
            if user.pk in confirmed or user.pk in waiting:
                with pytest.raises(ValidationError):
                    registration_register(actor=user, session=session)
            else:
                registration_register(actor=user, session=session)
                if len(confirmed) < cap and not waiting:
                    confirmed.append(user.pk)
                else:
                    waiting.append(user.pk)
        elif op == "cancel":
            user = crowd[arg]
            reg = active_registration(session=session, user=user)
            if reg is None:
                continue
            registration_cancel(actor=user, registration=reg)
            if user.pk in confirmed:
                confirmed.remove(user.pk)
                fill()
            else:
                waiting.remove(user.pk)
        else:
            session_set_capacity(actor=coordinator, session=session, capacity=arg)
            cap = arg
            fill()

        rows = Registration.objects.filter(session=session)
        db_confirmed = set(
            rows.filter(status=RegistrationStatus.CONFIRMED).values_list("user_id", flat=True)
        )
        db_waiting = list(
            rows.filter(status=RegistrationStatus.WAITLISTED)
            .order_by("position")
            .values_list("user_id", "position")
        )
        assert db_confirmed == set(confirmed)
        assert [uid for uid, _ in db_waiting] == waiting  # FIFO
        assert [pos for _, pos in db_waiting] == list(range(1, len(waiting) + 1))
        assert not rows.filter(status=RegistrationStatus.CONFIRMED, position__isnull=False).exists()
        # The model only seats someone while confirmed < capacity, so matching it means never
        # overbooked; lowering the capacity unseats nobody. No seat stays free while people wait.
        if db_waiting:
            assert len(db_confirmed) >= cap
        promoted = Counter(
            e.data["id"]
            for e in SessionEvent.objects.filter(session=session, type="registration.promoted")
        )
        assert all(n == 1 for n in promoted.values())
