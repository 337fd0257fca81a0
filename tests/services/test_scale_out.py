"""The scale-out path (ARCHITECTURE §5): several processes, one PostgreSQL, one Redis.

Two ``manage.py serve`` processes on two ports share a scratch PostgreSQL database and a
Redis key prefix. What one process publishes reaches sockets held by the other, through the
Redis pub/sub channel layer; people connected through either process appear in one presence
list (a chat conversation's topic), and two bare processes driving the application's
``RedisPresence`` show that a dead process's entries expire.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect

from tests.live_server import (
    ROOT,
    LiveEnvironment,
    LiveServer,
    api,
    api_token,
    live_environment,
    running_server,
    wait_for,
)

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not settings.SERVICES_MODE,
        reason="services mode only: set DATABASE_URL (PostgreSQL) and REDIS_URL",
    ),
]

EVENT_TIMEOUT = 15.0


@pytest.fixture(scope="module")
def scale_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEnvironment]:
    with live_environment(tmp_path_factory.mktemp("live-scale"), label="scale") as live:
        yield live


@pytest.fixture(scope="module")
def two_servers(scale_env: LiveEnvironment) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Servers A and B: two daphne processes on two ports, same database and Redis."""
    with ExitStack() as stack:
        a = stack.enter_context(running_server(scale_env, name="server-a"))
        b = stack.enter_context(running_server(scale_env, name="server-b"))
        assert a.process.pid != b.process.pid and a.port != b.port
        yield a, b


