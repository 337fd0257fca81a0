"""The gateway against hostile input: every op spends from the socket's budget, replays are
bounded per socket, out-of-range numbers and deep nesting get a clear error frame
(issue 13, items 6, 19, 20)."""

from __future__ import annotations

import json
import logging
import time

import pytest
from channels.db import database_sync_to_async

from messaging.services import conversation_direct_open
from tests.hub import topics

pytestmark = pytest.mark.django_db(transaction=True)


def _frames(count: int, **frame) -> list[str]:
    return [json.dumps({"ref": str(n), **frame}) for n in range(count)]


async def _send_all(ws, frames: list[str]) -> tuple[list[dict], int]:
    """Send every frame at once; collect the replies and the characters of replayed events."""
    for frame in frames:
        await ws.send(frame)
    replies, replayed = [], 0
    while len(replies) < len(frames):
        frame = await ws.receive(timeout=30)
        if frame["op"] == "event":
            replayed += len(json.dumps(frame, separators=(",", ":"), ensure_ascii=False))
        else:
            replies.append(frame)
    return replies, replayed


# -- item 6: every op spends from the socket's budget ------------------------------------------
async def test_300_resubscriptions_from_zero_are_mostly_refused_and_replay_is_bounded(
    communicator_for, learner, monkeypatch, settings
):
    """The issue's probe: 300 ``sub`` with ``since=0`` on one socket (13.4 MB replayed before)."""
    monkeypatch.setattr(topics.RoomTopic, "backlog_size", 500)  # a full backlog each time
    conf = settings.LYCEUM_REALTIME
    ws = await communicator_for(learner)
    started = time.monotonic()
    replies, replayed = await _send_all(ws, _frames(300, op="sub", topic="testing.room.1", since=0))
    elapsed = time.monotonic() - started
    codes = [r.get("code", "ok") for r in replies]
    refused = codes.count("rate_limited")
    assert set(codes) <= {"ok", "rate_limited"}
    # Served: the op budget's burst plus what it refilled meanwhile (a loaded machine takes
    # longer over the 300, so refills more), never more.
    served = 300 - refused
    assert served <= conf["ACT_BURST"] + conf["ACT_RATE"] * elapsed + 1, (served, elapsed)
    assert refused > 150, codes
    one_backlog = replayed / (300 - refused)  # every served replay sends the same 500 events
    bound = conf["REPLAY_BURST_BYTES"] + conf["REPLAY_RATE_BYTES"] * elapsed + one_backlog
    assert replayed <= bound, (replayed, bound)
    print(f"300 re-subs: {300 - refused} served, {refused} refused, {replayed} chars replayed")
    assert (await ws.call("ping"))["op"] == "ok"  # the socket stays open


