"""``sessions.conflicts.<space id>``: the coordinators of the space subscribe and hear of
every booking change (their conflicts page refetches); nobody else subscribes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async

from sessions import services
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_conflict_accepted_reaches_the_coordinators_live(
    communicator_for, coordinator, space, learner
):
    def prepare():
        room = services.room_create(actor=coordinator, space=space, name="Room 2", capacity=20)
        first = make_session(coordinator, space)
        second = make_session(
            coordinator,
            space,
            starts_at=first.starts_at + timedelta(hours=1),
            ends_at=first.ends_at + timedelta(hours=1),
        )
        services.occurrence_book(actor=coordinator, session=first, room=room)
        return room, second

    room, second = await database_sync_to_async(prepare)()
    topic = f"sessions.conflicts.{space.pk}"
    outsider_ws = await communicator_for(learner)
    refused = await outsider_ws.call("sub", topic=topic)
    assert refused["op"] == "error" and refused["code"] == "forbidden"
    await outsider_ws.close()
    ws = await communicator_for(coordinator)
    assert (await ws.call("sub", topic=topic))["op"] == "ok"
    await database_sync_to_async(services.occurrence_book)(
        actor=coordinator, session=second, room=room, override_reason="Shared room today"
    )
    event = await ws.next_event(type="conflicts.changed")
    assert event["data"] == {"space": space.pk}
    await ws.close()
