"""The WebSocket gateway: protocol, bad input, limits, resume, presence (ARCHITECTURE §3)."""

from __future__ import annotations

import asyncio
import json
import threading
from unittest.mock import ANY

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from rest_framework.authtoken.models import Token

from hub.accounts.models import Role
from hub.announcements.services import announcement_post
from hub.asgi import application
from hub.notify import notify
from hub.realtime import publishing as publish_module
from hub.realtime.fanout import get_fanout
from hub.realtime.writers import CLOSE_TOO_SLOW, CLOSE_UNAUTHENTICATED
from tests.hub import topics

pytestmark = pytest.mark.django_db(transaction=True)


def _notify_many(recipient, actor, count: int) -> list[int]:
    ids = []
    for i in range(count):
        (n,) = notify(recipients=[recipient], kind="announcement", verb=f"n{i}", actor=actor)
        ids.append(n.id)
    return ids


notify_many = database_sync_to_async(_notify_many)


# -- connecting -------------------------------------------------------------------------------
async def test_anonymous_socket_is_closed_with_4401():
    communicator = WebsocketCommunicator(application, "/ws/")
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_output(timeout=3) == {
        "type": "websocket.close",
        "code": CLOSE_UNAUTHENTICATED,
    }


async def test_wrong_token_is_anonymous():
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", b"Token not-a-real-token")]
    )
    await communicator.connect()
    message = await communicator.receive_output(timeout=3)
    assert message["code"] == CLOSE_UNAUTHENTICATED


async def test_session_cookie_authenticates(client, learner):
    await database_sync_to_async(client.force_login)(learner)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"cookie", cookie), (b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"op": "sub", "ref": "1", "topic": f"hub.user.{learner.pk}"})
    reply = await communicator.receive_json_from()
    assert reply["op"] == "ok"
    await communicator.disconnect()


