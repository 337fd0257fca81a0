"""``sessions.reservations.<session id>`` over a WebSocket: the session's managers hear
each reservation change with the whole list; the manager who reserves (not a manager of
the session) and learners may not subscribe. ``sessions.coaching.<space>``: members only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from sessions import services
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db(transaction=True)


async def test_reservations_reach_the_coordinator_live(
    communicator_for, coordinator, space, manager, learner
):
    session = await database_sync_to_async(make_session)(coordinator, space, capacity=5)
    topic = f"sessions.reservations.{session.pk}"
    for someone in (learner, manager):
        ws = await communicator_for(someone)
        refused = await ws.call("sub", topic=topic)
        assert refused["op"] == "error" and refused["code"] == "forbidden"
        await ws.close()
    ws = await communicator_for(coordinator)
    assert (await ws.call("sub", topic=topic))["op"] == "ok"
    reservation = await database_sync_to_async(services.reservation_reserve)(
        actor=manager, session=session, seats=2, deadline=timezone.now() + timedelta(days=1)
    )
    event = await ws.next_event(type="reservations.changed")
    [row] = event["data"]["reservations"]
    assert (row["held"], row["seats"], row["manager"]["id"]) == (2, 2, manager.pk)
    await database_sync_to_async(services.reservation_name)(
        actor=manager, reservation=reservation, user=learner
    )
    event = await ws.next_event(type="reservations.changed")
    assert event["data"]["reservations"][0]["named"] == [
        {"id": learner.pk, "name": learner.name, "awaiting_approval": False}
    ]
    await ws.close()


async def test_coaching_topic_is_for_members(communicator_for, space, learner, outsider):
    topic = f"sessions.coaching.{space.pk}"
    ws = await communicator_for(outsider)
    assert (await ws.call("sub", topic=topic))["code"] == "forbidden"
    await ws.close()
    ws = await communicator_for(learner)
    assert (await ws.call("sub", topic=topic))["op"] == "ok"
    assert (await ws.call("sub", topic="sessions.coaching.x"))["op"] == "error"
    await ws.close()