class Socket:
    """A gateway client over a real WebSocket: replies by ``ref``, events kept aside."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ref = 0
        self.events: list[dict[str, Any]] = []

    async def _next_frame(self) -> dict[str, Any]:
        frame = json.loads(await self.ws.recv())
        if frame.get("op") == "event":
            self.events.append(frame)
        return frame

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        self.ref += 1
        ref = str(self.ref)
        await self.ws.send(json.dumps({"op": op, "ref": ref, **fields}))
        async with asyncio.timeout(EVENT_TIMEOUT):
            while True:
                frame = await self._next_frame()
                if frame.get("ref") == ref:
                    return frame

    async def event(self, topic: str, type: str, **data: Any) -> dict[str, Any]:
        """The event of ``topic`` and ``type`` whose data has the given fields."""

        def find() -> dict[str, Any] | None:
            for frame in self.events:
                if (
                    frame["topic"] == topic
                    and frame["type"] == type
                    and all(frame["data"].get(k) == v for k, v in data.items())
                ):
                    return frame
            return None

        async with asyncio.timeout(EVENT_TIMEOUT):
            while (found := find()) is None:
                await self._next_frame()
        return found


async def open_socket(server: LiveServer, token: str) -> tuple[Any, Socket]:
    manager = connect(
        f"ws://127.0.0.1:{server.port}/ws/",
        additional_headers={"Authorization": f"Token {token}"},
        open_timeout=EVENT_TIMEOUT,
    )
    ws = await manager.__aenter__()
    return manager, Socket(ws)


async def test_event_published_through_b_reaches_a_client_on_a(
    two_servers: tuple[LiveServer, LiveServer],
) -> None:
    a, b = two_servers
    learner_token = await asyncio.to_thread(api_token, a.url, "learner")
    learner2_token = await asyncio.to_thread(api_token, b.url, "learner2")
    coordinator_token = await asyncio.to_thread(api_token, b.url, "coordinator")
    _, me = await asyncio.to_thread(api, a.url, "GET", "/api/v1/me/", token=learner_token)
    _, me2 = await asyncio.to_thread(api, b.url, "GET", "/api/v1/me/", token=learner2_token)
    space_id = next(s["id"] for s in me["spaces"] if s["slug"] == "demo")

    manager_a, on_a = await open_socket(a, learner_token)  # the learner, held by A
    manager_b, on_b = await open_socket(b, learner2_token)  # learner2, held by B
    try:
        user_topic = f"hub.user.{me['id']}"
        user2_topic = f"hub.user.{me2['id']}"
        space_topic = f"hub.space.{space_id}"
        for socket, topics in ((on_a, (user_topic, space_topic)), (on_b, (user2_topic,))):
            for topic in topics:
                reply = await socket.call("sub", topic=topic)
                assert reply["op"] == "ok", reply
                assert reply["data"]["topic"] == topic
        # Subscribed without ``since``: nothing is replayed, only what happens from now on.
        assert on_a.events == [] and on_b.events == []

        title = f"Scale-out {uuid.uuid4().hex[:8]}"
        status, posted = await asyncio.to_thread(
            api,
            b.url,
            "POST",
            "/api/v1/announcements/",
            token=coordinator_token,
            body={"title": title, "body": "Through server B.", "space": space_id},
        )
        assert status == 201, posted

        # Published by process B, delivered by process A (and locally by B).
        note = await on_a.event(user_topic, "notification.created", verb=title)
        assert isinstance(note["id"], int)
        news = await on_a.event(space_topic, "announcement.created", title=title)
        assert news["id"] == posted["id"]
        await on_b.event(user2_topic, "notification.created", verb=title)

        # And back: posted through A, seen on A and by the socket B holds.
        other = f"Scale-back {uuid.uuid4().hex[:8]}"
        status, _ = await asyncio.to_thread(
            api,
            a.url,
            "POST",
            "/api/v1/announcements/",
            token=coordinator_token,
            body={"title": other, "space": space_id},
        )
        assert status == 201
        await on_b.event(user2_topic, "notification.created", verb=other)
        await on_a.event(user_topic, "notification.created", verb=other)
        # Each durable event reached the socket once, not once per process.
        ids = [f["id"] for f in on_a.events if f["topic"] == user_topic]
        assert len(ids) == len(set(ids)) == 2
    finally:
        await manager_a.__aexit__(None, None, None)
        await manager_b.__aexit__(None, None, None)


async def test_a_reconnecting_client_resumes_on_the_other_server(
    two_servers: tuple[LiveServer, LiveServer],
) -> None:
    """A client that lost A resumes on B with ``since`` and misses nothing."""
    a, b = two_servers
    token = await asyncio.to_thread(api_token, a.url, "learner")
    coordinator_token = await asyncio.to_thread(api_token, a.url, "coordinator")
    _, me = await asyncio.to_thread(api, a.url, "GET", "/api/v1/me/", token=token)
    space_id = next(s["id"] for s in me["spaces"] if s["slug"] == "demo")
    topic = f"hub.user.{me['id']}"

    manager, on_a = await open_socket(a, token)
    try:
        assert (await on_a.call("sub", topic=topic))["op"] == "ok"
        first = f"Before the move {uuid.uuid4().hex[:8]}"
        post = {"title": first, "space": space_id}
        status, _ = await asyncio.to_thread(
            api, a.url, "POST", "/api/v1/announcements/", token=coordinator_token, body=post
        )
        assert status == 201
        last_seen = (await on_a.event(topic, "notification.created", verb=first))["id"]
    finally:
        await manager.__aexit__(None, None, None)

    missed = f"While away {uuid.uuid4().hex[:8]}"
    status, _ = await asyncio.to_thread(
        api,
        a.url,
        "POST",
        "/api/v1/announcements/",
        token=coordinator_token,
        body={"title": missed, "space": space_id},
    )
    assert status == 201

    manager, on_b = await open_socket(b, token)
    try:
        reply = await on_b.call("sub", topic=topic, since=last_seen)
        assert reply["op"] == "ok" and reply["data"]["truncated"] is False
        replayed = await on_b.event(topic, "notification.created", verb=missed)
        assert replayed["id"] > last_seen
        assert all(f["data"]["verb"] != first for f in on_b.events)
    finally:
        await manager.__aexit__(None, None, None)


async def test_presence_crosses_processes_through_the_gateway(
    two_servers: tuple[LiveServer, LiveServer],
) -> None:
    """learner (on A) and learner2 (on B) in the demo study group see each other."""
    a, b = two_servers
    token = await asyncio.to_thread(api_token, a.url, "learner")
    token2 = await asyncio.to_thread(api_token, b.url, "learner2")
    _, me = await asyncio.to_thread(api, a.url, "GET", "/api/v1/me/", token=token)
    _, me2 = await asyncio.to_thread(api, b.url, "GET", "/api/v1/me/", token=token2)
    status, conversations = await asyncio.to_thread(
        api, a.url, "GET", "/api/v1/conversations/", token=token
    )
    assert status == 200, conversations
    group = next(c for c in conversations["results"] if c["title"] == "Study group")
    topic = group["topic"]

    manager_a, on_a = await open_socket(a, token)
    try:
        reply = await on_a.call("sub", topic=topic)
        assert reply["op"] == "ok", reply
        assert me["id"] in [p["id"] for p in reply["data"]["present"]]

        manager_b, on_b = await open_socket(b, token2)
        try:
            reply = await on_b.call("sub", topic=topic)
            assert reply["op"] == "ok", reply
            # B's list includes the learner, whose socket only A holds.
            assert {me["id"], me2["id"]} <= {p["id"] for p in reply["data"]["present"]}
            joined = await on_a.event(topic, "presence.joined", id=me2["id"])
            assert "id" not in joined  # ephemeral: no event id, never replayed
        finally:
            await manager_b.__aexit__(None, None, None)
        # learner2's socket closed on B: A's client hears that they left.
        await on_a.event(topic, "presence.left", id=me2["id"])
    finally:
        await manager_a.__aexit__(None, None, None)


# -- presence across processes ------------------------------------------------------------
PRESENCE_TTL = 2  # seconds: short, so a dead process's entries expire quickly


class Probe:
    """One OS process with its own ``RedisPresence`` (see ``presence_probe.py``)."""

    def __init__(self, live: LiveEnvironment, log: Path) -> None:
        self.log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.services.presence_probe", str(PRESENCE_TTL)],
            cwd=ROOT,
            env=live.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            start_new_session=True,
        )
        hello = self._read()
        assert hello["ready"] and hello["prefix"] == live.env["LYCEUM_REDIS_PREFIX"], hello

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"presence probe exited: {self.process.wait()}")
        return json.loads(line)

    def __call__(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def present(self, topic: str) -> list[int]:
        return [p["id"] for p in self("present", topic=topic)["present"]]

    def kill(self) -> None:
        """Die without leaving, as a crashed server would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.close()


