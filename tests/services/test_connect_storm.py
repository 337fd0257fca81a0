"""A connect storm against one server process (services mode).

At 9:00 a company opens the page; after a deploy every socket comes back at once. 1,000
sockets connect within a moment, each subscribes to the same conversation (presence
included), and every subscription must answer ``ok`` (before, most answered ``internal``
once Redis presence ran out of pooled connections) and every socket must then receive the
next message.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect

from tests.live_server import (
    LiveServer,
    api,
    api_token,
    live_environment,
    running_server,
)

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not settings.SERVICES_MODE,
        reason="services mode only: set DATABASE_URL (PostgreSQL) and REDIS_URL",
    ),
]

SOCKETS = 1_000
TIMEOUT = 90.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with (
        live_environment(tmp_path_factory.mktemp("live-storm"), label="storm") as live,
        running_server(live, name="storm") as server,
    ):
        yield server


async def subscribe(url: str, token: str, topic: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = await connect(
        url, additional_headers={"Authorization": f"Token {token}"}, open_timeout=TIMEOUT
    )
    await ws.send(json.dumps({"op": "sub", "ref": "1", "topic": topic}))
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("ref") == "1":
            return ws, frame


async def next_message(ws: ClientConnection, body: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("type") == "message.created" and frame["data"].get("body") == body:
            return frame


# Building the live database and connecting 1,000 sockets on a loaded two-core machine.
@pytest.mark.timeout(360)
async def test_a_thousand_sockets_connecting_at_once_all_subscribe(server: LiveServer) -> None:
    tokens = [
        await asyncio.to_thread(api_token, server.url, name) for name in ("learner", "learner2")
    ]
    status, conversations = await asyncio.to_thread(
        api, server.url, "GET", "/api/v1/conversations/", token=tokens[0]
    )
    assert status == 200, conversations
    group = next(c for c in conversations["results"] if c["title"] == "Study group")

    url = f"ws://127.0.0.1:{server.port}/ws/"
    sockets: list[ClientConnection] = []
    try:
        async with asyncio.timeout(TIMEOUT):
            results = await asyncio.gather(
                *(subscribe(url, tokens[n % 2], group["topic"]) for n in range(SOCKETS)),
                return_exceptions=True,
            )
        sockets = [r[0] for r in results if not isinstance(r, BaseException)]
        outcomes = Counter(
            r[1]["op"] if not isinstance(r, BaseException) else type(r).__name__ for r in results
        )
        assert outcomes == {"ok": SOCKETS}, (outcomes, server.log_tail(6000))

        body = f"Good morning {uuid.uuid4().hex[:6]}"
        status, sent = await asyncio.to_thread(
            api,
            server.url,
            "POST",
            f"/api/v1/conversations/{group['id']}/messages/",
            token=tokens[1],
            body={"body": body},
        )
        assert status == 201, sent
        async with asyncio.timeout(TIMEOUT):
            received = await asyncio.gather(*(next_message(ws, body) for ws in sockets))
        assert {frame["id"] for frame in received} == {sent["id"]}
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
