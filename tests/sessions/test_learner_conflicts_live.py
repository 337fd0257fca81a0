"""Learners booked twice, live: a seat confirmed (registration, promotion, named seat,
approval) or lost that changes who is booked twice publishes ``conflicts.changed`` on
``sessions.conflicts.<space>``, so the coordinator's card and conflicts page refetch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from sessions import services
from sessions.models import Registration
from sessions.selectors import learners_booked_twice
from tests.sessions.conftest import make_session


def overlapping(coordinator, space, **fields):
    first = make_session(coordinator, space, capacity=1, title="Morning")
    second = make_session(
        coordinator,
        space,
        title="Late morning",
        starts_at=first.starts_at + timedelta(hours=1),
        ends_at=first.ends_at + timedelta(hours=1),
        **fields,
    )
    return first, second


@pytest.mark.django_db(transaction=True)
async def test_a_learner_booked_twice_reaches_the_coordinators_live(
    communicator_for, coordinator, space, learner, learner2
):
    def prepare():
        first, second = overlapping(coordinator, space, capacity=1)
        apart = make_session(
            coordinator, space, title="Next month", starts_at=timezone.now() + timedelta(days=30)
        )
        services.registration_register(actor=learner, session=first)
        return first, second, apart

    _first, second, apart = await database_sync_to_async(prepare)()
    ws = await communicator_for(coordinator)
    assert (await ws.call("sub", topic=f"sessions.conflicts.{space.pk}"))["op"] == "ok"
    # A seat that overlaps nothing: nothing to refetch.
    await database_sync_to_async(services.registration_register)(actor=learner, session=apart)
    await ws.assert_silent()
    # Booked twice: the page hears of it.
    second_seat = await database_sync_to_async(services.registration_register)(
        actor=learner, session=second
    )
    event = await ws.next_event(type="conflicts.changed")
    assert event["data"] == {"space": space.pk}
    found = await database_sync_to_async(learners_booked_twice)(
        space_ids=[space.pk], now=timezone.now()
    )
    assert [c["user"] for c in found] == [learner.name]
    # Cancelled: booked once again, the page hears of that too.
    await database_sync_to_async(services.registration_cancel)(
        actor=learner, registration=second_seat
    )
    await ws.next_event(type="conflicts.changed")
    await ws.close()


pytestmark_db = pytest.mark.django_db


@pytestmark_db
def test_every_way_to_a_seat_publishes(
    coordinator, space, manager, learner, learner2, crowd, published
):
    topic = f"sessions.conflicts.{space.pk}"
    first, second = overlapping(coordinator, space, capacity=1)
    services.registration_register(actor=learner, session=first)
    services.registration_register(actor=learner2, session=first)  # waitlisted
    assert published(topic) == []
    # Promotion from the waiting list: learner2 already holds a seat at `second`.
    services.registration_register(actor=learner2, session=second)
    count = len(published(topic))
    seat = Registration.objects.get(session=first, user=learner)
    services.registration_cancel(actor=learner, registration=seat)
    # learner lost nothing overlapping; learner2 promoted into a seat that overlaps.
    assert len(published(topic)) > count
    # A named seat and an approval.
    by_approval = make_session(
        coordinator,
        space,
        approval="coordinator",
        capacity=4,
        starts_at=first.starts_at,
        ends_at=first.ends_at,
    )
    reservation = services.reservation_reserve(
        actor=manager,
        session=by_approval,
        seats=1,
        deadline=timezone.now() + timedelta(days=1),
    )
    count = len(published(topic))
    named = services.reservation_name(actor=manager, reservation=reservation, user=learner2)
    assert len(published(topic)) == count  # awaiting approval: not booked yet
    services.registration_approve(actor=coordinator, registration=named)
    assert len(published(topic)) == count + 1
