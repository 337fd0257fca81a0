"""Shared fixtures: people, spaces, captured events, WebSocket clients, background jobs.

The suite runs in the embedded mode by default and against PostgreSQL + Redis when
DATABASE_URL and REDIS_URL are set (settings pick the mode from the environment).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from hub.accounts.models import Role
from tests.factories import SpaceFactory, TeamFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# Whitenoise warns on every request when STATIC_ROOT is missing (a fresh clone has no
# collectstatic); tests serve static files through the finders instead.
os.makedirs(settings.STATIC_ROOT, exist_ok=True)
SERVICES_MODE = settings.SERVICES_MODE


def skip_or_fail(reason: str) -> None:
    """A missing service or browser skips locally and fails in CI."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def _clear_cache() -> None:
    from django.core.cache import cache

    if settings.REDIS_URL:
        # Not FLUSHDB: live servers of the e2e tests keep their state in the same Redis.
        client = cache._cache.get_client(write=True)
        # The test process's own prefix only (the live servers use prefixes of their own).
        for key in client.scan_iter(match=f"{cache.key_prefix}:*"):
            client.delete(key)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the site's language: a request made in French by an earlier
    test leaves its language active on the thread (LocaleMiddleware does not reset it)."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached state never leak from one test to the next."""
    _clear_cache()
    yield
    _clear_cache()


# -- people and places ------------------------------------------------------------------------
@pytest.fixture
def space(db):
    return SpaceFactory(name="Test Space", slug="test-space")


@pytest.fixture
def learner(space):
    return UserFactory(username="learner1", roles=[Role.LEARNER], spaces=[space])


@pytest.fixture
def learner2(space):
    return UserFactory(username="learner2", roles=[Role.LEARNER], spaces=[space])


@pytest.fixture
def trainer(space):
    return UserFactory(username="trainer1", roles=[Role.TRAINER], spaces=[space])


@pytest.fixture
def coordinator(space):
    return UserFactory(username="coordinator1", roles=[Role.COORDINATOR], spaces=[space])


@pytest.fixture
def manager(space, learner, learner2):
    boss = UserFactory(username="manager1", roles=[Role.MANAGER], spaces=[space])
    TeamFactory(name="Team A", space=space, manager=boss, members=[learner, learner2])
    return boss


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider", roles=[Role.LEARNER], spaces=[SpaceFactory()])


@pytest.fixture
def api_client_for() -> Callable[[Any], APIClient]:
    """An API client authenticated with the user's token, as scripts and apps are."""

    def make(user: Any) -> APIClient:
        client = APIClient()
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make


# -- events --------------------------------------------------------------------------------
@dataclass
class Published:
    topic: str
    type: str
    data: dict[str, Any]
    id: int | None


@pytest.fixture
def commit() -> Callable[[], None]:
    """Run the on-commit callbacks registered so far, as a commit would.

    Tests run inside a transaction that never commits; services publish events and enqueue
    jobs on commit. Callbacks of rolled-back savepoints are already gone from the list.
    """
    from django.db import connection

    from hub.realtime.publishing import forget_publications

    done = len(connection.run_on_commit)
    # Events published by the set-up would have gone out when it committed; they must not
    # hold up the test's events of the same topic (publishing.CommitOrder) by never running.
    forget_publications(callback for _sids, callback, _robust in connection.run_on_commit)

    def run() -> None:
        nonlocal done
        while done < len(connection.run_on_commit):
            _savepoints, callback, _robust = connection.run_on_commit[done]
            done += 1
            callback()

    return run


@pytest.fixture
def published(monkeypatch, commit):
    """Record what services publish (after commit).

    ``published()`` lists every event, ``published("hub.user.4")`` those of one topic.
    """
    from hub.realtime import publishing as publish_module

    events: list[Published] = []

    def capture(frames: list[tuple[str, str, int | None]]) -> None:
        for topic, text, id in frames:
            frame = json.loads(text)
            events.append(Published(topic, frame["type"], frame["data"], id))

    monkeypatch.setattr(publish_module, "start_sends", capture)
    # Sends that do not go through a transaction's batch (send_to_layer: board pushes,
    # identity's progress events) take the single path.
    monkeypatch.setattr(
        publish_module, "start_send", lambda topic, text, id: capture([(topic, text, id)])
    )

    def select(topic: str | None = None) -> list[Published]:
        commit()
        return [e for e in events if topic is None or e.topic == topic]

    return select


# -- WebSocket clients ---------------------------------------------------------------------
class Client:
    """A WebSocket client of the gateway with request/response by ``ref``."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.ws = communicator
        self.ref = 0
        self.events: list[dict[str, Any]] = []

    async def send(self, frame: Any) -> None:
        await self.ws.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))

    async def receive(self, timeout: float = 5) -> dict[str, Any]:
        return json.loads(await self.ws.receive_from(timeout=timeout))

    async def call(self, op: str, timeout: float = 5, **fields: Any) -> dict[str, Any]:
        """Send a frame and wait for its reply; events seen meanwhile go to ``events``."""
        self.ref += 1
        ref = str(self.ref)
        await self.send({"op": op, "ref": ref, **fields})
        while True:
            frame = await self.receive(timeout)
            if frame.get("op") == "event":
                self.events.append(frame)
            elif frame.get("ref") == ref:
                return frame

    async def next_event(self, timeout: float = 5, **match: Any) -> dict[str, Any]:
        """The next event (already received, or arriving) whose fields match ``match``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for i, frame in enumerate(self.events):
                if all(frame.get(k) == v for k, v in match.items()):
                    return self.events.pop(i)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no event matching {match} within {timeout}s")
            frame = await self.receive(remaining)
            if frame.get("op") == "event":
                self.events.append(frame)

    async def assert_silent(self, within: float = 0.2) -> None:
        """Nothing more arrives (``receive_nothing`` waits out ``within`` by design)."""
        assert not self.events, self.events
        assert await self.ws.receive_nothing(timeout=within)

    async def close(self) -> None:
        await self.ws.disconnect()


