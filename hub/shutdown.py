"""A graceful stop of a server process (SIGTERM or Ctrl+C), for rolling restarts.

1. Stop accepting: the listening sockets close, so a load balancer sends new connections
   to the other processes (HAProxy retries a refused connection elsewhere).
2. Tell every WebSocket to reconnect: each is closed with ``CLOSE_RESTARTING`` once the
   frame it is handling is done; the browser client reconnects after a short random delay
   (to another process) and resumes every topic with ``since``, so nothing is lost. The
   sockets are told in waves (``DRAIN_RATE`` a second), not all at once: a crowd moved
   at once queues on the processes that take it (handshakes, every topic's ``sub``), and
   its last client waits for all the others, while a socket still waiting for its wave
   is served here as before.
3. Let HTTP requests in flight finish.
4. Exit. Whatever still runs after ``DRAIN_SECONDS`` is cancelled, as daphne does on a
   plain stop; a second signal stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import time
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# How long a stop waits for sockets and requests before cancelling what is left.
DRAIN_SECONDS = 20.0
# Sockets told to reconnect per second (LYCEUM_DRAIN_RATE, 0: all at once), and the
# longest the waves may take whatever the count (within DRAIN_SECONDS: the last wave's
# sockets still need the time to close). docs/PERFORMANCE.md, rolling restarts.
DRAIN_RATE = float(os.environ.get("LYCEUM_DRAIN_RATE", 100))
# deploy/haproxy.cfg marks a stopping process down (and cuts its tunnels) only after this.
DRAIN_SPREAD_SECONDS = 8.0
# Time between two waves.
DRAIN_WAVE_SECONDS = 0.1


class Drainable(Protocol):
    """A gateway connection: closes with the restart code after its current frame."""

    def close_for_restart(self) -> None: ...


_sockets: set[Drainable] = set()
_draining = False
_all_closed: asyncio.Event | None = None


def socket_opened(connection: Drainable) -> bool:
    """Count a gateway socket; False when the process is stopping (close it at once)."""
    if _draining:
        return False
    _sockets.add(connection)
    return True


def socket_closed(connection: Drainable) -> None:
    _sockets.discard(connection)
    if _draining and not _sockets and _all_closed is not None:
        _all_closed.set()


def is_draining() -> bool:
    return _draining


def drain_waves(count: int, seconds: float, rate: float) -> int:
    """In how many waves ``count`` sockets are told to go, a stop having ``seconds``."""
    if rate <= 0 or count <= 1:
        return 1
    spread = min(count / rate, DRAIN_SPREAD_SECONDS, seconds / 2)
    return max(1, math.ceil(spread / DRAIN_WAVE_SECONDS))


async def drain_sockets(seconds: float, rate: float | None = None) -> int:
    """Ask every socket to reconnect elsewhere, ``rate`` a second (default ``DRAIN_RATE``);
    wait (up to ``seconds`` in all) until all closed. Returns how many were still open at
    the deadline."""
    global _draining, _all_closed
    started = time.monotonic()
    _draining = True
    _all_closed = asyncio.Event()
    if not _sockets:
        return 0
    sockets = list(_sockets)
    waves = drain_waves(len(sockets), seconds, DRAIN_RATE if rate is None else rate)
    size = math.ceil(len(sockets) / waves)
    for n in range(0, len(sockets), size):
        if n:
            await asyncio.sleep(DRAIN_WAVE_SECONDS)
        for connection in sockets[n : n + size]:
            connection.close_for_restart()  # a socket already gone: nothing happens
    left = max(0.0, started + seconds - time.monotonic())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_all_closed.wait(), left)
    return len(_sockets)


def graceful_server_class(base: type) -> type:
    """daphne's ``Server`` (or a subclass) that stops as described above."""
    from twisted.internet import reactor

    class GracefulServer(base):  # type: ignore[misc, valid-type]
        _ports: list[Any]
        _stopping = False
        _stop_task: asyncio.Task | None = None

        def run(self) -> None:
            self._ports = []
            # Our own handlers: Twisted's would stop the reactor, which cancels every
            # application at once (daphne's kill_all_applications).
            self.signal_handlers = False
            reactor.callWhenRunning(self._install_signal_handlers)
            super().run()

        def listen_success(self, port: Any) -> None:
            self._ports.append(port)
            super().listen_success(port)

        def _install_signal_handlers(self) -> None:
            loop = asyncio.get_event_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self._on_signal)

        def _on_signal(self) -> None:
            if self._stopping:  # asked twice: stop now
                self.stop()
                return
            self._stopping = True
            self._stop_task = asyncio.ensure_future(self._graceful_stop())

        async def _graceful_stop(self) -> None:
            started = time.monotonic()
            for port in self._ports:
                port.stopListening()
            left = await drain_sockets(DRAIN_SECONDS)
            in_flight = self._applications_running()
            if in_flight:
                remaining = max(0.0, started + DRAIN_SECONDS - time.monotonic())
                _, pending = await asyncio.wait(in_flight, timeout=remaining)
                left += len(pending)
            logger.info(
                "stopped in %.1f s (%d still running at the deadline, cancelled)",
                time.monotonic() - started,
                left,
            )
            self.stop()

        def _applications_running(self) -> list[asyncio.Future]:
            """HTTP requests (and sockets) whose application has not finished."""
            return [
                details["application_instance"]
                for details in self.connections.values()
                if "application_instance" in details and not details["application_instance"].done()
            ]

    return GracefulServer
