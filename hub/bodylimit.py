"""Request bodies larger than Lyceum accepts are refused before they are read.

Two layers, one rule (``limit_for``):

- ``BodyLimitMiddleware`` wraps the ASGI application (hub/asgi.py): a declared
  ``Content-Length`` over the limit is answered 413 before any of the body is received; a
  body without one (chunked) is counted as it arrives and refused once it passes the limit.
  This holds under any ASGI server that streams the body (uvicorn, hypercorn).
- daphne (``manage.py serve``) receives the whole body before the application sees the
  request, and then queues all of it in memory at once (a 100 MB upload grew the server by
  94 MB). ``BoundedRequest`` is daphne's request with the same rule applied as the bytes
  arrive: an oversized body is answered 413 at its headers, and what still comes is read
  and dropped, never stored (nginx's "lingering close"), for at most ``LINGER_SECONDS``.

Limits: multipart bodies (file uploads) ``LYCEUM_MAX_UPLOAD_BYTES`` (the largest file kind,
course media, plus the form); any other body Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

LINGER_SECONDS = 5.0


def limit_for(content_type: str | bytes) -> int:
    """The largest body accepted with this Content-Type."""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    if content_type.lower().lstrip().startswith("multipart/"):
        return int(settings.LYCEUM_MAX_UPLOAD_BYTES)
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def refusal(path: str, limit: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body of the 413: the API's JSON error format under /api/, a short page
    otherwise."""
    megabytes = f"{limit / 2**20:.0f}"
    message = f"This request is too large: at most {megabytes} MB is accepted."
    if path.startswith("/api/"):
        body = json.dumps({"error": {"code": "too_large", "message": message}}).encode()
        kind = b"application/json"
    else:
        body = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>Too large</title>"
            f"<h1>Too large</h1><p>{message}</p>"
            "<p>Go back and choose a smaller file.</p></html>"
        ).encode()
        kind = b"text/html; charset=utf-8"
    return [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"x-content-type-options", b"nosniff"),
    ], body


class _TooLarge(Exception):
    pass


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value
    return None


class BodyLimitMiddleware:
    """ASGI middleware: 413 for a body over ``limit_for`` its type, before reading it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(_header(scope, b"content-type") or b"")
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await self._refuse(scope, send, limit)
            return
        received = 0
        started = False

        async def bounded_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(scope, send, limit)

    @staticmethod
    async def _refuse(scope: dict[str, Any], send: Any, limit: int) -> None:
        headers, body = refusal(scope.get("path", ""), limit)
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# -- daphne ----------------------------------------------------------------------------------
def bounded_server_class() -> type:
    """daphne's ``Server`` whose connections use ``BoundedRequest`` (``manage.py serve``)."""
    from io import BytesIO

    from daphne.http_protocol import HTTPFactory, WebRequest
    from daphne.server import Server
    from twisted.internet import reactor
    from twisted.web import http

    class BoundedRequest(WebRequest):
        """daphne's request, refusing an oversized body as it arrives instead of storing it."""

        _refused = False
        _received = 0
        _limit = 0

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # Twisted parses a whole multipart body into ``args`` before daphne runs:
            # daphne never reads them, Django parses the body itself, and the copies made
            # a 40 MB upload cost the process 440 MB.
            self._parsePOSTFormSubmission = False

        def gotLength(self, length: int | None) -> None:
            super().gotLength(length)
            self._limit = limit_for(self.requestHeaders.getRawHeaders(b"content-type", [b""])[0])
            if length is not None and length > self._limit:
                self._refuse()

        def handleContentChunk(self, data: bytes) -> None:
            if self._refused:
                return  # dropped: an answered request's body is never stored
            self._received += len(data)
            if self._received > self._limit:
                self._refuse()
                return
            super().handleContentChunk(data)

        def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
            if self._refused:
                return  # answered already, when the body passed the limit
            super().requestReceived(command, path, version)

        def connectionLost(self, reason: Any) -> None:
            if self._refused:
                # Never handed to the application: nothing of daphne's to clean up.
                http.Request.connectionLost(self, reason)
                return
            super().connectionLost(reason)

        def _refuse(self) -> None:
            self._refused = True
            self.content.close()
            self.content = BytesIO()
            # No "100 Continue" (twisted would send it next): the client need not send on.
            self.requestHeaders.removeHeader(b"expect")
            path = (getattr(self.channel, "_path", None) or b"/").split(b"?", 1)[0]
            path = path.decode("latin-1")
            headers, body = refusal(path, self._limit)
            head = b"HTTP/1.1 413 Content Too Large\r\n" + b"".join(
                name + b": " + value + b"\r\n" for name, value in headers
            )
            transport = self.channel.transport
            transport.write(head + b"\r\n" + body)
            # Half-close: the client reads the answer and our end of the stream; what it
            # still sends is dropped above until it closes, or LINGER_SECONDS pass.
            if hasattr(transport, "loseWriteConnection"):
                transport.loseWriteConnection()
            reactor.callLater(LINGER_SECONDS, self._abort, transport)

        @staticmethod
        def _abort(transport: Any) -> None:
            if getattr(transport, "connected", False):
                transport.abortConnection()

    class BoundedHTTPFactory(HTTPFactory):
        def buildProtocol(self, addr: Any) -> Any:
            protocol = super().buildProtocol(addr)
            protocol.requestFactory = BoundedRequest
            return protocol

    class BoundedServer(Server):
        # daphne builds its HTTP factory inside run(); swap in ours as it is assigned.
        @property
        def http_factory(self) -> Any:
            return self._bounded_factory

        @http_factory.setter
        def http_factory(self, factory: Any) -> None:
            self._bounded_factory = (
                BoundedHTTPFactory(self) if type(factory) is HTTPFactory else factory
            )

    return BoundedServer