async def test_a_token_wins_over_the_session_cookie(client, learner, learner2):
    await database_sync_to_async(client.force_login)(learner)
    token, _ = await database_sync_to_async(Token.objects.get_or_create)(user=learner2)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    communicator = WebsocketCommunicator(
        application,
        "/ws/",
        headers=[
            (b"cookie", cookie),
            (b"origin", b"http://localhost"),
            (b"authorization", f"Token {token.key}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    await communicator.send_json_to({"op": "sub", "ref": "1", "topic": f"hub.user.{learner2.pk}"})
    assert (await communicator.receive_json_from())["op"] == "ok"
    await communicator.disconnect()


@pytest.mark.skipif(not settings.SERVICES_MODE, reason="PostgreSQL: the database thread pool")
async def test_a_session_handshake_does_not_wait_for_the_single_sync_thread(client, learner):
    """A crowd of browsers reconnecting: their session look-ups run on the database thread
    pool, not queued on the process's one sync thread behind everything else."""
    await database_sync_to_async(client.force_login)(learner)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    release = threading.Event()
    held = asyncio.ensure_future(sync_to_async(release.wait, thread_sensitive=True)(20))
    try:
        communicator = WebsocketCommunicator(
            application, "/ws/", headers=[(b"cookie", cookie), (b"origin", b"http://localhost")]
        )
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        await communicator.send_json_to({"op": "ping", "ref": "1"})
        assert (await communicator.receive_json_from(timeout=10))["op"] == "ok"
        await communicator.disconnect()
    finally:
        release.set()
        await held


async def test_foreign_origin_is_refused(learner):
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected


# -- bad frames ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("this is not json", "bad_frame"),
        ("[1, 2, 3]", "bad_frame"),
        ('"a string"', "bad_frame"),
        ('{"op": "dance", "ref": "x"}', "bad_frame"),
        ('{"ref": "x"}', "bad_frame"),
        ('{"op": "sub", "ref": "x", "topic": "no spaces allowed"}', "invalid"),
        ('{"op": "sub", "ref": "x", "topic": 42}', "invalid"),
        ('{"op": "sub", "ref": "x", "topic": "nothing.here.1"}', "not_found"),
        ('{"op": "sub", "ref": "x", "topic": "hub.user.1", "since": -1}', "invalid"),
        ('{"op": "sub", "ref": "x", "topic": "hub.user.1", "since": "5"}', "invalid"),
        ('{"op": "unsub", "ref": "x", "topic": "testing.room.1"}', "not_found"),
        ('{"op": "act", "ref": "x", "topic": "testing.room.1", "action": "nope"}', "not_found"),
        (
            '{"op": "act", "ref": "x", "topic": "testing.room.1", "action": "echo", "data": []}',
            "invalid",
        ),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_usable(
    communicator_for, learner, frame, code
):
    ws = await communicator_for(learner)
    await ws.send(frame)
    reply = await ws.receive()
    assert reply["op"] == "error"
    assert reply["code"] == code
    assert reply["message"]
    assert (await ws.call("ping"))["op"] == "ok"


async def test_oversized_frame_is_refused_without_parsing(communicator_for, learner):
    ws = await communicator_for(learner)
    await ws.send(json.dumps({"op": "ping", "ref": "big", "pad": "x" * 70_000}))
    reply = await ws.receive()
    assert reply == {"op": "error", "ref": None, "code": "too_large", "message": ANY}
    assert (await ws.call("ping"))["op"] == "ok"


async def test_binary_frame_is_handled_like_text(communicator_for, learner):
    ws = await communicator_for(learner)
    await ws.ws.send_to(bytes_data=b"\xff\xfe not utf-8")
    assert (await ws.receive())["code"] == "bad_frame"


async def test_bad_frames_do_not_log_tracebacks(communicator_for, learner, caplog):
    ws = await communicator_for(learner)
    for frame in ["{", "[]", '{"op": 1}', "x" * 70_000]:
        await ws.send(frame)
        await ws.receive()
    assert not [r for r in caplog.records if r.exc_info]


# -- subscribing ---------------------------------------------------------------------------------
async def test_only_the_user_may_subscribe_to_their_own_feed(communicator_for, learner, learner2):
    ws = await communicator_for(learner)
    reply = await ws.call("sub", topic=f"hub.user.{learner2.pk}")
    assert reply == {"op": "error", "ref": "1", "code": "forbidden", "message": ANY}
    assert (await ws.call("sub", topic=f"hub.user.{learner.pk}"))["op"] == "ok"


async def test_a_refused_subscription_to_a_topic_the_process_listens_to_gets_nothing(
    communicator_for, learner, learner2, coordinator
):
    """On a topic this process already listens to, the permission check runs in the same
    trip as the backlog: someone refused is answered ``forbidden``, is not left listening,
    and never sees an event, even one published while they waited."""
    topic = f"hub.user.{learner.pk}"
    owner = await communicator_for(learner)
    assert (await owner.call("sub", topic=topic))["op"] == "ok"
    intruder = await communicator_for(learner2)
    reply = await intruder.call("sub", topic=topic, since=0)
    assert reply == {"op": "error", "ref": "1", "code": "forbidden", "message": ANY}
    assert len(get_fanout().subscribers[topic]) == 1
    (sent,) = await notify_many(learner, coordinator, 1)
    assert (await owner.next_event(topic=topic))["id"] == sent
    await intruder.assert_silent()
    assert intruder.events == []


async def test_a_subscription_to_a_listened_topic_takes_one_trip_to_the_database(
    communicator_for, learner, learner2, monkeypatch
):
    """A crowd reconnecting after a restart subscribes to topics the process already
    listens to: the check, the backlog and the presence payload go in one trip."""
    from hub.realtime import gateway

    trips: list[str] = []
    original = gateway.on_database_thread

    def counted(function, **kwargs):
        trips.append(getattr(function, "__name__", "?"))
        return original(function, **kwargs)

    monkeypatch.setattr(topics.RoomTopic, "backlog_size", 2)
    first = await communicator_for(learner)
    second = await communicator_for(learner2)
    monkeypatch.setattr(gateway, "on_database_thread", counted)
    assert (await first.call("sub", topic="testing.lobby.5"))["op"] == "ok"
    assert len(trips) == 2  # a topic new to the process: checked before it listens
    trips.clear()
    reply = await second.call("sub", topic="testing.lobby.5", since=0)
    assert trips == ["_read_for_subscription"]
    assert [e["id"] for e in second.events if e.get("id")] == [1, 2]  # replayed, in order
    assert {p["id"] for p in reply["data"]["present"]} == {learner.pk, learner2.pk}


async def test_subscription_limit(communicator_for, learner, settings):
    settings.LYCEUM_REALTIME = {**settings.LYCEUM_REALTIME, "MAX_SUBSCRIPTIONS": 3}
    ws = await communicator_for(learner)
    for n in range(3):
        assert (await ws.call("sub", topic=f"testing.room.{n}"))["op"] == "ok"
    reply = await ws.call("sub", topic="testing.room.99")
    assert reply["code"] == "rate_limited"
    assert (await ws.call("unsub", topic="testing.room.0"))["op"] == "ok"
    assert (await ws.call("sub", topic="testing.room.99"))["op"] == "ok"


async def test_unsubscribed_topic_gets_no_more_events(communicator_for, learner):
    ws = await communicator_for(learner)
    await ws.call("sub", topic="testing.room.5")
    await ws.call("act", topic="testing.room.5", action="shout", data={"text": "one"})
    assert (await ws.next_event(type="shout"))["data"] == {"text": "one"}
    await ws.call("unsub", topic="testing.room.5")
    await ws.call("act", topic="testing.room.5", action="shout", data={"text": "two"})
    await ws.assert_silent()


# -- acting ----------------------------------------------------------------------------------
async def test_action_validates_with_its_serializer(communicator_for, learner):
    ws = await communicator_for(learner)
    ok = await ws.call("act", topic="testing.room.1", action="echo", data={"text": "hi"})
    assert ok == {"op": "ok", "ref": "1", "data": {"text": "hi", "user": learner.pk}}
    bad = await ws.call("act", topic="testing.room.1", action="echo", data={"text": "x" * 51})
    assert bad["code"] == "invalid"
    assert "text" in bad["details"]


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("forbidden", "forbidden"),
        ("invalid", "invalid"),
        ("throttled", "rate_limited"),
        ("crash", "internal"),
    ],
)
async def test_service_exceptions_map_to_error_codes(communicator_for, learner, action, code):
    ws = await communicator_for(learner)
    reply = await ws.call("act", topic="testing.room.1", action=action)
    assert reply["code"] == code
    assert (await ws.call("ping"))["op"] == "ok"


async def test_acting_on_a_forbidden_topic_is_refused(communicator_for, learner):
    ws = await communicator_for(learner)
    reply = await ws.call("act", topic="testing.room.closed", action="echo", data={"text": "x"})
    assert reply["code"] == "forbidden"


async def test_a_flood_of_actions_is_rate_limited_and_the_socket_survives(
    communicator_for, learner, settings
):
    settings.LYCEUM_REALTIME = {**settings.LYCEUM_REALTIME, "ACT_BURST": 5, "ACT_RATE": 0.001}
    ws = await communicator_for(learner)
    for n in range(12):
        await ws.send(
            {
                "op": "act",
                "ref": str(n),
                "topic": "testing.room.1",
                "action": "echo",
                "data": {"text": "x"},
            }
        )
    replies = [await ws.receive() for _ in range(12)]
    assert [r["op"] for r in replies[:5]] == ["ok"] * 5
    assert {r["code"] for r in replies[5:]} == {"rate_limited"}
    # Still open and answering (a ping spends from the same, empty, budget).
    assert (await ws.call("ping"))["code"] == "rate_limited"


# -- delivery and resume ---------------------------------------------------------------------------
async def test_announcement_reaches_members_live(communicator_for, learner, coordinator, space):
    ws = await communicator_for(learner)
    await ws.call("sub", topic=f"hub.user.{learner.pk}")
    await database_sync_to_async(announcement_post)(
        author=coordinator, space=space, title="Fire drill at 3"
    )
    event = await ws.next_event(topic=f"hub.user.{learner.pk}", type="notification.created")
    assert event["data"]["verb"] == "Fire drill at 3"
    assert event["id"] == event["data"]["id"]


async def test_resume_after_reconnect_loses_nothing_and_doubles_nothing(
    communicator_for, learner, coordinator
):
    topic = f"hub.user.{learner.pk}"
    ws = await communicator_for(learner)
    await ws.call("sub", topic=topic, since=0)
    first = await notify_many(learner, coordinator, 3)
    seen = [(await ws.next_event(topic=topic))["id"] for _ in first]
    assert seen == first
    await ws.close()

    missed = await notify_many(learner, coordinator, 4)  # while away
    ws2 = await communicator_for(learner)
    reply = await ws2.call("sub", topic=topic, since=seen[-1])
    assert reply["data"] == {"topic": topic, "truncated": False}
    assert [e["id"] for e in ws2.events] == missed  # replayed before the ok, in order
    ws2.events.clear()
    live = await notify_many(learner, coordinator, 2)
    assert [(await ws2.next_event(topic=topic))["id"] for _ in live] == live
    await ws2.assert_silent()


async def test_event_arriving_during_backlog_replay_is_sent_once(
    communicator_for, learner, monkeypatch
):
    """An event that is both in the backlog and live (published during the read) is sent once."""
    ws = await communicator_for(learner)
    topics.RoomTopic.backlog_size = 3
    monkeypatch.setattr(topics.RoomTopic, "backlog_size", 3)
    original = topics.RoomTopic.backlog

    def backlog_with_a_live_duplicate(self, user, key, since, limit):
        events = original(self, user, key, since, limit)
        # While the backlog is read, event 3 is also published live, and a new event 4.
        text3 = publish_module.event_frame("testing.room.7", "item", {"n": 3}, 3)
        text4 = publish_module.event_frame("testing.room.7", "item", {"n": 4}, 4)
        publish_module.send_to_layer("testing.room.7", text3, 3)
        publish_module.send_to_layer("testing.room.7", text4, 4)
        return events

    monkeypatch.setattr(topics.RoomTopic, "backlog", backlog_with_a_live_duplicate)
    await ws.call("sub", topic="testing.room.7", since=0)
    ids = [e["id"] for e in ws.events]
    ws.events.clear()
    while 4 not in ids:
        ids.append((await ws.next_event(topic="testing.room.7"))["id"])
    assert ids == [1, 2, 3, 4]
    await ws.assert_silent()


async def test_long_backlog_is_cut_and_flagged(communicator_for, learner, monkeypatch, settings):
    settings.LYCEUM_REALTIME = {**settings.LYCEUM_REALTIME, "BACKLOG_LIMIT": 10}
    monkeypatch.setattr(topics.RoomTopic, "backlog_size", 25)
    ws = await communicator_for(learner)
    reply = await ws.call("sub", topic="testing.room.8", since=0)
    assert reply["data"]["truncated"] is True
    assert [e["id"] for e in ws.events] == list(range(1, 11))


async def test_one_event_is_serialised_once_for_every_socket(
    communicator_for, learner, learner2, monkeypatch
):
    sockets = [await communicator_for(u) for u in (learner, learner2, learner)]
    for ws in sockets:
        await ws.call("sub", topic="testing.room.3")
    calls = []
    real_encode = publish_module.encode
    monkeypatch.setattr(
        publish_module, "encode", lambda frame: calls.append(frame) or real_encode(frame)
    )
    await sockets[0].call("act", topic="testing.room.3", action="shout", data={"text": "hey"})
    texts = {
        json.dumps(await ws.next_event(topic="testing.room.3", type="shout")) for ws in sockets
    }
    assert len(texts) == 1
    assert [c["type"] for c in calls if c.get("op") == "event"] == ["shout"]


async def test_rolled_back_write_publishes_nothing(communicator_for, learner, coordinator):
    ws = await communicator_for(learner)
    await ws.call("sub", topic=f"hub.user.{learner.pk}")

    def notify_then_fail():
        from django.db import transaction

        try:
            with transaction.atomic():
                notify(recipients=[learner], kind="announcement", verb="never", actor=coordinator)
                raise RuntimeError("rollback")
        except RuntimeError:
            pass

    await database_sync_to_async(notify_then_fail)()
    await ws.assert_silent(within=0.3)


# -- slow sockets ------------------------------------------------------------------------------
async def test_a_socket_that_cannot_keep_up_is_closed(learner, settings):
    """Frames pile up faster than the socket drains: closed with 4008, memory bounded."""
    settings.LYCEUM_REALTIME = {**settings.LYCEUM_REALTIME, "MAX_PENDING_FRAMES": 5}
    from tests.conftest import Client

    token = await database_sync_to_async(
        lambda: __import__(
            "rest_framework.authtoken.models", fromlist=["Token"]
        ).Token.objects.get_or_create(user=learner)[0]
    )()
    communicator = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Token {token.key}".encode())]
    )
    await communicator.connect()
    ws = Client(communicator)
    await ws.call("sub", topic="testing.room.9")
    fanout = get_fanout()
    for n in range(20):  # no await in between: the writer gets no chance to drain
        fanout.dispatch(
            "testing.room.9", publish_module.event_frame("testing.room.9", "x", {"n": n}), None
        )
    outputs = []
    while True:
        message = await communicator.receive_output(timeout=3)
        outputs.append(message)
        if message["type"] == "websocket.close":
            break
    assert outputs[-1]["code"] == CLOSE_TOO_SLOW
    assert len(outputs) <= 6


