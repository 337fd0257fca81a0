"""Writing frames to one socket, with a bound on what may pile up for a slow client.

Under daphne the frame goes straight to the Twisted protocol: no task switch per socket,
the WebSocket frame itself is built once per event for all sockets (autobahn's prepared
messages), and an idle socket gets it with a single ``send`` (see bench/fanout and
docs/PERFORMANCE.md). Any other ASGI server (or the test communicator) gets a queue drained
by one writer task per socket. Either way, a socket whose unsent output passes the bound
is closed with ``CLOSE_TOO_SLOW`` instead of growing server memory; its client resumes
with ``since`` and loses nothing durable.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

try:
    from twisted.internet.tcp import Connection as _TCPConnection
except ImportError:  # no Twisted, so no daphne: DaphneWriter is never chosen

    class _TCPConnection:  # type: ignore[no-redef]
        pass


logger = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4008
CLOSE_UNAUTHENTICATED = 4401
# The channel layer (Redis) failed under this socket's subscriptions: live events may have
# been missed. The client reconnects and resumes with ``since`` (docs/REALTIME.md).
CLOSE_UNAVAILABLE = 4503
# This server process is stopping (a deploy, a rolling restart): reconnect now, with a
# little jitter, to another process and resume with ``since`` (hub/shutdown.py).
CLOSE_RESTARTING = 4012

Send = Callable[[dict[str, Any]], Awaitable[None]]


class OutgoingFrame:
    """One frame's text, encoded (and framed, under daphne) at most once for all sockets."""

    __slots__ = ("_bytes", "_prepared", "id", "text")

    def __init__(self, text: str, id: int | None = None) -> None:
        self.text = text
        self.id = id
        self._bytes: bytes | None = None
        self._prepared: Any = None

    @property
    def payload(self) -> bytes:
        if self._bytes is None:
            self._bytes = self.text.encode()
        return self._bytes

    def prepared(self, factory: Any) -> Any:
        if self._prepared is None:
            self._prepared = factory.prepareMessage(self.payload, isBinary=False)
        return self._prepared


def _limits() -> tuple[int, int]:
    conf = settings.LYCEUM_REALTIME
    return conf["MAX_PENDING_FRAMES"], conf["MAX_PENDING_BYTES"]


class SocketWriter:
    """Interface: ``write`` never blocks; ``closed`` turns true once the socket is gone."""

    closed: bool = False

    def write(self, frame: OutgoingFrame) -> None:
        raise NotImplementedError

    async def close(self, code: int) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self.closed = True


