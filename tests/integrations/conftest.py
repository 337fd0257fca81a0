"""A webhook receiver on 127.0.0.1 that verifies every message with the Standard Webhooks
library (not our code), and a course with an enrolled learner."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.classrooms.conftest import build_course


class Receiver:
    def __init__(self) -> None:
        self.secret: str | None = None
        self.received: list[dict[str, Any]] = []  # verified messages, with their headers
        self.rejected: list[str] = []
        self.plan: list[int | str] = []  # next answers: a status code, or "hang"
        self.hang_seconds = 3.0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    answer = receiver.plan.pop(0) if receiver.plan else 204
                if answer == "hang":
                    time.sleep(receiver.hang_seconds)
                    answer = 204
                try:
                    data = Webhook(receiver.secret).verify(body, headers)
                except WebhookVerificationError as exc:
                    receiver.rejected.append(str(exc))
                    self.send_response(400)
                    self.end_headers()
                    return
                if answer in (200, 201, 202, 204):
                    receiver.received.append({"headers": headers, "data": data})
                self.send_response(int(answer))
                self.end_headers()

        return Handler

    def types(self) -> list[str]:
        return [m["data"]["type"] for m in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def built(trainer, space, learner):
    return build_course(trainer=trainer, space=space, learners=[learner])


@pytest.fixture
def json_body():
    return lambda response: json.loads(response.content)
