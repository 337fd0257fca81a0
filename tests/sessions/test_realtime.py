"""``sessions.session.<id>``: members of the space subscribe; the registration log replays."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from sessions.services import registration_cancel, registration_register
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db(transaction=True)


async def test_member_subscribes_and_gets_the_backlog(
    communicator_for, coordinator, space, learner
):
    session = await database_sync_to_async(make_session)(coordinator, space)
    await database_sync_to_async(registration_register)(actor=learner, session=session)
    ws = await communicator_for(learner)
    reply = await ws.call("sub", topic=session.topic, since=0)
    assert reply["op"] == "ok"
    event = await ws.next_event(type="registration.created")
    assert event["data"]["user"] == learner.pk and event["data"]["status"] == "confirmed"
    await ws.close()


async def test_outsider_cannot_subscribe(communicator_for, coordinator, space, outsider):
    session = await database_sync_to_async(make_session)(coordinator, space)
    ws = await communicator_for(outsider)
    reply = await ws.call("sub", topic=session.topic)
    assert reply["op"] == "error" and reply["code"] == "forbidden"
    await ws.close()


async def test_live_seats_reach_subscribers(
    communicator_for, coordinator, space, learner, learner2
):
    session = await database_sync_to_async(make_session)(coordinator, space)
    ws = await communicator_for(learner)
    await ws.call("sub", topic=session.topic)
    await database_sync_to_async(registration_register)(actor=learner2, session=session)
    event = await ws.next_event(type="session.seats")
    assert event["data"]["seats_left"] == 1 and event["data"]["waitlist_length"] == 0
    await ws.close()


async def test_waitlisted_learner_sees_their_position_change_live(
    communicator_for, coordinator, space, learner, learner2
):
    session = await database_sync_to_async(make_session)(coordinator, space, capacity=0)
    first = await database_sync_to_async(registration_register)(actor=learner, session=session)
    second = await database_sync_to_async(registration_register)(actor=learner2, session=session)
    assert second.position == 2
    ws = await communicator_for(learner2)
    assert (await ws.call("sub", topic=f"hub.user.{learner2.pk}"))["op"] == "ok"
    await database_sync_to_async(registration_cancel)(actor=learner, registration=first)
    event = await ws.next_event(type="sessions.position")
    assert event["data"] == {
        "session": session.pk,
        "registration": second.pk,
        "status": "waitlisted",
        "position": 1,
        "offer_expires_at": None,
    }
    await ws.close()
