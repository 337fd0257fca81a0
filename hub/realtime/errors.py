"""Errors the gateway answers with an ``error`` frame (ARCHITECTURE §3)."""

from __future__ import annotations

ERROR_CODES = frozenset(
    {"bad_frame", "invalid", "forbidden", "not_found", "rate_limited", "too_large", "conflict"}
)


class GatewayError(Exception):
    """Raised anywhere under a frame's handling; becomes ``{"op": "error", "code": ...}``."""

    def __init__(self, code: str, message: str, details: object | None = None) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