async def test_replay_budget_alone_bounds_the_bytes_replayed(
    communicator_for, learner, monkeypatch, settings
):
    """With the op budget out of the way, replays still stop at the bytes budget."""
    settings.LYCEUM_REALTIME = {
        **settings.LYCEUM_REALTIME,
        "ACT_BURST": 100_000,
        "ACT_RATE": 100_000,
        "REPLAY_BURST_BYTES": 100_000,
        "REPLAY_RATE_BYTES": 0.001,
    }
    monkeypatch.setattr(topics.RoomTopic, "backlog_size", 500)
    ws = await communicator_for(learner)
    replies, replayed = await _send_all(ws, _frames(50, op="sub", topic="testing.room.2", since=0))
    served = [r for r in replies if r["op"] == "ok"]
    one_backlog = replayed / len(served)
    # Replays go on while the budget is above zero: the burst, overdrawn by one backlog.
    assert len(served) == 1 + int(100_000 // one_backlog)
    assert replayed < 100_000 + one_backlog
    assert {r["code"] for r in replies if r["op"] == "error"} == {"rate_limited"}


async def test_a_refused_resubscription_keeps_the_subscription(
    communicator_for, learner, monkeypatch, settings
):
    settings.LYCEUM_REALTIME = {
        **settings.LYCEUM_REALTIME,
        "REPLAY_BURST_BYTES": 10,
        "REPLAY_RATE_BYTES": 0.001,
    }
    monkeypatch.setattr(topics.RoomTopic, "backlog_size", 3)
    ws = await communicator_for(learner)
    assert (await ws.call("sub", topic="testing.room.3", since=0))["op"] == "ok"
    ws.events.clear()
    assert (await ws.call("sub", topic="testing.room.3", since=0))["code"] == "rate_limited"
    assert not ws.events  # nothing replayed
    # Still subscribed: live events keep coming, and a sub without replay is served.
    await ws.call("act", topic="testing.room.3", action="shout", data={"text": "still here"})
    assert (await ws.next_event(type="shout"))["data"] == {"text": "still here"}
    assert (await ws.call("sub", topic="testing.room.3"))["op"] == "ok"


async def test_every_op_spends_and_a_sub_costs_more_than_a_ping(
    communicator_for, learner, settings
):
    settings.LYCEUM_REALTIME = {**settings.LYCEUM_REALTIME, "ACT_BURST": 2, "ACT_RATE": 0.001}
    ws = await communicator_for(learner)
    pings, _ = await _send_all(ws, _frames(9, op="ping"))
    assert [r["op"] for r in pings] == ["ok"] * 8 + ["error"]
    assert pings[-1]["code"] == "rate_limited"

    ws2 = await communicator_for(learner)
    subs, _ = await _send_all(
        ws2,
        [json.dumps({"op": "sub", "ref": str(n), "topic": f"testing.room.{n}"}) for n in range(3)],
    )
    assert [r["op"] for r in subs] == ["ok", "ok", "error"]
    unsubs, _ = await _send_all(ws2, _frames(1, op="unsub", topic="testing.room.0"))
    assert unsubs[0]["code"] == "rate_limited"  # refused: still subscribed, nothing changed


# -- items 19 and 20: a clear error frame, never `internal` --------------------------------------
@database_sync_to_async
def _conversation(user, other):
    return conversation_direct_open(user=user, other=other)


async def test_out_of_range_numbers_are_invalid_not_internal(
    communicator_for, learner, learner2, caplog
):
    conversation = await _conversation(learner, learner2)
    topic = f"messaging.conversation.{conversation.pk}"
    ws = await communicator_for(learner)
    big = 10**20
    replies = [
        await ws.call("sub", topic="messaging.conversation.99999999999999999999"),
        await ws.call("sub", topic=f"hub.user.{learner.pk}", since=10**30),
        await ws.call("act", topic=topic, action="send", data={"body": "x", "attachments": [big]}),
        await ws.call("act", topic=topic, action="send", data={"body": "x", "reply_to": big}),
        await ws.call("act", topic=topic, action="read", data={"last_read_id": big}),
        await ws.call(
            "act",
            topic="messaging.conversation.99999999999999999999",
            action="send",
            data={"body": "x"},
        ),
    ]
    # 1e400 is valid JSON that no float holds.
    await ws.send('{"op": "ping", "ref": "inf", "n": 1e400}')
    replies.append(await ws.receive())
    assert [r.get("code") for r in replies] == ["invalid"] * len(replies), replies
    assert not [r for r in caplog.records if r.exc_info]
    # Nothing was stored.
    sent = await ws.call("sub", topic=topic, since=0)
    assert sent["op"] == "ok"
    assert not [e for e in ws.events if e["type"].startswith("message")]


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 60_000,
        '{"op": "ping", "x": ' + "[" * 30_000 + "]" * 30_000 + "}",
        '{"op": "ping", "x": ' + "[" * 40 + "]" * 40 + "}",
        '{"op": "act", "topic": "testing.room.1", "action": "echo", "data": '
        + '{"a":' * 100
        + "1"
        + "}" * 100
        + "}",
        '{"op": "ping", "x": NaN}',
        '{"op": "ping", "x": Infinity}',
    ],
)
async def test_deeply_nested_or_non_json_frames_are_bad_frames_without_a_traceback(
    communicator_for, learner, caplog, raw
):
    caplog.set_level(logging.DEBUG)
    ws = await communicator_for(learner)
    await ws.send(raw)
    reply = await ws.receive()
    assert reply["op"] == "error"
    assert reply["code"] == "bad_frame"
    assert not [r for r in caplog.records if r.exc_info]
    assert (await ws.call("ping"))["op"] == "ok"
