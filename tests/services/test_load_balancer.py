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
import statistics
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hub.realtime.writers import CLOSE_RESTARTING
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
    start_server,
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
# Sockets of the fan-out; LYCEUM_LB_CLIENTS=1000 measures a restart under a real crowd
# (docs/PERFORMANCE.md), 30 keep the suite quick.
CLIENTS = int(os.environ.get("LYCEUM_LB_CLIENTS", 30))
MESSAGES = 40
KILL_AFTER = 12  # messages sent before one process is killed
# Before these messages, web1, web2 and web3 in turn are restarted.
RESTARTS = {8: "web1", 18: "web2", 28: "web3"}
# Under the chat's per-sender limit (30 messages in 10 s, messaging.selectors.limits).
SEND_INTERVAL = 0.4
# Waits for the crowd (connected, complete); LYCEUM_LB_TIMEOUT raises it on a loaded machine.
TIMEOUT = float(os.environ.get("LYCEUM_LB_TIMEOUT", 60))


@dataclass
class Balancer:
    url: str
    port: int
    backends: dict[str, LiveServer]
    live: LiveEnvironment


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
        live=live,
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
        balancer = stack.enter_context(running_haproxy(live, servers))
        yield balancer
        for server in balancer.backends.values():  # the processes a test started again
            server.stop()


@dataclass
class ResumingClient:
    """A gateway client as the browser's ``realtime.js`` behaves: on a lost socket it
    reconnects after a jittered back-off and subscribes again with ``since``."""

    url: str
    token: str
    topic: str
    since: int
    target: int = 0
    seen: list[int] = field(default_factory=list)
    backends: list[str] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)
    reconnects: int = 0
    overloaded: int = 0  # subscriptions answered `overloaded` (then sent again)
    # Times from a lost socket to a resumed subscription (seconds).
    gaps: list[float] = field(default_factory=list)
    # Where a gap went: the handshake through HAProxy, then the `sub` until its `ok`.
    handshakes: list[float] = field(default_factory=list)
    subscribes: list[float] = field(default_factory=list)
    _lost_at: float | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    complete: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            code = None
            try:
                await self._session(stop)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
            except (InvalidStatus, OSError, TimeoutError):
                pass
            if stop.is_set():
                return
            self.close_codes.append(code)
            self._lost_at = self._lost_at or time.monotonic()
            self.reconnects += 1
            # As realtime.js: a server going away for a restart (4012) is rejoined at once
            # with jitter; anything else after a back-off.
            await asyncio.sleep(random.uniform(0, 0.5 if code == CLOSE_RESTARTING else 0.4))

    async def _session(self, stop: asyncio.Event) -> None:
        dialled = time.monotonic()
        async with connect(
            self.url,
            additional_headers={"Authorization": f"Token {self.token}"},
            open_timeout=10,
        ) as ws:
            self.backends.append(ws.response.headers.get("X-Lyceum-Backend", "?"))
            asked = time.monotonic()
            if self._lost_at is not None:
                self.handshakes.append(asked - dialled)
            last = self.seen[-1] if self.seen else self.since
            await ws.send(json.dumps({"op": "sub", "ref": "s", "topic": self.topic, "since": last}))
            while not stop.is_set():
                try:
                    async with asyncio.timeout(0.5):
                        frame = json.loads(await ws.recv())
                except TimeoutError:
                    continue
                if frame.get("ref") == "s" and frame.get("code") == "overloaded":
                    # A crowd arriving at once may be told to come back: as realtime.js,
                    # after the hint, with jitter.
                    self.overloaded += 1
                    hint = frame["retry_after"]
                    await asyncio.sleep(random.uniform(hint, 2 * hint))
                    await ws.send(
                        json.dumps(
                            {
                                "op": "sub",
                                "ref": "s",
                                "topic": self.topic,
                                "since": self.seen[-1] if self.seen else last,
                            }
                        )
                    )
                elif frame.get("ref") == "s":
                    assert frame["op"] == "ok", frame
                    self.connected.set()
                    if self._lost_at is not None:
                        self.gaps.append(time.monotonic() - self._lost_at)
                        self.subscribes.append(time.monotonic() - asked)
                        self._lost_at = None
                elif frame.get("op") == "event" and frame.get("type") == "message.created":
                    self.seen.append(frame["id"])
                    if len(self.seen) >= self.target:
                        self.complete.set()


def send_until_stored(
    base_url: str, token: str, conversation: int, body: str, retries: Counter
) -> int:
    """POST a chat message; a request lost with a dying process is sent again with the
    same ``client_id``, which the server de-duplicates (``retries`` counts the resends)."""
    client_id = str(uuid.uuid4())
    status, payload = None, None
    for attempt in range(50):
        if attempt:
            retries["resent"] += 1
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


@dataclass
class FanOut:
    clients: list[ResumingClient]
    spread: Counter
    sent: list[int]
    retries: Counter


