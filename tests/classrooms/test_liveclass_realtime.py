"""The live class room over the gateway (WebsocketCommunicator): who may subscribe, hands,
polls, the whiteboard's backlog for a late joiner, removal, breakout rooms, presence and
attendance, and bad frames."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from classrooms import services
from classrooms.models import AttendanceInterval, LiveClass
from tests.factories import build_live_class

pytestmark = pytest.mark.django_db(transaction=True)

STROKE = {"points": [[0.1, 0.1], [0.2, 0.3]], "color": "#123456", "width": 2}


@database_sync_to_async
def setup(trainer, space, learners, **kwargs) -> LiveClass:
    return build_live_class(trainer=trainer, space=space, learners=learners, **kwargs).live_class


join = database_sync_to_async(services.liveclass_join)


async def in_room(communicator_for, user, live_class):
    """A socket of ``user``, joined and subscribed to the room."""
    await join(user=user, live_class=live_class)
    ws = await communicator_for(user)
    reply = await ws.call("sub", topic=live_class.topic)
    assert reply["op"] == "ok", reply
    return ws


async def test_who_may_subscribe_and_who_may_come_in(
    communicator_for, trainer, space, learner, learner2, outsider
):
    room = await setup(trainer, space, [learner, learner2], capacity=2)
    ws = await communicator_for(learner2)
    # Enrolled but not joined yet: the join (REST) checks lock and capacity first.
    assert (await ws.call("sub", topic=room.topic))["code"] == "forbidden"
    for topic in ("classrooms.liveclass.999999", "classrooms.liveclass.abc"):
        assert (await ws.call("sub", topic=topic))["code"] == "forbidden"
    ws = await communicator_for(outsider)
    assert (await ws.call("sub", topic=room.topic))["code"] == "forbidden"
    ws = await in_room(communicator_for, learner, room)
    reply = await ws.call("sub", topic=room.topic)
    assert {p["id"] for p in reply["data"]["present"]} == {learner.pk}
    # Trainer and learner: the room (capacity 2) is full for learner2; the trainer locks it.
    await join(user=trainer, live_class=room)
    with pytest.raises(services.RoomFull):
        await join(user=learner2, live_class=room)
    teacher = await communicator_for(trainer)
    await teacher.call("sub", topic=room.topic)
    await teacher.call("act", topic=room.topic, action="control", data={"action": "lock"})
    changed = await ws.next_event(type="class.changed")
    assert changed["data"]["locked"] is True


async def test_hands_reach_the_trainer_in_order_and_removal(
    communicator_for, trainer, space, learner, learner2
):
    room = await setup(trainer, space, [learner, learner2])
    teacher = await in_room(communicator_for, trainer, room)
    first = await in_room(communicator_for, learner, room)
    second = await in_room(communicator_for, learner2, room)
    assert (await second.call("act", topic=room.topic, action="hand.raise", data={}))["op"] == "ok"
    assert (await first.call("act", topic=room.topic, action="hand.raise", data={}))["op"] == "ok"
    raised = await teacher.next_event(type="hand.raised")
    assert raised["data"]["user"] == learner2.pk and "id" not in raised
    await teacher.next_event(type="hands.changed")
    queue = (await teacher.next_event(type="hands.changed"))["data"]["hands"]
    assert [h["user"] for h in queue] == [learner2.pk, learner.pk]
    # A learner may lower only their own; the trainer any, or all.
    denied = await first.call(
        "act", topic=room.topic, action="hand.lower", data={"user": learner2.pk}
    )
    assert denied["code"] == "forbidden"
    reply = await teacher.call(
        "act", topic=room.topic, action="hand.lower", data={"everyone": True}
    )
    assert reply["data"]["hands"] == []
    # Removed: the subscription ends at once and the learner may not come back.
    reply = await teacher.call(
        "act", topic=room.topic, action="control", data={"action": "remove", "user": learner.pk}
    )
    assert reply["op"] == "ok"
    await first.next_event(type="unsubscribed", topic=room.topic)
    assert (await first.call("sub", topic=room.topic))["code"] == "forbidden"
    with pytest.raises(Exception, match="removed"):
        await join(user=learner, live_class=room)


async def test_poll_answered_live_and_closed(communicator_for, trainer, space, learner, learner2):
    room = await setup(trainer, space, [learner, learner2])
    teacher = await in_room(communicator_for, trainer, room)
    student = await in_room(communicator_for, learner, room)
    ask = await teacher.call(
        "act",
        topic=room.topic,
        action="poll.create",
        data={"question": "Which tense?", "choices": ["past", "future"], "anonymous": True},
    )
    poll_id = ask["data"]["id"]
    opened = await student.next_event(type="poll.opened")
    assert opened["data"]["choices"] == ["past", "future"] and opened["id"] > 0
    vote = await student.call(
        "act", topic=room.topic, action="poll.vote", data={"poll": poll_id, "choice": 1}
    )
    assert vote["data"]["my_vote"] == 1
    results = await teacher.next_event(type="poll.updated")
    assert results["data"]["results"] == [0, 1]
    assert "voters" not in results["data"]  # anonymous: no identity leaves the server
    await teacher.call("act", topic=room.topic, action="poll.close", data={"poll": poll_id})
    late = await student.call(
        "act", topic=room.topic, action="poll.vote", data={"poll": poll_id, "choice": 0}
    )
    assert late["code"] == "conflict"
    denied = await student.call(
        "act", topic=room.topic, action="poll.create", data={"question": "?", "choices": ["a", "b"]}
    )
    assert denied["code"] == "forbidden"


async def test_a_late_joiner_gets_the_board_from_the_backlog(
    communicator_for, trainer, space, learner, learner2
):
    room = await setup(trainer, space, [learner, learner2])
    teacher = await in_room(communicator_for, trainer, room)
    drawn = []
    for _ in range(3):
        reply = await teacher.call("act", topic=room.topic, action="stroke", data=STROKE)
        drawn.append(reply["data"]["id"])
    undo = await teacher.call("act", topic=room.topic, action="stroke.undo", data={})
    assert undo["data"]["removed"] == drawn[-1]
    await join(user=learner, live_class=room)
    late = await communicator_for(learner)
    assert (await late.call("sub", topic=room.topic, since=0))["op"] == "ok"
    replayed = [e for e in late.events if e["type"].startswith(("stroke", "board"))]
    assert [e["type"] for e in replayed] == ["stroke.added"] * 3 + ["stroke.removed"]
    assert [e["data"]["id"] for e in replayed] == [*drawn, drawn[-1]]
    ids = [e["id"] for e in replayed]
    assert ids == sorted(ids)
    # After a clear, a joiner resuming from the last id it saw gets only the clear.
    await teacher.call("act", topic=room.topic, action="board.clear", data={})
    cleared = await late.next_event(type="board.cleared")
    await join(user=learner2, live_class=room)
    resumed = await communicator_for(learner2)
    await resumed.call("sub", topic=room.topic, since=cleared["id"] - 1)
    assert [e["type"] for e in resumed.events if "id" in e] == ["board.cleared"]


async def test_bad_frames_and_inputs_change_nothing(communicator_for, trainer, space, learner):
    room = await setup(trainer, space, [learner])
    student = await in_room(communicator_for, learner, room)
    huge = {"points": [[0.5, 0.5]] * 1001, "color": "#000000", "width": 2}
    checks = [
        ({"action": "stroke", "data": huge}, "invalid"),
        ({"action": "stroke", "data": {"points": [[1.5, 0.2]]}}, "invalid"),
        ({"action": "stroke", "data": {"points": "zigzag"}}, "invalid"),
        ({"action": "stroke", "data": {"points": [[0.1]]}}, "invalid"),
        ({"action": "stroke", "data": {"points": [[0.1, 0.2, 0.3]]}}, "invalid"),
        ({"action": "stroke", "data": {"points": [[0.1, 0.2]], "width": 500}}, "invalid"),
        ({"action": "react", "data": {"emoji": "<script>"}}, "invalid"),
        ({"action": "control", "data": {"action": "lock"}}, "forbidden"),
        ({"action": "control", "data": {"action": "remove", "user": trainer.pk}}, "forbidden"),
        ({"action": "end", "data": {}}, "forbidden"),
        ({"action": "breakout.open", "data": {"count": 2}}, "forbidden"),
        ({"action": "poll.vote", "data": {"poll": 999999, "choice": 0}}, "not_found"),
        ({"action": "no.such.action", "data": {}}, "not_found"),
        ({"action": "hand.raise", "data": []}, "invalid"),
    ]
    for frame, code in checks:
        reply = await student.call("act", topic=room.topic, **frame)
        assert reply["code"] == code, (frame["action"], reply)
    await student.send("{not json")
    frame = await student.receive()
    while frame.get("op") == "event":
        frame = await student.receive()
    assert frame["code"] == "bad_frame", frame
    # Over the gateway's frame limit: refused before parsing (so without its ref).
    await student.send(
        {
            "op": "act",
            "topic": room.topic,
            "action": "stroke",
            "data": {"points": [[0.1234, 0.1]] * 9000},
        }
    )
    frame = await student.receive()
    while frame.get("op") == "event":
        frame = await student.receive()
    assert frame["code"] == "too_large"
    await database_sync_to_async(room.refresh_from_db)()
    assert not room.locked and room.status == "live"
    assert not await database_sync_to_async(room.strokes.exists)()


async def test_presence_drives_attendance_and_several_sockets_count_once(
    communicator_for, trainer, space, learner, monkeypatch
):
    monkeypatch.setattr(services, "LIVECLASS_JOIN_GRACE_SECONDS", 0)
    room = await setup(trainer, space, [learner])
    teacher = await in_room(communicator_for, trainer, room)
    tab1 = await in_room(communicator_for, learner, room)
    while (await teacher.next_event(type="presence.joined"))["data"]["id"] != learner.pk:
        pass
    tab2 = await communicator_for(learner)
    await tab2.call("sub", topic=room.topic)
    await tab1.close()
    await teacher.call("act", topic=room.topic, action="heartbeat", data={})

    @database_sync_to_async
    def intervals():
        return list(
            AttendanceInterval.objects.filter(participant__user=learner).values_list(
                "left_at", flat=True
            )
        )

    assert await intervals() == [None]  # the second tab is still there
    await tab2.close()
    await teacher.next_event(type="presence.left")
    reply = await teacher.call("act", topic=room.topic, action="heartbeat", data={})
    assert reply["data"]["present_count"] == 1  # the trainer
    (left_at,) = await intervals()
    assert left_at is not None
    await teacher.next_event(type="participant.left")


async def test_closing_the_last_tab_ends_the_attendance_interval_at_once(
    communicator_for, trainer, space, learner
):
    room = await setup(trainer, space, [learner])
    teacher = await in_room(communicator_for, trainer, room)
    tab = await in_room(communicator_for, learner, room)
    while (await teacher.next_event(type="presence.joined"))["data"]["id"] != learner.pk:
        pass
    await tab.close()  # no heartbeat, no explicit leave: the gateway tells the topic
    left = await teacher.next_event(type="participant.left")
    assert left["data"]["id"] == learner.pk

    @database_sync_to_async
    def open_intervals():
        return AttendanceInterval.objects.filter(
            participant__user=learner, left_at__isnull=True
        ).count()

    assert await open_intervals() == 0
    # The page reconnects at once (it was a blip): the same stretch goes on.
    tab = await in_room(communicator_for, learner, room)
    await teacher.next_event(type="participant.joined")

    @database_sync_to_async
    def stretches():
        return list(
            AttendanceInterval.objects.filter(participant__user=learner).values_list(
                "left_at", flat=True
            )
        )

    assert await stretches() == [None]


async def test_breakout_rooms_with_their_own_topic(
    communicator_for, trainer, space, learner, learner2
):
    room = await setup(trainer, space, [learner, learner2])
    teacher = await in_room(communicator_for, trainer, room)
    a = await in_room(communicator_for, learner, room)
    b = await in_room(communicator_for, learner2, room)
    reply = await teacher.call(
        "act",
        topic=room.topic,
        action="breakout.open",
        data={"count": 2, "minutes": 5, "assignments": {str(learner.pk): 1, str(learner2.pk): 2}},
    )
    assert reply["op"] == "ok", reply
    opened = await a.next_event(type="breakout.opened")
    assert opened["data"]["rooms"] == {"1": [learner.pk], "2": [learner2.pk]}
    one, two = room.breakout_topic(1), room.breakout_topic(2)
    assert (await a.call("sub", topic=one))["op"] == "ok"
    assert (await a.call("sub", topic=two))["code"] == "forbidden"
    assert (await b.call("sub", topic=two))["op"] == "ok"
    assert (await teacher.call("sub", topic=one))["op"] == "ok"
    # A hand raised in a breakout room is visible to the trainer, with its room.
    await a.call("act", topic=one, action="hand.raise", data={})
    raised = await teacher.next_event(type="hand.raised", topic=room.topic)
    assert raised["data"]["breakout_room"] == 1
    said = await a.call("act", topic=one, action="say", data={"body": "bonjour"})
    assert said["op"] == "ok"
    assert (await teacher.next_event(type="chat.message", topic=one))["data"]["body"] == "bonjour"
    # Room 2 is not told (it is not subscribed to room 1's topic at all).
    assert not [e for e in b.events if e["topic"] == one]
    stroke = await b.call("act", topic=two, action="stroke", data=STROKE)
    assert stroke["data"]["room"] == 2
    await teacher.call(
        "act", topic=room.topic, action="breakout.broadcast", data={"message": "2 minutes"}
    )
    assert (await a.next_event(type="breakout.broadcast", topic=one))["data"]["message"] == (
        "2 minutes"
    )
    await teacher.call("act", topic=room.topic, action="breakout.close", data={})
    await a.next_event(type="breakout.closed", topic=one)
    await b.next_event(type="breakout.closed", topic=room.topic)
    assert (await b.call("sub", topic=two))["code"] == "forbidden"
