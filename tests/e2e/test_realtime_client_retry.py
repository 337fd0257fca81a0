"""The browser client honours the server's ``retry_after`` (issue 14, item 1): a ``sub``
answered ``overloaded`` is sent again after the hint, with jitter, on the same socket; a
crowd refused together does not come back together.

The other side is a scripted WebSocket server, so the test controls what the client is told.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.sync.server import serve

REALTIME_JS = Path(__file__).resolve().parents[2] / "frontend/static/js/realtime.js"
pytestmark = pytest.mark.e2e


class ScriptedGateway:
    """Answers each socket's first ``sub`` with ``overloaded`` (retry after 0.5 s), then ok."""

    retry_after = 0.5

    def __init__(self) -> None:
        self.subs: list[tuple[int, float]] = []  # (socket number, time of the sub)
        self.lock = threading.Lock()
        self.sockets = 0

    def page(self, connection, request):
        """A blank page on the same origin, for the client to run in (Chromium refuses a
        socket to 127.0.0.1 from about:blank)."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        headers = Headers([("Content-Type", "text/html; charset=utf-8")])
        return Response(200, "OK", headers, b"<!doctype html><title>client</title>")

    def handler(self, websocket) -> None:
        with self.lock:
            self.sockets += 1
            number = self.sockets
        tries = 0
        for text in websocket:
            frame = json.loads(text)
            if frame.get("op") != "sub":
                continue
            with self.lock:
                self.subs.append((number, time.monotonic()))
            tries += 1
            if tries == 1:
                reply = {
                    "op": "error",
                    "ref": frame["ref"],
                    "code": "overloaded",
                    "message": "the server is busy, try again in 1 s",
                    "retry_after": self.retry_after,
                }
            else:
                reply = {"op": "ok", "ref": frame["ref"], "data": {"topic": frame["topic"]}}
            websocket.send(json.dumps(reply))


@pytest.fixture
def scripted_gateway() -> Iterator[tuple[ScriptedGateway, str]]:
    gateway = ScriptedGateway()
    with serve(gateway.handler, "127.0.0.1", 0, process_request=gateway.page) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        yield gateway, f"127.0.0.1:{port}"
        server.shutdown()


def test_an_overloaded_sub_is_retried_after_the_hint_with_jitter(browser, scripted_gateway):
    gateway, address = scripted_gateway
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"http://{address}/")
        page.add_script_tag(path=str(REALTIME_JS))
        clients = 8
        page.evaluate(
            """([url, clients]) => {
                window.resumed = 0;
                for (let i = 0; i < clients; i++) {
                    const rt = new Lyceum.Realtime(url);
                    rt.onStatus("resumed", () => { window.resumed += 1; });
                    rt.subscribe("testing.room." + i);
                }
            }""",
            [f"ws://{address}/ws/", clients],
        )
        page.wait_for_function(f"window.resumed === {clients}", timeout=10_000)
    finally:
        context.close()

    by_socket: dict[int, list[float]] = {}
    for number, at in gateway.subs:
        by_socket.setdefault(number, []).append(at)
    assert len(by_socket) == clients
    gaps = []
    for times in by_socket.values():
        assert len(times) == 2, times  # refused once, then subscribed: no storm of retries
        gaps.append(times[1] - times[0])
    hint = ScriptedGateway.retry_after
    # Never before the hint; spread over [hint, 2 x hint) (plus the round trip).
    assert min(gaps) >= hint * 0.95, gaps
    assert max(gaps) < hint * 2 + 0.5, gaps
    assert max(gaps) - min(gaps) > 0.05, gaps  # jittered, not all at the same instant