async def fan_out(
    balanced: Balancer, messages: int, during: Callable[[int, Counter], Awaitable[None]]
) -> FanOut:
    """CLIENTS resuming sockets on the demo study group, through HAProxy; ``messages``
    chat messages sent one by one, ``during(n, spread)`` awaited before message ``n``."""
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
            target=messages,
        )
        for _ in range(CLIENTS)
    ]
    retries: Counter = Counter()
    tasks = [asyncio.create_task(client.run(stop)) for client in clients]
    try:
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(*(client.connected.wait() for client in clients))
        spread = Counter(client.backends[0] for client in clients)
        # leastconn spreads the sockets over the three processes.
        assert set(spread) == {"web1", "web2", "web3"}, spread

        sent: list[int] = []
        for n in range(messages):
            await during(n, spread)
            body = f"fan-out {n} {uuid.uuid4().hex[:6]}"
            await asyncio.sleep(SEND_INTERVAL)
            sent.append(
                await asyncio.to_thread(
                    send_until_stored, base, sender_token, group["id"], body, retries
                )
            )
        assert len(set(sent)) == messages  # each message stored once

        # Waited for, then checked with what each client saw.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TIMEOUT):
                await asyncio.gather(*(client.complete.wait() for client in clients))
    finally:
        stop.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    for client in clients:
        # Every message exactly once, in the order they were stored.
        assert client.seen == sorted(sent), (client.backends, client.seen, sorted(sent))
    return FanOut(clients=clients, spread=spread, sent=sent, retries=retries)


# Three servers and a seeded database to start under a loaded CI machine, then the run.
@pytest.mark.timeout(max(300, 6 * TIMEOUT))
async def test_a_rolling_restart_loses_and_doubles_nothing(balanced: Balancer) -> None:
    """The three processes restarted one after the other (SIGTERM, then a new
    process on the same address) in the middle of a fan-out."""
    restarted: dict[str, float] = {}

    async def restart(n: int, spread: Counter) -> None:
        name = RESTARTS.get(n)
        if name is None:
            return
        old = balanced.backends[name]
        started = time.monotonic()
        os.killpg(old.process.pid, signal.SIGTERM)
        code = await asyncio.to_thread(old.process.wait, 30)
        restarted[name] = time.monotonic() - started
        assert code == 0, old.log_tail()
        balanced.backends[name] = await asyncio.to_thread(
            start_server, balanced.live, name=f"{name}-again", port=old.port
        )

    run = await fan_out(balanced, MESSAGES, restart)
    assert set(restarted) == {"web1", "web2", "web3"}
    # Stopping is quick: sockets told to go, nothing in flight left behind.
    assert all(seconds < 15 for seconds in restarted.values()), restarted
    for client in run.clients:
        if client.backends[0] in restarted:
            # Told to reconnect (not a dropped connection), and came back.
            assert CLOSE_RESTARTING in client.close_codes, client.close_codes
    # No request was lost with a stopping process: nothing had to be sent again.
    assert run.retries["resent"] == 0, run.retries
    gaps = sorted(gap for client in run.clients for gap in client.gaps)
    assert gaps, "no client lost its socket"

    def spread_of(values: list[float]) -> str:
        values = sorted(values)
        return (
            f"median {statistics.median(values):.2f} s, "
            f"p95 {values[int(0.95 * (len(values) - 1))]:.2f} s, longest {values[-1]:.2f} s"
        )

    handshakes = [t for client in run.clients for t in client.handshakes]
    subscribes = [t for client in run.clients for t in client.subscribes]
    print(
        f"rolling restart of {CLIENTS} sockets: stops took {restarted}; gaps from a lost "
        f"socket to its resumed subscription: {spread_of(gaps)}; of which the handshake "
        f"{spread_of(handshakes)}, the sub {spread_of(subscribes)}; "
        f"overloaded {sum(c.overloaded for c in run.clients)}, "
        f"reconnects {sum(c.reconnects for c in run.clients)}"
    )


@pytest.mark.timeout(300)
async def test_a_killed_process_loses_no_message_for_its_clients(balanced: Balancer) -> None:
    victim: list[str] = []

    async def crash(n: int, spread: Counter) -> None:
        if n == KILL_AFTER:
            victim.append(spread.most_common(1)[0][0])
            server = balanced.backends[victim[0]]
            os.killpg(server.process.pid, signal.SIGKILL)  # a crash, not a shutdown

    run = await fan_out(balanced, MESSAGES, crash)
    moved = [c for c in run.clients if c.backends[0] == victim[0]]
    assert moved and all(c.reconnects >= 1 for c in moved)
    # The victim's clients resumed on the two others; nobody went back to the dead one.
    assert all(victim[0] not in c.backends[1:] for c in run.clients)


async def test_the_sockets_of_one_live_class_share_a_process(balanced: Balancer) -> None:
    """The built-in media relay keeps a class's media in one process (classrooms/media.py):
    the live-class page asks for ``/ws/?affinity=liveclass-<id>``, and HAProxy hashes on it.
    Every other socket is balanced by connection count."""
    token = await asyncio.to_thread(api_token, balanced.url, "learner")
    base = f"ws://127.0.0.1:{balanced.port}/ws/"

    async def backend_of(url: str) -> str:
        async with connect(url, additional_headers={"Authorization": f"Token {token}"}) as ws:
            await ws.send(json.dumps({"op": "ping", "ref": "p"}))
            assert json.loads(await ws.recv())["op"] == "ok"
            return ws.response.headers.get("X-Lyceum-Backend", "?")

    for room in (7, 8, 9):
        landed = {await backend_of(f"{base}?affinity=liveclass-{room}") for _ in range(5)}
        assert len(landed) == 1, (room, landed)
    rooms = {await backend_of(f"{base}?affinity=liveclass-{room}") for room in range(40)}
    assert len(rooms) >= 2, rooms  # the classes themselves are spread over the processes
    assert await backend_of(base) in balanced.backends  # no affinity: the usual balance
