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


async def test_register_cancel_and_offers_by_act(
    communicator_for, coordinator, space, learner, learner2
):
    session = await database_sync_to_async(make_session)(
        coordinator, space, capacity=1, claim_hours=3
    )
    ws = await communicator_for(learner)
    reply = await ws.call("act", topic=session.topic, action="register", data={})
    assert reply["op"] == "ok" and reply["data"]["status"] == "confirmed"
    # Twice: refused, nothing changed.
    reply = await ws.call("act", topic=session.topic, action="register", data={})
    assert reply["op"] == "error" and reply["code"] == "invalid"
    ws2 = await communicator_for(learner2)
    reply = await ws2.call("act", topic=session.topic, action="register", data={})
    assert reply["data"] == {
        "status": "waitlisted",
        "position": 1,
        "registration": reply["data"]["registration"],
        "offer_expires_at": None,
    }
    reply = await ws2.call("act", topic=session.topic, action="offer.accept", data={})
    assert reply["op"] == "error" and reply["code"] == "invalid"  # nothing offered yet
    mine = await ws.call("act", topic=session.topic, action="cancel", data={})
    assert mine["data"]["status"] == "cancelled"
    # The freed seat is offered to learner2, who takes it.
    reply = await ws2.call("act", topic=session.topic, action="offer.accept", data={})
    assert reply["op"] == "ok" and reply["data"]["status"] == "confirmed"
    # Someone else's registration; a malformed id.
    reply = await ws.call(
        "act",
        topic=session.topic,
        action="cancel",
        data={"registration": reply["data"]["registration"]},
    )
    assert reply["op"] == "error" and reply["code"] == "forbidden"
    reply = await ws.call("act", topic=session.topic, action="cancel", data={"registration": "x"})
    assert reply["op"] == "error" and reply["code"] == "invalid"


async def test_outsider_cannot_act(communicator_for, coordinator, space, outsider):
    session = await database_sync_to_async(make_session)(coordinator, space)
    ws = await communicator_for(outsider)
    reply = await ws.call("act", topic=session.topic, action="register", data={})
    assert reply["op"] == "error" and reply["code"] in {"forbidden", "not_found"}


async def test_attendance_topic_is_for_trainers_and_marks_by_act(
    communicator_for, coordinator, space, trainer, learner
):
    from datetime import timedelta

    from django.utils import timezone

    soon = timezone.now() + timedelta(minutes=5)
    session = await database_sync_to_async(make_session)(
        coordinator, space, trainers=[trainer], starts_at=soon
    )
    reg = await database_sync_to_async(registration_register)(actor=learner, session=session)
    topic = f"{session.topic}.attendance"
    learner_ws = await communicator_for(learner)
    assert (await learner_ws.call("sub", topic=topic))["code"] == "forbidden"
    reply = await learner_ws.call(
        "act", topic=topic, action="mark", data={"registration": reg.pk, "attendance": "present"}
    )
    assert reply["op"] == "error" and reply["code"] == "forbidden"
    ws = await communicator_for(trainer)
    assert (await ws.call("sub", topic=topic))["op"] == "ok"
    reply = await ws.call(
        "act", topic=topic, action="mark", data={"registration": reg.pk, "attendance": "asleep"}
    )
    assert reply["op"] == "error" and reply["code"] == "invalid"
    reply = await ws.call(
        "act", topic=topic, action="mark", data={"registration": reg.pk, "attendance": "present"}
    )
    assert reply["op"] == "ok" and reply["data"]["attendance"] == "present"
    event = await ws.next_event(type="attendance.marked")
    assert event["data"]["registration"] == reg.pk
