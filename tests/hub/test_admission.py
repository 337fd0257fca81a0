"""The gateway under more work than it can answer in time: ``overloaded`` with a
``retry_after`` hint, at once and with nothing changed, never ``internal`` and never a reply
that comes after the client has given up (issue 14, item 1)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from psycopg_pool import PoolTimeout

from hub.api import exception_handler
from hub.realtime import admission as gate_module
from hub.realtime.admission import Admission, Overloaded
from tests.hub import topics

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def small_gate(settings):
    """A gate that lets one piece of work queue behind those already running."""
    settings.LYCEUM_REALTIME = {**settings.LYCEUM_REALTIME, "MAX_QUEUED": 1}
    gate_module.reset()
    topics.GateTopic.opened.clear()
    yield
    topics.GateTopic.opened.set()
    gate_module.reset()


# -- the gate itself ---------------------------------------------------------------------------
def test_the_gate_refuses_past_its_queue_bound_and_frees_places_as_work_starts():
    gate = Admission(max_queued=2, max_wait=10)
    first, second = gate.enter(), gate.enter()
    with pytest.raises(Overloaded) as refused:
        gate.enter()
    assert refused.value.code == "overloaded"
    assert 1 <= refused.value.retry_after <= 30
    gate.start(first)
    gate.enter()  # a place is free again
    gate.abandon(second)
    gate.abandon(second)  # settling twice frees one place only
    assert gate.queued == 1
    gate.enter(refusable=False)  # what must run whatever the load is counted, never refused
    gate.enter(refusable=False)
    assert gate.queued == 3


def test_work_that_waited_too_long_is_not_run():
    gate = Admission(max_queued=100, max_wait=0.5)
    ticket = gate.enter()
    ticket.queued_at -= 1  # it waited a second for a thread
    with pytest.raises(Overloaded):
        gate.start(ticket)
    assert gate.queued == 0
    late = gate.enter(refusable=False)
    late.queued_at -= 1
    gate.start(late, refusable=False)  # presence leaving, a handshake's token: always run


def test_the_hint_is_how_long_the_queue_takes_to_drain():
    gate = Admission(max_queued=1000, max_wait=10)
    tickets = [gate.enter() for _ in range(500)]
    for ticket in tickets[:21]:
        gate.start(ticket)
    gate._starts.clear()
    now = time.monotonic()
    gate._starts.extend(now - 1 + i * 0.05 for i in range(21))  # 20 starts a second
    assert gate.retry_after() == pytest.approx(479 / 20, abs=0.2)
    assert Admission(max_queued=1, max_wait=10).retry_after() == 5  # no rate seen yet


# -- through the gateway ------------------------------------------------------------------------
async def test_a_full_queue_answers_overloaded_at_once_and_the_retry_succeeds(
    communicator_for, learner, small_gate
):
    # One socket handles its frames one at a time: a crowd is many sockets.
    sockets = [await communicator_for(learner) for _ in range(12)]
    for n, ws in enumerate(sockets):
        await ws.send(json.dumps({"op": "sub", "ref": str(n), "topic": f"testing.gate.{n}"}))
    # Whatever the thread pool's size, at most (threads + 1) are held or queued: the rest are
    # refused without waiting for the gate to open.
    replies: dict[int, dict] = {}
    four_replies = asyncio.Event()

    async def reply_of(n: int) -> None:
        replies[n] = await sockets[n].receive(timeout=30)
        if len(replies) >= 4:
            four_replies.set()

    waiting = {n: asyncio.ensure_future(reply_of(n)) for n in range(12)}
    await asyncio.wait_for(four_replies.wait(), timeout=10)
    refused = dict(replies)
    assert len(refused) >= 4, refused
    assert {f["code"] for f in refused.values()} == {"overloaded"}, refused
    assert all(1 <= f["retry_after"] <= 30 for f in refused.values())
    assert "busy" in next(iter(refused.values()))["message"]

    topics.GateTopic.opened.set()
    await asyncio.wait_for(asyncio.gather(*waiting.values()), timeout=30)
    answered_ok = {n for n, f in replies.items() if f["op"] == "ok"}
    assert len(answered_ok) + len(refused) == 12, replies
    assert answered_ok.isdisjoint(refused)

    # A refused subscription changed nothing: no events for it until the client comes back.
    n = next(iter(refused))
    ws = sockets[n]
    shout = await ws.call("act", topic=f"testing.gate.{n}", action="shout", data={"text": "before"})
    assert shout["op"] == "ok"
    await ws.assert_silent(0.3)
    again = await ws.call("sub", topic=f"testing.gate.{n}")
    assert again["op"] == "ok", again


async def test_a_full_database_pool_answers_overloaded_not_internal(communicator_for, learner):
    ws = await communicator_for(learner)
    topics.GateTopic.opened.set()
    reply = await ws.call("act", topic="testing.gate.1", action="pool_timeout", data={})
    assert reply["code"] == "overloaded", reply
    assert reply["retry_after"] >= 1


async def test_rate_limited_says_when_the_budget_allows_again(communicator_for, learner):
    ws = await communicator_for(learner)
    replies = []
    for n in range(40):
        await ws.send(json.dumps({"op": "sub", "ref": str(n), "topic": "testing.room.1"}))
    while len(replies) < 40:
        frame = await ws.receive(timeout=10)
        if frame["op"] != "event":
            replies.append(frame)
    limited = [f for f in replies if f.get("code") == "rate_limited"]
    assert limited
    assert all(0.1 <= f["retry_after"] <= 1 for f in limited), limited


def test_rest_answers_503_with_retry_after_when_the_pool_is_full():
    from django.db import OperationalError

    try:
        try:
            raise PoolTimeout("couldn't get a connection after 30.00 sec")
        except PoolTimeout as exc:
            raise OperationalError(str(exc)) from exc  # as Django wraps it
    except OperationalError as wrapped:
        response = exception_handler(wrapped, {})
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.data["error"]["code"] == "service_unavailable"


async def test_cancelled_work_frees_its_place(small_gate):
    from hub.realtime.gateway import on_database_thread

    gate = gate_module.admission()
    held = asyncio.ensure_future(on_database_thread(topics.GateTopic().authorize)(None, "1"))
    await sync_to_async(topics.GateTopic.holding.acquire)()
    queued = asyncio.ensure_future(on_database_thread(lambda: None, refusable=True)())
    await asyncio.sleep(0)
    queued.cancel()
    topics.GateTopic.opened.set()
    await held
    assert gate.queued == 0