class QueueWriter(SocketWriter):
    """Generic ASGI: a deque drained by one task; ``await send`` may wait for the network."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.queue: collections.deque[OutgoingFrame] = collections.deque()
        self.queued_bytes = 0
        self.wakeup = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._drain())
        self.max_frames, self.max_bytes = _limits()

    def write(self, frame: OutgoingFrame) -> None:
        if self.closed:
            return
        self.queue.append(frame)
        self.queued_bytes += len(frame.text)
        if len(self.queue) > self.max_frames or self.queued_bytes > self.max_bytes:
            self._too_slow()
            return
        self.wakeup.set()

    def _too_slow(self) -> None:
        logger.warning("closing a socket that cannot keep up (%d frames queued)", len(self.queue))
        self.queue.clear()
        self.closed = True
        self.task.cancel()
        asyncio.get_running_loop().create_task(self._send_close(CLOSE_TOO_SLOW))

    async def _send_close(self, code: int) -> None:
        try:
            await self.send({"type": "websocket.close", "code": code})
        except Exception:
            logger.debug("close after too slow failed", exc_info=True)

    async def _drain(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            while self.queue:
                frame = self.queue.popleft()
                self.queued_bytes -= len(frame.text)
                await self.send({"type": "websocket.send", "text": frame.text})

    async def close(self, code: int) -> None:
        """An orderly close: what was written before it (a reply) is sent first."""
        self.stop()
        try:
            while self.queue:
                await self.send({"type": "websocket.send", "text": self.queue.popleft().text})
        except Exception:
            logger.debug("flush before close failed", exc_info=True)
        self.queue.clear()
        await self._send_close(code)

    def stop(self) -> None:
        self.closed = True
        self.task.cancel()


class DaphneWriter(SocketWriter):
    """Daphne: hand the (prepared) frame to the autobahn protocol synchronously."""

    def __init__(self, protocol: Any, server: Any) -> None:
        self.protocol = protocol
        self.server = server
        self.max_frames, self.max_bytes = _limits()

    def _connected(self) -> bool:
        state = self.server.connections.get(self.protocol)
        return state is not None and not state.get("disconnected")

    def pending_bytes(self) -> int:
        """Bytes written to the transport but not yet taken by the kernel."""
        transport = getattr(self.protocol, "transport", None)
        try:
            return (
                len(transport.dataBuffer) - transport.offset + transport._tempDataLen  # type: ignore[union-attr]
            )
        except AttributeError:
            return 0

    def write(self, frame: OutgoingFrame) -> None:
        if self.closed:
            return
        if not self._connected():
            self.closed = True
            return
        if self.pending_bytes() > self.max_bytes:
            logger.warning(
                "closing a socket that cannot keep up (%d bytes pending)", self.pending_bytes()
            )
            self.closed = True
            self.protocol.serverClose(code=CLOSE_TOO_SLOW)
            # A client that stopped reading will not complete the closing handshake either.
            self.protocol.dropConnection(abort=True)
            return
        prepared = frame.prepared(self.protocol.factory)
        if not self._send_direct(prepared):
            self.protocol.sendPreparedMessage(prepared)

    def _send_direct(self, prepared: Any) -> bool:
        """Put the ready-made frame bytes straight into the socket when nothing is queued.

        Twisted's ``transport.write`` always buffers and waits for the reactor to report
        the socket writable: two epoll changes, a loop turn and a ``send`` per socket per
        event. When the socket's output is idle (the usual case), one ``send`` does it, as
        asyncio transports do. Anything partial, queued or unusual takes the normal path.
        """
        protocol = self.protocol
        transport = getattr(protocol, "transport", None)
        if (
            not isinstance(transport, _TCPConnection)
            or getattr(transport, "TLS", False)
            or not transport.connected
            or transport.disconnecting
            or transport._writeDisconnected
            or transport._tempDataLen
            or len(transport.dataBuffer) - transport.offset
            or protocol.state != protocol.STATE_OPEN
            or protocol.send_queue
            or (protocol._perMessageCompress is not None and not prepared.doNotCompress)
        ):
            return False
        data = prepared.payloadHybi
        try:
            sent = transport.socket.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            return False  # let Twisted notice and report the lost connection
        if sent < len(data):
            transport.write(data[sent:])
        return True

    async def close(self, code: int) -> None:
        self.closed = True
        if self._connected():
            self.protocol.serverClose(code=code)


def _unwrap(send: Send) -> Send:
    """Look through middleware wrappers that pass ``websocket.send`` messages on untouched.

    ``AuthMiddlewareStack`` wraps ``send`` in channels' session wrapper, which only acts on
    ``http.response.start``; without looking through it, daphne's own ``send`` is hidden and
    every socket falls back to a queue and a task of its own.
    """
    for _ in range(8):
        wrapper = getattr(send, "__self__", None)
        inner = getattr(wrapper, "real_send", None)
        if (
            inner is None
            or getattr(send, "__name__", "") != "send"
            or type(wrapper).__name__ != "InstanceSessionWrapper"
            or any(t.startswith("websocket.") for t in getattr(wrapper, "save_message_types", ()))
        ):
            return send
        send = inner
    return send


def writer_for(send: Send) -> SocketWriter:
    """The fastest writer the server under us allows."""
    send = _unwrap(send)
    if isinstance(send, functools.partial) and getattr(send.func, "__name__", "") == "handle_reply":
        server = getattr(send.func, "__self__", None)
        protocol = send.args[0] if send.args else None
        if hasattr(protocol, "sendPreparedMessage") and hasattr(server, "connections"):
            return DaphneWriter(protocol, server)
    return QueueWriter(send)
