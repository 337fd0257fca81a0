"""The ASGI guard of hub/bodylimit.py: a body over the limit is refused before it is read,
whatever the server (daphne's own layer is proven in tests/live/test_upload_limit.py)."""

from __future__ import annotations

import json
from typing import Any

from hub.bodylimit import BodyLimitMiddleware

MB = 1024 * 1024


def scope(path: str, content_type: bytes, length: int | None) -> dict[str, Any]:
    headers = [(b"content-type", content_type)]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http", "method": "POST", "path": path, "headers": headers}


async def run(app: Any, scope: dict[str, Any], chunks: list[bytes]) -> tuple[list, list[bytes]]:
    """Run ``app``; returns the messages it sent and the chunks it was never asked for."""
    pending = list(chunks)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent, pending


class Echo:
    """A stand-in for Django: reads the whole body, answers 200 with its length."""

    def __init__(self) -> None:
        self.called = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True
        size, more = 0, True
        while more:
            message = await receive()
            size += len(message["body"])
            more = message["more_body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})


async def test_a_declared_length_over_the_limit_is_refused_unread(settings) -> None:
    settings.LYCEUM_MAX_UPLOAD_BYTES = 50 * MB
    inner = Echo()
    app = BodyLimitMiddleware(inner)
    # The declared 100 MB is never sent here: nothing of the body may be asked for.
    sent, unread = await run(
        app, scope("/api/v1/conversations/1/attachments/", b"multipart/form-data", 100 * MB), [b"x"]
    )
    assert not inner.called and unread == [b"x"]
    assert sent[0]["status"] == 413
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"]["code"] == "too_large"


async def test_a_page_gets_a_page(settings) -> None:
    sent, _ = await run(
        BodyLimitMiddleware(Echo()),
        scope("/forums/", b"application/x-www-form-urlencoded", 6 * MB),
        [b"x"],
    )
    assert sent[0]["status"] == 413 and b"<h1>Too large</h1>" in sent[1]["body"]


async def test_a_body_without_a_length_is_counted_and_cut(settings) -> None:
    inner = Echo()
    chunks = [b"a" * MB] * 8
    sent, unread = await run(
        BodyLimitMiddleware(inner), scope("/api/v1/x/", b"application/json", None), chunks
    )
    # 5 MB for a body that is not a file upload: refused at the sixth megabyte.
    assert sent[0]["status"] == 413 and len(unread) == 2


async def test_a_body_within_the_limit_goes_through(settings) -> None:
    sent, _ = await run(
        BodyLimitMiddleware(Echo()),
        scope("/api/v1/x/", b"multipart/form-data; boundary=x", 3 * MB),
        [b"a" * MB] * 3,
    )
    assert sent[0]["status"] == 200 and sent[1]["body"] == str(3 * MB).encode()
