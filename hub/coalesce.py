"""One delayed job per key across every process, however often the key is asked for.

A chat message asks for its conversation's notification job and for the search catch-up;
at hundreds of messages a second, one job each per second does the work of them all. The
first process to ask marks the key in the cache (``cache.add``) with the time the job is
due and queues it; the job deletes the key as it starts, so a row committed after that
asks for the next one. A job covers every row committed before it starts, so until it is
due a process need not ask again: the one that queued it knows when, and another one reads
the due time once (one more round trip) and then skips the cache as well. The cost of a
message is then a dictionary look-up, not a Redis round trip (docs/PERFORMANCE.md, Chat).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from django.core.cache import cache

from hub.outages import is_outage, warn_once

# Share of the delay left as a margin for the clocks of the processes (another process's
# due time is read in wall-clock time) and for the job starting a little early.
MARGIN = 0.25
# Past this many keys, those whose job has started are forgotten (quiet conversations).
MAX_REMEMBERED = 10_000


class CoalescedJob:
    """The jobs of one kind: ``ask(key, ...)`` queues one unless one is already waiting."""

    def __init__(self, what: str) -> None:
        self.what = what  # for the warning when the cache is down
        # key -> monotonic time before which this kind's job for the key cannot start
        self.waiting_until: dict[Hashable, float] = {}

    def ask(
        self,
        key: Hashable,
        cache_key: str,
        *,
        delay: float,
        enqueue: Callable[[], None],
        timeout: float = 60.0,
    ) -> bool:
        """Make sure a job for ``key`` starts after now; True if this call queued it.

        ``timeout`` only matters if the job is lost (a worker down): the key expires and the
        next ask queues a new one.
        """
        now = time.monotonic()
        if self.waiting_until.get(key, 0.0) > now:
            return False
        due = time.time() + delay
        try:
            first = cache.add(cache_key, due, timeout=timeout)
            if not first and delay > 0:
                queued_due = cache.get(cache_key)
                if isinstance(queued_due, float):  # gone meanwhile (the job started): None
                    self._remember(key, now + (queued_due - time.time()) - delay * MARGIN)
        except Exception as exc:
            if not is_outage(exc):
                raise
            # The cache (Redis) is down: queue the job anyway. An extra run finds nothing
            # to do; a missing one would leave rows unprocessed.
            warn_once("redis", f"Redis is unreachable: {self.what} are queued without coalescing")
            first = True
        if not first:
            return False
        enqueue()
        if delay > 0:
            self._remember(key, now + delay * (1 - MARGIN))
        return True

    def forget(self) -> None:
        """Forget every waiting job (tests start from a clean process)."""
        self.waiting_until.clear()

    def _remember(self, key: Hashable, until: float) -> None:
        now = time.monotonic()
        if until <= now:
            return
        if len(self.waiting_until) > MAX_REMEMBERED:
            # A copy first: sends on other threads may add keys meanwhile.
            for known, when in list(self.waiting_until.items()):
                if when <= now:
                    self.waiting_until.pop(known, None)
        self.waiting_until[key] = until
