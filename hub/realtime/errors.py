"""Errors the gateway answers with an ``error`` frame (ARCHITECTURE §3)."""

from __future__ import annotations

# ``unavailable``: a dependency of the live layer (Redis) is down for a moment; the client
# tries again later (docs/REALTIME.md). ``overloaded``: this process has more work queued
# than it can answer in time (hub/realtime/admission.py). Both, and ``rate_limited``, carry
# ``retry_after`` (seconds) that the browser client honours with jitter. ``internal`` (a
# bug) is written by the gateway alone.
ERROR_CODES = frozenset(
    {
        "bad_frame",
        "invalid",
        "forbidden",
        "not_found",
        "rate_limited",
        "too_large",
        "conflict",
        "unavailable",
        "overloaded",
    }
)


class GatewayError(Exception):
    """Raised anywhere under a frame's handling; becomes ``{"op": "error", "code": ...}``."""

    def __init__(
        self,
        code: str,
        message: str,
        details: object | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        # Seconds after which trying again makes sense (``rate_limited``, ``overloaded``,
        # ``unavailable``); sent as the frame's ``retry_after``.
        self.retry_after = retry_after
