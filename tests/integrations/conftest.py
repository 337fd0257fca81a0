"""A webhook receiver on 127.0.0.1 that verifies every message with the Standard Webhooks
library (not our code), and a course with an enrolled learner."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.classrooms.conftest import build_course
from tests.conftest import skip_or_fail

RALPH = Path(__file__).resolve().parents[2] / ".venv-ralph" / "bin" / "ralph"
RALPH_USER, RALPH_PASSWORD = "lyceum", "ralph-test-password"


class Receiver:
    def __init__(self) -> None:
        self.secret: str | None = None
        self.received: list[dict[str, Any]] = []  # verified messages, with their headers
        self.rejected: list[str] = []
        self.plan: list[int | str] = []  # next answers: a status code, or "hang"
        self.hang_seconds = 3.0
        self.hits = 0
        self.hosts: list[str] = []  # the Host header of each request
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
                    receiver.hits += 1
                receiver.hosts.append(headers.get("host", ""))
                if answer == "hang":
                    time.sleep(receiver.hang_seconds)
                    answer = 204
                if answer == "redirect":  # to itself: a client that follows would hit twice
                    self.send_response(307)
                    self.send_header("location", receiver.url)
                    self.end_headers()
                    return
                if isinstance(answer, int) and answer >= 500 and receiver.secret is None:
                    self.send_response(answer)  # not a webhook receiver: a failing LRS
                    self.end_headers()
                    return
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
def receiver(settings) -> Iterator[Receiver]:
    # The receiver listens on 127.0.0.1, which subscriptions may not reach by default.
    settings.INTEGRATIONS_ALLOW_PRIVATE_NETWORKS = True
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def built(trainer, space, learner):
    return build_course(trainer=trainer, space=space, learners=[learner])


@pytest.fixture
def json_body():
    return lambda response: json.loads(response.content)


def _die_with_parent() -> None:
    """Ralph ends with the test run even when it is killed (Linux: PR_SET_PDEATHSIG)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


class Ralph:
    """Ralph (ralph-malph, a learning record store none of us wrote) on 127.0.0.1, with its
    file backend, started and stopped by the tests."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/xAPI/"
        self.env = {
            **os.environ,
            "RALPH_APP_DIR": str(root / "app"),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.data),
        }
        self.proc: subprocess.Popen | None = None
        subprocess.run(
            [str(RALPH), "auth", "-u", RALPH_USER, "-p", RALPH_PASSWORD, "-s", "all",
             "-A", RALPH_USER, "http://lyceum.test", "-w"],
            env=self.env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def start(self) -> None:
        self.log = open(self.root / "ralph.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(RALPH.parent / "python"), str(Path(__file__).with_name("ralph_serve.py")),
             "127.0.0.1", str(self.port)],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.root / "ralph.log").read_text()[-2000:])
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/__heartbeat__", timeout=2).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("Ralph did not start within 90 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    def statements(self) -> list[dict[str, Any]]:
        """Everything Ralph stored (its file backend's JSON lines)."""
        out: list[dict[str, Any]] = []
        for path in self.data.glob("*.jsonl"):
            out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return out

    def query(self, **params: Any) -> dict[str, Any]:
        response = httpx.get(
            self.url + "statements",
            params=params,
            auth=(RALPH_USER, RALPH_PASSWORD),
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def ralph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ralph]:
    if not RALPH.exists():
        skip_or_fail(f"{RALPH} is missing: run `make ralph`")
    server = Ralph(tmp_path_factory.mktemp("ralph"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def lrs(ralph, space, db):
    """Ralph as the space's learning record store, emptied first."""
    from integrations.models import LearningRecordStore

    if ralph.proc is None:
        ralph.start()
    for path in ralph.data.glob("*.jsonl"):
        path.unlink()
    return LearningRecordStore.objects.create(
        space=space,
        name="Ralph",
        endpoint=ralph.url,
        username=RALPH_USER,
        password=RALPH_PASSWORD,
    )
