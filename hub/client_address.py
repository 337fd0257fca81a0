"""The client's address, as the trusted proxies in front of Lyceum report it.

``X-Forwarded-For`` as sent is whatever the client wrote: keying a throttle or a lockout on
it lets anyone rotate the header and start afresh. Only the entries appended by proxies we
run can be believed, so the count of those proxies is configuration
(``LYCEUM_TRUSTED_PROXIES``, also DRF's ``NUM_PROXIES``):

* 0 (the default: daphne faces the clients): the TCP peer, ``REMOTE_ADDR`` (the ASGI
  scope's ``client``); the header is ignored;
* N: the Nth address from the right of ``X-Forwarded-For`` -- the one the outermost of our
  N proxies saw connecting to it. Anything to its left was written by the client.

Every per-address limit (the REST throttles, the sign-in lockout) keys on this one helper.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def forwarded_client(remote_addr: str, forwarded_for: str | None, trusted_proxies: int) -> str:
    """The client address given the peer, the ``X-Forwarded-For`` value and the proxy count.

    With fewer entries than proxies the leftmost is taken, as DRF's ``get_ident`` does (the
    request skipped an outer proxy; the proxies' own entries are still to the right).
    """
    if trusted_proxies <= 0 or not forwarded_for:
        return remote_addr
    entries = [entry.strip() for entry in forwarded_for.split(",")]
    return entries[-min(trusted_proxies, len(entries))] or remote_addr


def client_address(request: Any) -> str:
    """The address of the client making ``request`` (a Django or DRF request)."""
    meta = request.META
    return forwarded_client(
        meta.get("REMOTE_ADDR") or "",
        meta.get("HTTP_X_FORWARDED_FOR"),
        settings.LYCEUM_TRUSTED_PROXIES,
    )
