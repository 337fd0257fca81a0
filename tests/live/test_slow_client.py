"""A client that stops reading is cut off, the server stays well, and nothing is lost.

Runs against a real daphne process (the writer path under daphne differs from the test
communicator's), with a small pending-output bound so a few events overflow it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from tests.live_server import (
    LiveServer,
    api,
    api_token,
    live_environment,
    running_server,
    wait_for,
)

PENDING_BOUND = 32 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_environment(tmp_path_factory.mktemp("live-slow"), label="slow") as live:
        env = {
            **live.env,
            "LYCEUM_WS_MAX_PENDING_BYTES": str(PENDING_BOUND),
            # The load generators' topic (bench/topics.py) floods the socket quickly.
            "LYCEUM_BENCH": "1",
            "LYCEUM_WS_ACT_BURST": "1000",
            "LYCEUM_WS_ACT_RATE": "1000",
        }
        with running_server(dataclasses.replace(live, env=env), name="slow") as running:
            yield running


def _space_id(server: LiveServer, token: str) -> int:
    status, me = api(server.url, "GET", "/api/v1/me/", token=token)
    assert status == 200
    return next(s["id"] for s in me["spaces"] if s["slug"] == "demo")


async def _connect(server: LiveServer, token: str, *, tiny_buffer: bool = False):
    sock = None
    if tiny_buffer:
        # A client whose kernel buffer is small and that reads nothing for a while.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
    return await websockets.connect(
        f"ws://127.0.0.1:{server.port}/ws/",
        additional_headers={"Authorization": f"Token {token}"},
        sock=sock,
        max_queue=1,
        max_size=2**22,
        open_timeout=10,
    )


async def _call(ws, ref: str, **frame) -> dict:
    await ws.send(json.dumps({"ref": ref, **frame}))
    while True:
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if reply.get("ref") == ref:
            return reply


def _announce(server: LiveServer, token: str, space: int, title: str) -> int:
    status, created = api(
        server.url, "POST", "/api/v1/announcements/", token=token,
        body={"title": title, "space": space},
    )  # fmt: skip
    assert status == 201, created
    return created["id"]


def test_slow_socket_is_closed_and_resumes_without_loss(server: LiveServer) -> None:
    learner = api_token(server.url, "learner")
    coordinator = api_token(server.url, "coordinator")
    space = _space_id(server, learner)
    news = f"hub.space.{space}"
    flood = "bench.ticker.slow"
    log = Path(server.log_path)

    async def scenario() -> None:
        slow = await _connect(server, learner, tiny_buffer=True)
        driver = await _connect(server, coordinator)
        for ref, topic in (("1", news), ("2", flood)):
            assert (await _call(slow, ref, op="sub", topic=topic, since=0))["op"] == "ok"
        already = []  # the demo data's own announcements, replayed by since=0
        posted = [await asyncio.to_thread(_announce, server, coordinator, space, "Before")]

        # ~60 KB a tick: the kernel's buffers (up to 4 MB on loopback) fill, then ours.
        payload = "x" * 60_000

        def cut_off() -> bool:
            return "cannot keep up" in log.read_text(errors="replace")

        for n in range(200):
            tick = {"n": n, "pad": payload}
            frame = {"op": "act", "ref": f"t{n}", "topic": flood, "action": "publish", "data": tick}
            await driver.send(json.dumps(frame))
            if n % 20 == 19 and await asyncio.to_thread(cut_off):
                break
        await asyncio.to_thread(
            wait_for, cut_off, timeout=30, what="the server to cut the slow socket"
        )
        posted.append(await asyncio.to_thread(_announce, server, coordinator, space, "After"))

        # The slow client reads what reached it: then the socket ends.
        seen: list[int] = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                frame = json.loads(await asyncio.wait_for(slow.recv(), 20))
                if frame.get("op") == "event" and frame["topic"] == news:
                    seen.append(frame["id"])
        # 4008 when the close frame got through; an aborted connection has no code.
        assert closed.value.rcvd is None or closed.value.rcvd.code == 4008
        already = [i for i in seen if i < posted[0]]
        seen = [i for i in seen if i >= posted[0]]
        assert posted[-1] not in seen

        # It reconnects and resumes from the last id it saw: nothing durable is lost.
        again = await _connect(server, learner)
        since = (seen or already or [0])[-1]
        await again.send(json.dumps({"op": "sub", "ref": "r", "topic": news, "since": since}))
        replayed: list[int] = []
        while True:
            frame = json.loads(await asyncio.wait_for(again.recv(), 10))
            if frame.get("op") == "event":
                replayed.append(frame["id"])
            elif frame.get("ref") == "r":
                break
        assert seen + replayed == posted
        # The server is fine: a fresh request and the other sockets still work.
        assert (await _call(driver, "p", op="ping"))["op"] == "ok"
        for ws in (again, driver):
            await ws.close()

    asyncio.run(scenario())
