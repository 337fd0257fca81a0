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


def test_a_crowd_is_told_in_waves_within_the_stop():
    # 333 sockets at 100 a second: 3.4 s in waves of 0.1 s; never past the cap, nor past
    # half of the stop's time (the last wave needs time to close); none when asked not to.
    assert shutdown.drain_waves(333, 20, 100) == 34
    assert shutdown.drain_waves(5000, 20, 100) == shutdown.DRAIN_SPREAD_SECONDS / 0.1
    assert shutdown.drain_waves(1000, 4, 100) == 20
    assert shutdown.drain_waves(1000, 20, 0) == 1
    assert shutdown.drain_waves(1000, 0, 100) == 1
    assert shutdown.drain_waves(1, 20, 100) == 1


class _Socket:
    """A gateway connection as the drain sees it: it closes soon after it is told."""

    def __init__(self) -> None:
        self.told_at: float | None = None

    def close_for_restart(self) -> None:
        loop = asyncio.get_running_loop()
        self.told_at = loop.time()
        loop.call_later(0.01, shutdown.socket_closed, self)


async def test_sockets_are_told_in_waves_and_the_stop_waits_for_the_last():
    """A crowd is not sent to the other processes all at once (each waits for the others'
    handshakes there); the sockets not yet told are still open and served meanwhile."""
    sockets = [_Socket() for _ in range(40)]
    for socket in sockets:
        assert shutdown.socket_opened(socket)
    started = asyncio.get_running_loop().time()
    left = await shutdown.drain_sockets(5, rate=100)  # 0.4 s: four waves of ten
    assert left == 0
    told = sorted(socket.told_at - started for socket in sockets)
    assert told[0] < 0.05  # the first wave at once
    assert told[-1] >= 0.25  # the last after the others
    assert len({round(t, 2) for t in told}) >= 3
    assert not shutdown.socket_opened(_Socket())  # none accepted while stopping
