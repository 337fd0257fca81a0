"""An oversized request body is refused at its headers, under the real server (daphne),
and none of it is kept in the server's memory."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live_server import LiveServer, live_environment, running_server

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with (
        live_environment(tmp_path_factory.mktemp("live-upload"), label="upload") as live,
        running_server(live, name="upload") as running,
    ):
        yield running


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def read_response(sock: socket.socket, timeout: float) -> bytes:
    """What the server answered, up to the end of its body (or of the connection)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        if rest or _:
            length = [
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            if length and len(rest) >= length[0]:
                break
    return data


def request_head(path: str, content_type: str, length: int | None) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_declared_100_mb_upload_is_refused_before_its_body(server: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        head = request_head(
            "/api/v1/conversations/1/attachments/", "multipart/form-data; boundary=x", 100 * MB
        )
        sock.sendall(head + b"--x\r\n" + b"a" * 1000)
        # Only the headers and 1 KB were sent: the answer comes now, not after 100 MB.
        answer = read_response(sock, timeout=10)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    body = answer.partition(b"\r\n\r\n")[2]
    assert json.loads(body)["error"]["code"] == "too_large"


def test_a_page_gets_a_page_and_chunked_bodies_are_counted(server: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request_head("/forums/", "application/x-www-form-urlencoded", None))
        chunk = b"a" * MB
        sent = 0
        answer = b""
        # 5 MB is the limit of a non-file body: the answer comes once it is passed.
        while sent < 8 * MB and not answer:
            try:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
            sock.settimeout(0.05)
            try:
                answer = sock.recv(65536)
            except TimeoutError:
                answer = b""
        answer += read_response(sock, timeout=5)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"text/html" in answer.partition(b"\r\n\r\n")[0]
    assert b"Too large" in answer


def test_the_refused_body_is_not_kept_in_memory(server: LiveServer) -> None:
    """A client that sends all 100 MB anyway (as most HTTP libraries do, without reading the
    early answer) costs the server no memory: the body is dropped as it arrives."""
    pid = server.process.pid
    before = rss_bytes(pid)
    peak = before
    payload = b"b" * MB
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            request_head("/api/v1/conversations/1/attachments/", "multipart/form-data", 100 * MB)
        )
        sent = 0
        try:
            while sent < 100 * MB:
                sock.sendall(payload)
                sent += len(payload)
                if sent % (10 * MB) == 0:
                    peak = max(peak, rss_bytes(pid))
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server closed its side once the linger time was over
        answer = read_response(sock, timeout=5)
    peak = max(peak, rss_bytes(pid))
    growth = peak - before
    print(f"server RSS before {before / MB:.1f} MB, peak {peak / MB:.1f} MB, sent {sent // MB} MB")
    if os.environ.get("LYCEUM_UPLOAD_REPORT"):
        Path(os.environ["LYCEUM_UPLOAD_REPORT"]).write_text(
            json.dumps({"before": before, "peak": peak, "sent": sent})
        )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert growth < 15 * MB, f"the server grew by {growth / MB:.1f} MB"


def test_an_upload_within_the_limit_reaches_django_without_copies(server: LiveServer) -> None:
    """Twisted used to parse a whole multipart body itself (for nothing: daphne does not use
    it) before the application saw it: a 40 MB upload grew the server by 440 MB."""
    pid = server.process.pid
    size = 20 * MB
    before = peak = rss_bytes(pid)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            request_head(
                "/api/v1/conversations/1/attachments/", "multipart/form-data; boundary=x", size
            )
        )
        for _ in range(size // MB):
            sock.sendall(b"c" * MB)
        sock.settimeout(0.2)
        answer = b""
        deadline = time.monotonic() + 30
        while b"\r\n\r\n" not in answer and time.monotonic() < deadline:
            peak = max(peak, rss_bytes(pid))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            answer += chunk
    peak = max(peak, rss_bytes(pid))
    print(f"within the limit: RSS before {before / MB:.1f} MB, peak {peak / MB:.1f} MB")
    # Django answered (no session: 401 in the API's format), not twisted's bare 400.
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert peak - before < 2 * size, f"the server grew by {(peak - before) / MB:.1f} MB"
