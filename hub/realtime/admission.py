"""How much database work the gateway lets queue up in one process before it says "busy".

A crowd connecting at once (9:00, or every socket of a restarted process) turns into a queue
of subscriptions and actions waiting for the database thread pool. Left unbounded, that
queue answers its tail after the browser client has given up on the request (15 s), which
then holds a socket with no subscription; past a point it only grows memory. So each piece
of gateway work that reaches the database passes this gate:

- on entry, if ``MAX_QUEUED`` pieces already wait, it is refused at once;
- when a thread picks it up, if it waited more than ``MAX_QUEUE_WAIT`` seconds, it is not
  run at all (nothing changed) and refused;

either way the client gets an ``overloaded`` error frame with ``retry_after`` (seconds),
an estimate of how long the queue takes to drain, which the browser client honours with
jitter (``frontend/static/js/realtime.js``). Work that must happen whatever the load (a
socket leaving a topic's presence, the token look-up of a handshake) is counted but never
refused.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from django.conf import settings

from hub.realtime.errors import GatewayError

# The hint is clamped: at least a second (a client coming back at once only queues again),
# at most half a minute (the client's own back-off ceiling).
MIN_RETRY_AFTER = 1.0
MAX_RETRY_AFTER = 30.0
# Starts remembered to estimate how fast the queue drains.
RATE_WINDOW_SECONDS = 2.0


class Overloaded(GatewayError):
    """The process has more work queued than it can answer in time: retry later."""

    def __init__(self, retry_after: float) -> None:
        seconds = max(1, round(retry_after))
        super().__init__(
            "overloaded",
            f"the server is busy, try again in {seconds} s",
            retry_after=retry_after,
        )


class Ticket:
    """One piece of queued work; settled once, when it starts or is abandoned."""

    __slots__ = ("queued_at", "settled")

    def __init__(self) -> None:
        self.queued_at = time.monotonic()
        self.settled = False


class Admission:
    """The process's gate in front of the gateway's database work (thread-safe)."""

    def __init__(self, *, max_queued: int, max_wait: float) -> None:
        self.max_queued = max_queued
        self.max_wait = max_wait
        self.queued = 0
        self.refused = 0
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def enter(self, *, refusable: bool = True) -> Ticket:
        """Queue one piece of work; raise ``Overloaded`` if too much already waits."""
        with self._lock:
            if refusable and self.queued >= self.max_queued:
                self.refused += 1
                raise Overloaded(self._retry_after_locked())
            self.queued += 1
        return Ticket()

    def start(self, ticket: Ticket, *, refusable: bool = True) -> None:
        """A thread picked the work up: refuse it if it waited too long to be useful."""
        now = time.monotonic()
        with self._lock:
            if not ticket.settled:
                ticket.settled = True
                self.queued -= 1
            self._starts.append(now)
            while self._starts and now - self._starts[0] > RATE_WINDOW_SECONDS:
                self._starts.popleft()
            if refusable and now - ticket.queued_at > self.max_wait:
                self.refused += 1
                raise Overloaded(self._retry_after_locked())

    def abandon(self, ticket: Ticket) -> None:
        """The work's caller went away (cancelled): it no longer counts as queued."""
        with self._lock:
            if not ticket.settled:
                ticket.settled = True
                self.queued -= 1

    def retry_after(self) -> float:
        with self._lock:
            return self._retry_after_locked()

    def _retry_after_locked(self) -> float:
        # Time for the queue ahead to drain at the rate work has been starting lately.
        span = (self._starts[-1] - self._starts[0]) if len(self._starts) > 1 else 0.0
        rate = (len(self._starts) - 1) / span if span > 0 else 0.0
        estimate = self.queued / rate if rate > 0 else self.max_wait / 2
        return round(min(MAX_RETRY_AFTER, max(MIN_RETRY_AFTER, estimate)), 1)


_admission: Admission | None = None
_admission_lock = threading.Lock()


def admission() -> Admission:
    """This process's gate, configured from ``LYCEUM_REALTIME``."""
    global _admission
    if _admission is None:
        with _admission_lock:
            if _admission is None:
                conf = settings.LYCEUM_REALTIME
                _admission = Admission(
                    max_queued=conf["MAX_QUEUED"], max_wait=conf["MAX_QUEUE_WAIT"]
                )
    return _admission


def reset() -> None:
    """Forget the gate (tests that change its settings)."""
    global _admission
    _admission = None