# -- presence ------------------------------------------------------------------------------------
async def test_presence_join_and_leave(communicator_for, learner, learner2):
    from hub.realtime import presence

    a = await communicator_for(learner)
    reply = await a.call("sub", topic="testing.lobby.42")
    assert [p["id"] for p in reply["data"]["present"]] == [learner.pk]
    own = await a.next_event(topic="testing.lobby.42", type="presence.joined")
    assert own["data"]["id"] == learner.pk
    b = await communicator_for(learner2)
    reply = await b.call("sub", topic="testing.lobby.42")
    assert sorted(p["id"] for p in reply["data"]["present"]) == sorted([learner.pk, learner2.pk])
    joined = await a.next_event(topic="testing.lobby.42", type="presence.joined")
    assert joined["data"]["id"] == learner2.pk and "id" not in joined  # ephemeral: no id
    await b.close()
    left = await a.next_event(topic="testing.lobby.42", type="presence.left")
    assert left["data"] == {"id": learner2.pk}
    assert [p["id"] for p in await presence.store().present("testing.lobby.42")] == [learner.pk]


async def test_second_tab_of_the_same_user_does_not_announce_twice(
    communicator_for, learner, learner2
):
    a = await communicator_for(learner2)
    await a.call("sub", topic="testing.lobby.43")
    await a.next_event(topic="testing.lobby.43", type="presence.joined")  # its own
    tab1 = await communicator_for(learner)
    await tab1.call("sub", topic="testing.lobby.43")
    await a.next_event(topic="testing.lobby.43", type="presence.joined")
    tab2 = await communicator_for(learner)
    await tab2.call("sub", topic="testing.lobby.43")
    await tab1.close()
    await a.assert_silent(within=0.3)  # learner is still there in tab2
    await tab2.close()
    assert (await a.next_event(topic="testing.lobby.43", type="presence.left"))["data"][
        "id"
    ] == learner.pk


