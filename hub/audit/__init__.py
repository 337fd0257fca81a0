"""The audit log: an append-only record of security and staff actions (issue 16).

Every app writes through one call::

    from hub import audit
    audit.record(action="accounts.login", actor=user, request=request)

``record`` never raises into the caller's work for a bad ``details`` value (it is coerced to
JSON), and it writes in the caller's transaction: an action rolled back leaves no row.
"""

from __future__ import annotations

from typing import Any


def record(
    *,
    action: str,
    actor: Any = None,
    target: Any = None,
    space: Any = None,
    request: Any = None,
    details: dict | None = None,
) -> Any:
    """Append one row: who (``actor``), what (``action``, dotted ``<area>.<verb>``), on what
    (``target``: any model instance, or a string), in which space, from where (the client
    address and user agent of ``request``), and ``details`` (a small JSON object)."""
    from hub.audit.services import entry_record

    return entry_record(
        action=action,
        actor=actor,
        target=target,
        space=space,
        request=request,
        details=details,
    )


__all__ = ["record"]