@pytest.fixture
async def communicator_for():
    """``ws = await communicator_for(user)`` connects to /ws/ with the user's token."""
    from hub.asgi import application

    clients: list[Client] = []

    async def connect(user: Any = None, headers: list | None = None) -> Client:
        hdrs = list(headers or [])
        if user is not None:
            token, _ = await database_sync_to_async(Token.objects.get_or_create)(user=user)
            hdrs.append((b"authorization", f"Token {token.key}".encode()))
        communicator = WebsocketCommunicator(application, "/ws/", headers=hdrs)
        connected, _ = await communicator.connect()
        assert connected
        client = Client(communicator)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        with contextlib.suppress(Exception):
            await client.close()


# -- background jobs -----------------------------------------------------------------------
@pytest.fixture
def run_tasks(commit, monkeypatch) -> Callable[[], int]:
    """Run every queued background job with the real database worker; returns how many."""
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    # The worker recycles connections between jobs; here that would end the test's
    # transaction (the test database is never committed).
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)

    def run() -> int:
        commit()  # jobs are enqueued on commit
        before = DBTaskResult.objects.filter(status="SUCCESSFUL").count()
        Worker(
            queue_names=["*"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="pytest",
            excluded_queue_names=[],
        ).run()
        return DBTaskResult.objects.filter(status="SUCCESSFUL").count() - before

    return run


# --- Janus WebRTC Server (live classes on an SFU: classrooms/janus.py) -----------------------
@pytest.fixture(scope="session")
def janus_server(tmp_path_factory: pytest.TempPathFactory):
    """One Janus for the whole run, started with deploy/janus on free ports (~50 ms)."""
    from classrooms.janus_process import janus_missing, start_janus

    if reason := janus_missing():
        skip_or_fail(reason)
    janus = start_janus(tmp_path_factory.mktemp("janus"))
    yield janus
    janus.stop()


@pytest.fixture
def start_janus_server(tmp_path_factory: pytest.TempPathFactory):
    """Start more Janus processes for one test (placement, a server killed mid-class)."""
    from classrooms.janus_process import janus_missing, start_janus

    if reason := janus_missing():
        skip_or_fail(reason)
    started = []

    def start():
        janus = start_janus(tmp_path_factory.mktemp("janus"))
        started.append(janus)
        return janus

    yield start
    for janus in started:
        janus.stop()


# --- end of Janus ----------------------------------------------------------------------------


# Tests whose fixtures start real servers (a live environment: migrations and demo data, a
# `manage.py serve`, Janus, Ralph, an identity provider, a browser) build them in the set-up
# of the first test that needs them, once per worker. On a loaded machine that set-up alone
# can take longer than the suite's 120 s per phase, so these get 300 s; a hung test still
# fails, later.
SERVER_TEST_DIRS = frozenset({"e2e", "live", "services"})
SERVER_TEST_FILES = frozenset(
    {
        "test_media_relay.py",
        "test_media_janus.py",
        "test_liveclass_recording.py",
        "test_http_rush.py",
    }
)


# Fixtures that start a real server or browser: a file using one is long for its few tests.
SERVER_FIXTURES = frozenset(
    {"lyceum_server", "live_env", "browser", "login", "janus_server", "start_janus_server"}
)


def _runs_servers(item: pytest.Item) -> bool:
    parts = item.path.parts
    in_dir = "tests" in parts and parts[parts.index("tests") + 1] in SERVER_TEST_DIRS
    return in_dir or item.path.name in SERVER_TEST_FILES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _runs_servers(item) and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(300))
    _longest_files_first(items)


def _longest_files_first(items: list[pytest.Item]) -> None:
    """Order whole files so the longest come first (the tests of a file keep their order).

    `make test` hands out whole files (``--dist loadfile --no-loadscope-reorder``) in this
    order to whichever worker is free. Files that start servers or a browser take the
    longest for their few tests: given out last (xdist's own order, by test count), one of
    them kept a worker busy for minutes while the other had nothing left to do. Longest
    first, small files at the end even out the finish. The order of every worker's
    collection is the same, as xdist requires.
    """
    counts: dict[Any, int] = {}
    heavy: set[Any] = set()
    for item in items:
        counts[item.path] = counts.get(item.path, 0) + 1
        if _runs_servers(item) or SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            heavy.add(item.path)
    first_seen: dict[Any, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(item.path, index)
    items.sort(
        key=lambda item: (
            item.path not in heavy,
            -counts[item.path] if item.path not in heavy else 0,
            first_seen[item.path],
        )
    )