async def test_subscribing_again_is_not_a_leave_and_a_join(communicator_for, learner, learner2):
    from tests.hub.topics import LobbyTopic

    LobbyTopic.left.clear()
    watcher = await communicator_for(learner2)
    await watcher.call("sub", topic="testing.lobby.45")
    await watcher.next_event(topic="testing.lobby.45", type="presence.joined")  # its own
    tab = await communicator_for(learner)
    await tab.call("sub", topic="testing.lobby.45")
    await watcher.next_event(topic="testing.lobby.45", type="presence.joined")
    reply = await tab.call("sub", topic="testing.lobby.45", since=0)  # replay, same socket
    assert sorted(p["id"] for p in reply["data"]["present"]) == sorted([learner.pk, learner2.pk])
    await watcher.assert_silent(within=0.3)
    assert LobbyTopic.left == []
    await tab.close()
    assert (await watcher.next_event(topic="testing.lobby.45", type="presence.left"))["data"][
        "id"
    ] == learner.pk


async def test_the_topic_hears_when_someones_last_socket_has_gone(communicator_for, learner):
    from tests.hub.topics import LobbyTopic

    LobbyTopic.left.clear()
    LobbyTopic.heard.clear()
    tab1 = await communicator_for(learner)
    tab2 = await communicator_for(learner)
    await tab1.call("sub", topic="testing.lobby.44")
    await tab2.call("sub", topic="testing.lobby.44")
    await tab1.close()
    await tab2.call("ping")  # the gateway has handled tab1's close by now
    assert LobbyTopic.left == []  # still there in tab2
    await tab2.close()
    # The hook runs in a worker thread after the close.
    assert await asyncio.to_thread(LobbyTopic.heard.wait, 5)
    assert LobbyTopic.left == [(learner.pk, "44")]


