"""Three web processes behind a real HAProxy (ARCHITECTURE §5, README "Scaling out").

HAProxy runs with the deployment example kept in the repository (``deploy/haproxy.cfg``),
its three servers pointed at three ``manage.py serve`` processes sharing one PostgreSQL
database and one Redis prefix. Clients connect only to HAProxy. One process is killed with
SIGKILL in the middle of a chat fan-out: its clients reconnect through HAProxy, land on the
two others, resume the conversation with ``since`` and end up with every message exactly
once, in order. The sender, whose request may die with the process, sends again with the
same ``client_id`` and the message is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import skip_or_fail
from tests.live_server import (
    ROOT,
    LiveEnvironment,
    LiveServer,
    api,
    api_token,
    free_port,
    http_status,
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

HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
CLIENTS = 30
MESSAGES = 40
KILL_AFTER = 12  # messages sent before one process is killed
# Under the chat's per-sender limit (30 messages in 10 s, messaging.selectors.limits).
SEND_INTERVAL = 0.4
TIMEOUT = 60.0


@dataclass
class Balancer:
    url: str
    port: int
    backends: dict[str, LiveServer]


@contextlib.contextmanager
def running_haproxy(live: LiveEnvironment, servers: list[LiveServer]) -> Iterator[Balancer]:
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(binary):
        skip_or_fail("haproxy is not installed (apt-get install haproxy; .ci/run installs it)")
    port = free_port()
    env = dict(os.environ)
    env["LYCEUM_LB_BIND"] = f"127.0.0.1:{port}"
    for n, server in enumerate(servers, start=1):
        env[f"LYCEUM_WEB{n}"] = f"127.0.0.1:{server.port}"
    log_path = live.workdir / "haproxy.log"
    with log_path.open("wb") as log:
        # -db: stay in the foreground, so the test owns the process.
        process = subprocess.Popen(
            [binary, "-db", "-f", str(HAPROXY_CONFIG)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    balancer = Balancer(
        url=f"http://127.0.0.1:{port}",
        port=port,
        backends={f"web{n}": server for n, server in enumerate(servers, start=1)},
    )
    try:

        def up() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"haproxy exited:\n{log_path.read_text(errors='replace')}")
            return http_status(f"{balancer.url}/healthz") == 200

        wait_for(up, timeout=30, what="haproxy in front of three servers")
        yield balancer
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def balanced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Balancer]:
    workdir = tmp_path_factory.mktemp("live-lb")
    with live_environment(workdir, label="lb") as live, ExitStack() as stack:
        servers = [stack.enter_context(running_server(live, name=f"web{n}")) for n in (1, 2, 3)]
        yield stack.enter_context(running_haproxy(live, servers))


@dataclass
class ResumingClient:
    """A gateway client as the browser's ``realtime.js`` behaves: on a lost socket it
    reconnects after a jittered back-off and subscribes again with ``since``."""

    url: str
    token: str
    topic: str
    since: int
    seen: list[int] = field(default_factory=list)
    backends: list[str] = field(default_factory=list)
    reconnects: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(ConnectionClosed, InvalidStatus, OSError, TimeoutError):
                await self._session(stop)
            if stop.is_set():
                return
            self.reconnects += 1
            await asyncio.sleep(random.uniform(0.05, 0.4))

    async def _session(self, stop: asyncio.Event) -> None:
        async with connect(
            self.url,
            additional_headers={"Authorization": f"Token {self.token}"},
            open_timeout=10,
        ) as ws:
            self.backends.append(ws.response.headers.get("X-Lyceum-Backend", "?"))
            last = self.seen[-1] if self.seen else self.since
            await ws.send(json.dumps({"op": "sub", "ref": "s", "topic": self.topic, "since": last}))
            while not stop.is_set():
                try:
                    async with asyncio.timeout(0.5):
                        frame = json.loads(await ws.recv())
                except TimeoutError:
                    continue
                if frame.get("ref") == "s":
                    assert frame["op"] == "ok", frame
                    self.connected.set()
                elif frame.get("op") == "event" and frame.get("type") == "message.created":
                    self.seen.append(frame["id"])
                    if len(self.seen) >= MESSAGES:
                        self.complete.set()


def send_until_stored(base_url: str, token: str, conversation: int, body: str) -> int:
    """POST a chat message; a request lost with a dying process is sent again with the
    same ``client_id``, which the server de-duplicates."""
    client_id = str(uuid.uuid4())
    status, payload = None, None
    for _ in range(50):
        try:
            status, payload = api(
                base_url,
                "POST",
                f"/api/v1/conversations/{conversation}/messages/",
                token=token,
                body={"body": body, "client_id": client_id},
            )
        except (OSError, ValueError):  # reset, or HAProxy's 502 page for a dying process
            continue
        if status == 201:
            return payload["id"]
        if status == 429:  # the chat's per-sender rate: wait as a client would
            time.sleep(1)
    raise AssertionError(f"message {body!r} was never stored: {status} {payload}")


# Three servers and a seeded database to start under a loaded CI machine, then the run.
@pytest.mark.timeout(300)
async def test_a_killed_process_loses_no_message_for_its_clients(balanced: Balancer) -> None:
    base = balanced.url
    reader_token = await asyncio.to_thread(api_token, base, "learner")
    sender_token = await asyncio.to_thread(api_token, base, "learner2")
    status, conversations = await asyncio.to_thread(
        api, base, "GET", "/api/v1/conversations/", token=sender_token
    )
    assert status == 200, conversations
    group = next(c for c in conversations["results"] if c["title"] == "Study group")
    status, page = await asyncio.to_thread(
        api, base, "GET", f"/api/v1/conversations/{group['id']}/messages/", token=sender_token
    )
    assert status == 200, page
    baseline = max((m["id"] for m in page["results"]), default=0)

    stop = asyncio.Event()
    clients = [
        ResumingClient(
            url=f"ws://127.0.0.1:{balanced.port}/ws/",
            token=reader_token,
            topic=group["topic"],
            since=baseline,
        )
        for _ in range(CLIENTS)
    ]
    tasks = [asyncio.create_task(client.run(stop)) for client in clients]
    try:
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(*(client.connected.wait() for client in clients))
        spread = Counter(client.backends[0] for client in clients)
        # leastconn spreads the sockets over the three processes.
        assert set(spread) == {"web1", "web2", "web3"}, spread

        sent: list[int] = []
        victim = spread.most_common(1)[0][0]
        for n in range(MESSAGES):
            if n == KILL_AFTER:
                server = balanced.backends[victim]
                os.killpg(server.process.pid, signal.SIGKILL)  # a crash, not a shutdown
            body = f"fan-out {n} {uuid.uuid4().hex[:6]}"
            await asyncio.sleep(SEND_INTERVAL)
            sent.append(
                await asyncio.to_thread(send_until_stored, base, sender_token, group["id"], body)
            )

        expected = sorted(sent)
        assert len(set(sent)) == MESSAGES  # each message stored once

        # Waited for, then checked below with what each client saw.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TIMEOUT):
                await asyncio.gather(*(client.complete.wait() for client in clients))
    finally:
        stop.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes

    moved = [c for c in clients if c.backends[0] == victim]
    assert moved and all(c.reconnects >= 1 for c in moved)
    # The victim's clients resumed on the two others; nobody went back to the dead one.
    assert all(victim not in c.backends[1:] for c in clients)
    for client in clients:
        # Every message exactly once, in the order they were stored.
        assert client.seen == expected, (client.backends, client.seen, expected)
