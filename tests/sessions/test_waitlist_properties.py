"""Any sequence of register / cancel / capacity change / offer answer keeps the list sound.

Checked against a plain model of the rules after every step: seats held (confirmed plus
offered) never exceed the capacity (unless it was lowered under them, which unseats
nobody), positions 1..n contiguous, FIFO order, nobody promoted or offered twice. With a
claim window a freed seat is offered to the head of the list, who accepts, declines or
lets the offer expire.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions.models import Registration, RegistrationStatus, SessionEvent
from sessions.selectors import active_registration
from sessions.services import (
    offer_accept,
    offer_decline,
    offer_expire,
    registration_cancel,
    registration_register,
    session_set_capacity,
)
from tests.sessions.conftest import make_session

PEOPLE = 5
person = st.integers(0, PEOPLE - 1)
step = st.one_of(
    st.tuples(st.just("register"), person),
    st.tuples(st.just("cancel"), person),
    st.tuples(st.just("capacity"), st.integers(0, 4)),
    st.tuples(st.just("accept"), person),
    st.tuples(st.just("decline"), person),
    st.tuples(st.just("expire"), person),
)


@pytest.mark.django_db
@settings(
    max_examples=35,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(capacity=st.integers(0, 3), claim=st.booleans(), steps=st.lists(step, max_size=14))
def test_any_sequence_keeps_the_invariants(coordinator, space, crowd, capacity, claim, steps):
    session = make_session(coordinator, space, capacity=capacity, claim_hours=2 if claim else None)
    confirmed: list[int] = []
    offered: list[int] = []
    waiting: list[int] = []
    cap = capacity

    def fill() -> None:
        while len(confirmed) + len(offered) < cap and waiting:
            (offered if claim else confirmed).append(waiting.pop(0))

    for op, arg in steps:
        user = crowd[arg] if op != "capacity" else None
        reg = active_registration(session=session, user=user) if user else None
        if op == "register":
            if reg is not None:
                with pytest.raises(ValidationError):
                    registration_register(actor=user, session=session)
            else:
                registration_register(actor=user, session=session)
                if len(confirmed) + len(offered) < cap and not waiting:
                    confirmed.append(user.pk)
                else:
                    waiting.append(user.pk)
        elif op == "cancel":
            if reg is None:
                continue
            registration_cancel(actor=user, registration=reg)
            if user.pk in waiting:
                waiting.remove(user.pk)
            else:
                (confirmed if user.pk in confirmed else offered).remove(user.pk)
                fill()
        elif op == "capacity":
            session_set_capacity(actor=coordinator, session=session, capacity=arg)
            cap = arg
            fill()
        elif reg is None:
            continue
        elif user.pk not in offered:
            # Answering an offer one does not hold is refused and changes nothing.
            if op == "expire":
                assert offer_expire(registration_id=reg.pk) is False
            else:
                with pytest.raises(ValidationError):
                    (offer_accept if op == "accept" else offer_decline)(
                        actor=user, registration=reg
                    )
        elif op == "accept":
            offer_accept(actor=user, registration=reg)
            offered.remove(user.pk)
            confirmed.append(user.pk)
        else:
            if op == "decline":
                offer_decline(actor=user, registration=reg)
            else:
                Registration.objects.filter(pk=reg.pk).update(
                    offer_expires_at=timezone.now() - timedelta(seconds=1)
                )
                assert offer_expire(registration_id=reg.pk) is True
            offered.remove(user.pk)
            fill()

        rows = Registration.objects.filter(session=session)

        def users(status: str, rows=rows) -> set[int]:
            return set(rows.filter(status=status).values_list("user_id", flat=True))

        db_waiting = list(
            rows.filter(status=RegistrationStatus.WAITLISTED)
            .order_by("position")
            .values_list("user_id", "position")
        )
        assert users(RegistrationStatus.CONFIRMED) == set(confirmed)
        assert users(RegistrationStatus.OFFERED) == set(offered)
        assert [uid for uid, _ in db_waiting] == waiting  # FIFO
        assert [pos for _, pos in db_waiting] == list(range(1, len(waiting) + 1))
        assert (
            not rows.exclude(status=RegistrationStatus.WAITLISTED)
            .filter(position__isnull=False)
            .exists()
        )
        # The model only hands out a seat while held < capacity, so matching it means never
        # overbooked; no seat stays free while people wait.
        if db_waiting:
            assert len(confirmed) + len(offered) >= cap
        seen = Counter(
            (e.type, e.data["id"])
            for e in SessionEvent.objects.filter(
                session=session, type__in=["registration.promoted", "registration.offered"]
            )
        )
        assert all(n == 1 for n in seen.values())