def test_role_fixture_sanity(learner):
    assert learner.has_role(Role.LEARNER)


async def test_a_failing_backlog_leaves_no_half_subscription(
    communicator_for, learner, monkeypatch
):
    def broken(self, user, key, since, limit):
        raise RuntimeError("database went away")

    monkeypatch.setattr(topics.RoomTopic, "backlog", broken)
    ws = await communicator_for(learner)
    reply = await ws.call("sub", topic="testing.room.11", since=0)
    assert reply["code"] == "internal"
    assert "testing.room.11" not in get_fanout().subscribers
    monkeypatch.undo()
    assert (await ws.call("sub", topic="testing.room.11", since=0))["op"] == "ok"


async def test_revoke_ends_one_users_subscription_everywhere(communicator_for, learner, learner2):
    from hub import realtime

    gone = await communicator_for(learner)
    stays = await communicator_for(learner2)
    for ws in (gone, stays):
        await ws.call("sub", topic="testing.room.20")
    await database_sync_to_async(realtime.revoke)("testing.room.20", user_id=learner.pk)
    assert (await gone.next_event(topic="testing.room.20"))["type"] == "unsubscribed"
    await stays.call("act", topic="testing.room.20", action="shout", data={"text": "after"})
    assert (await stays.next_event(type="shout"))["data"] == {"text": "after"}
    await gone.assert_silent()
    # Not subscribed any more: unsub says so; a new sub is authorised as usual.
    assert (await gone.call("unsub", topic="testing.room.20"))["code"] == "not_found"
    assert (await gone.call("sub", topic="testing.room.20"))["op"] == "ok"
