"""When a dependency is down (Redis: cache, throttles, channel layer, ranks, presence).

One place that recognises such a failure, says so in the log once per outage rather than
once per request, and gives REST the answer it sends: ``503`` with the code
``service_unavailable`` (docs/OPERATIONS.md, "When Redis is down").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from psycopg_pool import PoolTimeout
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import status
from rest_framework.exceptions import APIException

logger = logging.getLogger("lyceum.outages")

# What a client library raises when its server cannot be reached or does not answer.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError)

# Seconds between two warnings about the same dependency.
WARN_EVERY = 60.0

_warned: dict[str, float] = {}
_lock = threading.Lock()


def _caused_by(exc: BaseException, matches: Callable[[BaseException], bool]) -> bool:
    """Does ``exc``, or an exception it was raised from, match?"""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if matches(current):
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def _is_full_pool(exc: BaseException) -> bool:
    if isinstance(exc, PoolTimeout):
        return True
    # redis-py's BlockingConnectionPool, after waiting its timeout for a free connection.
    return isinstance(exc, RedisConnectionError) and str(exc) == "No connection available."


def is_overload(exc: BaseException) -> bool:
    """Is ``exc`` a connection pool that stayed full (busy, not broken)? The database pool
    or the Redis pool had nothing to lend within its timeout: the answer is "try again
    shortly" (``overloaded`` on the gateway, 503 with ``Retry-After`` on REST)."""
    return _caused_by(exc, _is_full_pool)


def is_outage(exc: BaseException) -> bool:
    """Is ``exc`` (or what caused it) a dependency that cannot be reached?"""
    return _caused_by(exc, lambda current: isinstance(current, OUTAGE_ERRORS))


def warn_once(what: str, message: str, *args: object) -> None:
    """Log ``message`` as a warning, at most once per ``WARN_EVERY`` seconds for ``what``:
    an outage is one event for the operator, not one traceback per request."""
    now = time.monotonic()
    with _lock:
        last = _warned.get(what)
        if last is not None and now - last < WARN_EVERY:
            return
        _warned[what] = now
    logger.warning(message, *args)


def recovered(what: str) -> None:
    """``what`` works again: say so once, and warn at once if it fails again."""
    with _lock:
        was_down = _warned.pop(what, None) is not None
    if was_down:
        logger.info("%s is reachable again", what)


class ServiceUnavailable(APIException):
    """REST's answer when a dependency it needs is down: 503, ``service_unavailable``."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A service Lyceum depends on is unavailable. Try again in a moment."
    default_code = "service_unavailable"
