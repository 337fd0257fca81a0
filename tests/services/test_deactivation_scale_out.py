"""Deactivation reaches every process (issue 16): a person holds sockets on two server
processes; a third process (a management command) deactivates them; both sockets close with
4401 at once, through the Redis channel layer, and their API token stops working."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed

from tests.live_server import (
    LiveEnvironment,
    LiveServer,
    api,
    api_token,
    live_environment,
    running_server,
)
from tests.services.test_scale_out import EVENT_TIMEOUT, open_socket

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not settings.SERVICES_MODE,
        reason="services mode only: set DATABASE_URL (PostgreSQL) and REDIS_URL",
    ),
]

DEACTIVATE = (
    "from hub.accounts.models import User; from hub.accounts.lifecycle import user_deactivate; "
    "user_deactivate(actor=User.objects.get(username='admin'), "
    "user=User.objects.get(username='learner'))"
)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEnvironment]:
    with live_environment(tmp_path_factory.mktemp("live-deact"), label="deact") as live:
        yield live


@pytest.fixture(scope="module")
def servers(env: LiveEnvironment) -> Iterator[tuple[LiveServer, LiveServer]]:
    with ExitStack() as stack:
        yield (
            stack.enter_context(running_server(env, name="deact-a")),
            stack.enter_context(running_server(env, name="deact-b")),
        )


async def closed_with(socket) -> int | None:
    try:
        async with asyncio.timeout(EVENT_TIMEOUT):
            while True:
                await socket.ws.recv()
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None


async def test_deactivation_closes_sockets_on_every_process(env, servers) -> None:
    a, b = servers
    token = await asyncio.to_thread(api_token, a.url, "learner")
    other_token = await asyncio.to_thread(api_token, b.url, "learner2")
    manager_a, on_a = await open_socket(a, token)
    manager_b, on_b = await open_socket(b, token)
    manager_c, other = await open_socket(b, other_token)
    try:
        _, me = await asyncio.to_thread(api, a.url, "GET", "/api/v1/me/", token=token)
        for socket in (on_a, on_b):
            assert (await socket.call("sub", topic=f"hub.user.{me['id']}"))["op"] == "ok"
        assert (await other.call("ping"))["op"] == "ok"
        await asyncio.to_thread(env.manage, "shell", "-c", DEACTIVATE)
        assert await closed_with(on_a) == 4401
        assert await closed_with(on_b) == 4401
        assert (await other.call("ping"))["op"] == "ok"
        status, _ = await asyncio.to_thread(api, a.url, "GET", "/api/v1/me/", token=token)
        assert status in (401, 403)
    finally:
        for manager in (manager_a, manager_b, manager_c):
            await manager.__aexit__(None, None, None)