def test_presence_is_shared_between_processes(scale_env: LiveEnvironment) -> None:
    topic = f"classrooms.liveclass.{uuid.uuid4().hex[:8]}"
    probes = [Probe(scale_env, scale_env.workdir / f"probe-{n}.log") for n in "ab"]
    a, b = probes
    try:
        assert a("join", topic=topic, user=7, conn="a1", payload={"id": 7, "name": "Leo"}) == {
            "first": True
        }
        assert b.present(topic) == [7]
        # Same user on the other process: not a new arrival.
        assert b("join", topic=topic, user=7, conn="b1", payload={"id": 7, "name": "Leo"}) == {
            "first": False
        }
        assert b("join", topic=topic, user=8, conn="b2", payload={"id": 8, "name": "Lina"}) == {
            "first": True
        }
        assert a.present(topic) == [7, 8]
        # User 7 leaves A but is still connected through B.
        assert a("leave", topic=topic, user=7, conn="a1") == {"last": False}
        assert a.present(topic) == [7, 8]
        assert b("leave", topic=topic, user=7, conn="b1") == {"last": True}
        assert a.present(topic) == [8]

        # A process that dies stops refreshing: its people vanish after the TTL, while the
        # entries of the living process (older than one TTL by then) are kept fresh.
        assert a("join", topic=topic, user=9, conn="a2", payload={"id": 9, "name": "Ada"})["first"]
        assert b.present(topic) == [8, 9]
        a.kill()
        wait_for(
            lambda: b.present(topic) == [8],
            timeout=PRESENCE_TTL * 10,
            what="presence of a dead process expiring",
        )
        assert b.present(topic) == [8]
    finally:
        for probe in probes:
            probe.kill()
