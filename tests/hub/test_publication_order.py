"""Events of one topic reach the layer in commit order (hub/realtime/publishing.py).

The writers of a topic commit in id order (``hold_topic_order``), then each hands its event
to the layer on its own thread: the line kept by ``CommitOrder`` stops a writer that was
held up after its commit from being overtaken by the next one.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading

import pytest
from django.conf import settings
from django.db import transaction

from hub.realtime import publishing
from hub.realtime.publishing import CommitOrder

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, int | None]]:
    """(topic, id) of each event handed to the layer, in order."""
    out: list[tuple[str, int | None]] = []
    monkeypatch.setattr(
        publishing, "start_sends", lambda frames: out.extend((t, id) for t, _text, id in frames)
    )
    return out


def frame(n: int) -> str:
    return publishing.event_frame("t.x.1", "item", {"n": n}, n)


def test_a_later_commit_waits_for_the_earlier_one(sent) -> None:
    order = CommitOrder()
    first = order.reserve("t.x.1", frame(15), 15)
    second = order.reserve("t.x.1", frame(16), 16)
    other = order.reserve("t.x.2", frame(17), 17)
    order.committed([second])  # its thread got there first
    order.committed([other])  # another topic has its own line
    assert sent == [("t.x.2", 17)]
    order.committed([first])
    assert sent == [("t.x.2", 17), ("t.x.1", 15), ("t.x.1", 16)]
    assert order.waiting() == 0
    order.committed([first])  # a callback run twice sends once
    assert len(sent) == 3


def test_a_rolled_back_event_does_not_hold_up_the_line(sent) -> None:
    order = CommitOrder()
    lost = order.reserve("t.x.1", frame(15), 15)
    kept = order.reserve("t.x.1", frame(16), 16)
    order.committed([kept])
    assert sent == []
    order.rolled_back(lost)
    assert sent == [("t.x.1", 16)]
    assert order.waiting() == 0


def test_a_place_held_too_long_stops_holding_up_the_line(sent, monkeypatch) -> None:
    order = CommitOrder()
    monkeypatch.setattr(CommitOrder, "STALE_SECONDS", 0.0)
    slow = order.reserve("t.x.1", frame(15), 15)
    order.committed([order.reserve("t.x.1", frame(16), 16)])
    assert sent == [("t.x.1", 16)]
    order.committed([slow])  # it still goes out when its transaction finally commits
    assert sent == [("t.x.1", 16), ("t.x.1", 15)]


def test_publish_sends_on_commit_only(sent) -> None:
    with transaction.atomic():
        publishing.publish("t.x.1", "item", {"n": 1}, id=1)
        assert sent == []
    assert sent == [("t.x.1", 1)]
    publishing.publish("t.x.1", "item", {"n": 2}, id=2)  # no transaction: at once
    assert sent == [("t.x.1", 1), ("t.x.1", 2)]
    assert publishing._commit_order.waiting() == 0


def test_a_rollback_gives_up_the_place_of_its_events(sent) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        publishing.publish("t.x.1", "item", {"n": 1}, id=1)
        raise RuntimeError
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():  # a savepoint rolled back
            publishing.publish("t.x.1", "item", {"n": 2}, id=2)
            raise RuntimeError
        publishing.publish("t.x.1", "item", {"n": 3}, id=3)
    gc.collect()  # the finalizers run on release already; this only makes sure
    assert sent == [("t.x.1", 3)]
    assert publishing._commit_order.waiting() == 0


def test_two_threads_whose_sends_race_deliver_in_commit_order(monkeypatch) -> None:
    """Thread A commits event 1 and is held up before its send; B commits 2 meanwhile."""
    sent: list[int] = []
    a_committed, b_done = threading.Event(), threading.Event()
    real_committed = CommitOrder.committed

    def slow_for_one(self: CommitOrder, slots) -> None:
        if slots[0].id == 1:
            a_committed.set()
            assert b_done.wait(10)  # held up after the commit, as by the GIL or the CPU
        real_committed(self, slots)

    monkeypatch.setattr(CommitOrder, "committed", slow_for_one)
    monkeypatch.setattr(
        publishing,
        "start_sends",
        lambda frames: sent.extend(json.loads(text)["id"] for _t, text, _id in frames),
    )

    def writer(n: int) -> None:
        with transaction.atomic():
            publishing.publish("t.x.9", "item", {"n": n}, id=n)

    a = threading.Thread(target=writer, args=(1,))
    a.start()
    assert a_committed.wait(10)
    b = threading.Thread(target=writer, args=(2,))
    b.start()
    b.join(10)
    assert sent == []  # 2 waits for 1
    b_done.set()
    a.join(10)
    assert sent == [1, 2]


def test_a_transactions_events_go_to_the_layer_in_one_batch(monkeypatch) -> None:
    """A chat message publishes two events: one hand-off and one Redis round trip for both.
    A savepoint's events form their own batch, so its rollback drops exactly them."""
    batches: list[list[int | None]] = []
    monkeypatch.setattr(
        publishing, "start_sends", lambda frames: batches.append([id for *_, id in frames])
    )
    with transaction.atomic():
        publishing.publish("t.x.1", "item", {}, id=1)
        publishing.publish("t.x.2", "item", {}, id=2)
        with transaction.atomic():
            publishing.publish("t.x.1", "item", {}, id=3)
        with pytest.raises(RuntimeError), transaction.atomic():
            publishing.publish("t.x.1", "item", {}, id=4)
            raise RuntimeError
        publishing.publish("t.x.3", "item", {}, id=5)
    gc.collect()
    assert batches == [[1, 2], [3], [5]]
    assert publishing._commit_order.waiting() == 0


async def test_a_batch_reaches_the_layer_in_order(monkeypatch) -> None:
    """``_send_batch`` on the configured layer (in memory, or Redis pub/sub where one
    pipeline carries the batch): each group's subscribers get their events, in order."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    pipelines: list[int] = []
    if settings.SERVICES_MODE:
        from redis.asyncio.client import Pipeline

        real_execute = Pipeline.execute

        async def counting_execute(self, *args, **kwargs):
            pipelines.append(len(self.command_stack))
            return await real_execute(self, *args, **kwargs)

        monkeypatch.setattr(Pipeline, "execute", counting_execute)
    channel = await layer.new_channel()
    await layer.group_add("t.batch.1", channel)
    await layer.group_add("t.batch.2", channel)
    try:
        batch = [
            (topic, publishing.layer_message(topic, frame(n), n))
            for topic, n in (("t.batch.1", 1), ("t.batch.2", 2), ("t.batch.1", 3))
        ]
        await publishing._send_batch(layer, batch)
        received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(3)]
    finally:
        await layer.group_discard("t.batch.1", channel)
        await layer.group_discard("t.batch.2", channel)
    assert [(m["topic"], m["id"]) for m in received] == [
        ("t.batch.1", 1),
        ("t.batch.2", 2),
        ("t.batch.1", 3),
    ]
    if settings.SERVICES_MODE:
        assert pipelines == [3]  # one round trip for the three
