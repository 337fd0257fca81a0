"""A stopping server process tells its sockets to reconnect elsewhere (hub/shutdown.py).

The process-level part (SIGTERM, listeners closed, requests in flight finished, exit 0)
runs against real processes behind HAProxy in tests/services/test_load_balancer.py.
"""

from __future__ import annotations

import asyncio

import pytest

from hub import shutdown
from hub.realtime.writers import CLOSE_RESTARTING

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _not_draining(monkeypatch):
    """Each test starts with a process that is not stopping, and leaves it so."""
    monkeypatch.setattr(shutdown, "_draining", False)
    monkeypatch.setattr(shutdown, "_sockets", set())
    monkeypatch.setattr(shutdown, "_all_closed", None)


async def test_open_sockets_are_told_to_reconnect(communicator_for, learner, learner2):
    first = await communicator_for(learner)
    second = await communicator_for(learner2)
    assert (await first.call("ping"))["op"] == "ok"
    assert (await second.call("ping"))["op"] == "ok"

    drained = asyncio.create_task(shutdown.drain_sockets(5))
    for client in (first, second):
        closed = await client.ws.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": CLOSE_RESTARTING}
        await client.close()  # as a browser does on a close frame
    # The stop waited for both sockets to be gone, not for its deadline.
    assert await asyncio.wait_for(drained, 5) == 0


async def test_a_socket_arriving_while_stopping_is_sent_elsewhere(communicator_for, learner):
    await shutdown.drain_sockets(1)
    late = await communicator_for(learner)
    assert await late.ws.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": CLOSE_RESTARTING,
    }


async def test_a_frame_being_handled_finishes_before_the_close(
    communicator_for, learner, monkeypatch
):
    """The close waits for the frame in hand: its reply is written first."""
    from hub.realtime.gateway import Connection

    handle = Connection.handle

    async def slow_handle(self, text, data):
        # The stop arrives while this frame is being handled.
        await shutdown.drain_sockets(0)
        await handle(self, text, data)

    monkeypatch.setattr(Connection, "handle", slow_handle)
    client = await communicator_for(learner)
    await client.send({"op": "ping", "ref": "9"})
    assert (await client.receive())["ref"] == "9"
    assert await client.ws.receive_output(timeout=5) == {
        "type": "websocket.close",
        "code": CLOSE_RESTARTING,
    }
