"""Media signalling over the gateway (``media.*`` on ``classrooms.liveclass.<id>``).

In-process (``WebsocketCommunicator``): who may publish, what is refused, the events the
room sees. Media actually flowing through a real server is ``test_media_relay.py``.
"""

from __future__ import annotations

from unittest.mock import ANY

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from channels.db import database_sync_to_async

from bench.liveclass_peers import CounterVideoTrack, ToneAudioTrack, wait_until
from classrooms import services
from classrooms.media import media_backend, reset_media_backend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def relay():
    reset_media_backend()
    yield
    backend = media_backend()
    for room in list(getattr(backend, "rooms", {})):
        await backend.close_room(room=room)
    reset_media_backend()


@database_sync_to_async
def live_class_with(trainer, space, *people):
    live_class = services.liveclass_create(actor=trainer, space=space, title="Live")
    services.liveclass_start(actor=trainer, live_class=live_class)
    for user in (trainer, *people):
        services.liveclass_join(user=user, live_class=live_class)
    return live_class


async def offer(*, videos: int = 1, audio: bool = True) -> str:
    """A real aiortc offer: audio first, then ``videos`` video lines."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if audio:
        pc.addTrack(ToneAudioTrack())
    for _ in range(videos):
        pc.addTrack(CounterVideoTrack())
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def act(ws, topic: str, action: str, data: dict) -> dict:
    return await ws.call("act", topic=topic, action=action, data=data, timeout=15)


async def test_a_non_participant_may_not_publish_or_subscribe(
    communicator_for, relay, trainer, learner, space, outsider, learner2
) -> None:
    live_class = await live_class_with(trainer, space, learner)
    sdp = await offer()
    for user in (outsider, learner2):  # another space; a member who did not join
        ws = await communicator_for(user)
        reply = await act(ws, live_class.topic, "media.publish", {"sdp": sdp})
        assert reply == {"op": "error", "ref": ANY, "code": "forbidden", "message": ANY}
        reply = await act(ws, live_class.topic, "media.subscribe", {"sdp": sdp, "publisher": 1})
        assert reply["code"] == "forbidden"
    assert media_backend().publications(room=str(live_class.pk)) == []


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"sdp": ""},
        {"sdp": 42},
        {"sdp": "not sdp at all"},
        {"sdp": "v=0\r\nthis is no session description"},
        {"sdp": "v=0\r\n", "type": "answer"},
    ],
)
async def test_malformed_offers_are_invalid(
    communicator_for, relay, trainer, learner, space, data
) -> None:
    live_class = await live_class_with(trainer, space, learner)
    ws = await communicator_for(learner)
    reply = await act(ws, live_class.topic, "media.publish", data)
    assert reply["op"] == "error" and reply["code"] == "invalid", reply
    assert media_backend().publications(room=str(live_class.pk)) == []


async def test_only_trainers_share_their_screen(
    communicator_for, relay, trainer, learner, space
) -> None:
    live_class = await live_class_with(trainer, space, learner)
    two_videos = await offer(videos=2)
    ws = await communicator_for(learner)
    reply = await act(ws, live_class.topic, "media.publish", {"sdp": two_videos})
    assert reply["code"] == "forbidden"
    assert (await act(ws, live_class.topic, "media.toggle", {"screen": True}))["code"] == (
        "forbidden"
    )
    coach = await communicator_for(trainer)
    reply = await act(coach, live_class.topic, "media.publish", {"sdp": two_videos})
    assert reply["op"] == "ok"
    assert sorted(reply["data"]["tracks"].values()) == ["audio", "screen", "video"]


async def test_the_room_hears_who_publishes_toggles_and_leaves(
    communicator_for, relay, trainer, learner, space
) -> None:
    live_class = await live_class_with(trainer, space, learner)
    watcher = await communicator_for(learner)
    assert (await watcher.call("sub", topic=live_class.topic))["op"] == "ok"
    coach = await communicator_for(trainer)
    reply = await act(coach, live_class.topic, "media.publish", {"sdp": await offer()})
    assert reply["op"] == "ok"
    assert reply["data"]["type"] == "answer" and "a=candidate" in reply["data"]["sdp"]
    assert reply["data"]["publishers"] == []
    event = await watcher.next_event(type="media.published", timeout=10)
    assert event["data"] == {
        "user_id": trainer.pk,
        "name": ANY,
        "tracks": ["audio", "video"],
        "state": {"audio": True, "video": True, "screen": False},
    }
    listed = await act(watcher, live_class.topic, "media.list", {})
    assert [p["user_id"] for p in listed["data"]["publishers"]] == [trainer.pk]
    assert listed["data"]["limits"] == {"width": 640, "height": 360, "fps": 24, "bitrate": 600_000}
    assert listed["data"]["ice_servers"] == []

    reply = await act(coach, live_class.topic, "media.toggle", {"video": False})
    assert reply["data"] == {"audio": True, "video": False, "screen": False}
    event = await watcher.next_event(type="media.toggled")
    assert event["data"] == {"user_id": trainer.pk, "audio": True, "video": False, "screen": False}
    assert (await act(coach, live_class.topic, "media.toggle", {}))["code"] == "invalid"

    assert (await act(coach, live_class.topic, "media.leave", {}))["op"] == "ok"
    event = await watcher.next_event(type="media.unpublished")
    assert event["data"] == {"user_id": trainer.pk}
    assert media_backend().publications(room=str(live_class.pk)) == []
    # Nothing to toggle once gone; nobody to subscribe to.
    assert (await act(coach, live_class.topic, "media.toggle", {"audio": False}))["code"] == (
        "not_found"
    )
    reply = await act(
        watcher,
        live_class.topic,
        "media.subscribe",
        {"sdp": await offer(), "publisher": trainer.pk},
    )
    assert reply["code"] == "not_found"


async def test_ice_for_an_unknown_connection_or_a_bad_candidate(
    communicator_for, relay, trainer, learner, space
) -> None:
    live_class = await live_class_with(trainer, space, learner)
    ws = await communicator_for(learner)
    published = await act(ws, live_class.topic, "media.publish", {"sdp": await offer()})
    connection = published["data"]["connection"]
    good = {"candidate": "candidate:1 1 UDP 2122260223 127.0.0.1 50000 typ host", "sdpMid": "0"}
    for data, code in [
        ({"connection": "0" * 16, **good}, "not_found"),
        ({"connection": "../../etc", **good}, "invalid"),
        ({"connection": connection, "candidate": "candidate:nonsense", "sdpMid": "0"}, "invalid"),
        ({"connection": connection, "candidate": "x" * 2000}, "invalid"),
    ]:
        reply = await act(ws, live_class.topic, "media.ice", data)
        assert reply["code"] == code, (data, reply)
    assert (await act(ws, live_class.topic, "media.ice", {"connection": connection, **good}))[
        "op"
    ] == "ok"
    end = {"connection": connection, "candidate": ""}
    assert (await act(ws, live_class.topic, "media.ice", end))["op"] == "ok"
    # Someone else's connection is not theirs to touch.
    other = await communicator_for(trainer)
    assert (await act(other, live_class.topic, "media.ice", {"connection": connection, **good}))[
        "code"
    ] == "not_found"


async def test_leaving_the_class_ends_the_participants_media(
    communicator_for, relay, trainer, learner, space
) -> None:
    live_class = await live_class_with(trainer, space, learner)
    watcher = await communicator_for(trainer)
    assert (await watcher.call("sub", topic=live_class.topic))["op"] == "ok"
    ws = await communicator_for(learner)
    assert (await act(ws, live_class.topic, "media.publish", {"sdp": await offer()}))["op"] == "ok"
    await watcher.next_event(type="media.published", timeout=10)
    # The room's service says they left (the page's leave, a vanished socket, a removal).
    await database_sync_to_async(services.liveclass_leave)(user=learner, live_class=live_class)
    event = await watcher.next_event(type="media.unpublished", timeout=10)
    assert event["data"] == {"user_id": learner.pk}
    assert media_backend().publications(room=str(live_class.pk)) == []


async def test_breakout_rooms_have_media_of_their_own(
    communicator_for, relay, trainer, learner, learner2, space
) -> None:
    """Placed in a breakout room, a learner's media leaves the class's room and works in
    their breakout room's topic only; calling everyone back closes the breakout rooms."""
    live_class = await live_class_with(trainer, space, learner, learner2)
    main = live_class.topic
    room_one, room_two = live_class.breakout_topic(1), live_class.breakout_topic(2)
    coach = await communicator_for(trainer)
    assert (await coach.call("sub", topic=main))["op"] == "ok"
    ws = await communicator_for(learner)
    other = await communicator_for(learner2)
    assert (await act(ws, main, "media.publish", {"sdp": await offer()}))["op"] == "ok"
    await coach.next_event(type="media.published", timeout=10)

    await database_sync_to_async(services.breakout_open)(
        actor=trainer, live_class=live_class, count=2, assignments={learner.pk: 1, learner2.pk: 2}
    )
    # Their media in the class's room ends, and they may not start it there again.
    event = await coach.next_event(type="media.unpublished", timeout=10)
    assert event["data"] == {"user_id": learner.pk}
    reply = await act(ws, main, "media.publish", {"sdp": await offer()})
    assert reply["code"] == "forbidden" and "breakout room 1" in reply["message"]

    # In their breakout room: published, heard by whoever watches that room (a trainer may).
    assert (await coach.call("sub", topic=room_one))["op"] == "ok"
    assert (await act(ws, room_one, "media.publish", {"sdp": await offer()}))["op"] == "ok"
    event = await coach.next_event(type="media.published", topic=room_one, timeout=10)
    assert event["data"]["user_id"] == learner.pk
    reply = await act(
        coach, room_one, "media.subscribe", {"sdp": await offer(), "publisher": learner.pk}
    )
    assert reply["op"] == "ok"
    rooms = {p.participant for p in media_backend().publications(room=f"{live_class.pk}-1")}
    assert rooms == {learner.pk}
    assert media_backend().publications(room=str(live_class.pk)) == []
    # Someone from another breakout room, or a room that is not open, gets nothing.
    for topic in (room_one, live_class.breakout_topic(3)):
        reply = await act(other, topic, "media.list", {})
        assert reply["code"] in {"forbidden", "not_found"}, reply
    assert (await act(other, room_two, "media.list", {}))["data"]["publishers"] == []

    # Everyone back: the breakout rooms' media is closed, the class's room open again.
    await database_sync_to_async(services.breakout_close)(actor=trainer, live_class=live_class)
    await wait_until(
        lambda: f"{live_class.pk}-1" not in media_backend().rooms,
        timeout=10,
        what="the breakout room's media to close",
    )
    assert (await act(ws, main, "media.publish", {"sdp": await offer()}))["op"] == "ok"


@pytest.mark.parametrize(
    "topic",
    [
        "classrooms.liveclass.{id}-1",  # a breakout key on the class's own topic
        "classrooms.liveclass.{id}-x.breakout",
        "classrooms.liveclass.{id}.breakout",
        "classrooms.liveclass.{id}-0.breakout",
        "classrooms.liveclass.999999-1.breakout",
    ],
)
async def test_media_on_malformed_or_unknown_rooms_is_refused(
    communicator_for, relay, trainer, learner, space, topic
) -> None:
    live_class = await live_class_with(trainer, space, learner)
    ws = await communicator_for(learner)
    reply = await act(ws, topic.format(id=live_class.pk), "media.publish", {"sdp": await offer()})
    assert reply["op"] == "error" and reply["code"] in {"forbidden", "not_found"}, reply
    assert media_backend().rooms == {}
