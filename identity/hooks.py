"""The calls this app makes into the account life cycle and the audit log (issue 16, points
1 and 5), in one place.

``audit`` records SSO and SCIM changes in the audit log; ``deactivate`` ends a person's
access (SCIM ``active: false``, a CSV row's ``active`` column).
"""

from __future__ import annotations

from typing import Any

from rest_framework.authtoken.models import Token


def audit(
    *,
    action: str,
    actor: Any = None,
    target: Any = None,
    space: Any = None,
    request: Any = None,
    details: dict | None = None,
) -> None:
    """One entry in the audit log (hub.audit)."""
    from hub import audit as audit_log

    audit_log.record(
        action=action, actor=actor, target=target, space=space, request=request, details=details
    )


def deactivate(*, user: Any, actor: Any = None, reason: str = "") -> None:
    """End a person's access through the account life cycle: the account, its browser
    sessions, its API token and its open WebSockets on every process."""
    from hub.accounts import lifecycle
    from hub.accounts.models import Role

    if actor is not None and actor.pk != user.pk and actor.has_role(Role.ADMIN):
        lifecycle.user_deactivate(actor=actor, user=user)
        return
    # The SCIM token's maker is no administrator any more: the same steps, in our name.
    from hub.realtime import disconnect_user

    type(user).objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    Token.objects.filter(user=user).delete()
    ended = lifecycle.sessions_end(user=user)
    disconnect_user(user_id=user.pk)
    audit(
        action="accounts.deactivated",
        actor=actor,
        target=user,
        details={"sessions_ended": ended, "by": reason or "identity"},
    )


def reactivate(*, user: Any, actor: Any = None) -> None:
    from hub.accounts import lifecycle
    from hub.accounts.models import Role

    if actor is not None and actor.has_role(Role.ADMIN):
        lifecycle.user_reactivate(actor=actor, user=user)
        return
    type(user).objects.filter(pk=user.pk).update(is_active=True)
    user.is_active = True
    audit(action="accounts.reactivated", actor=actor, target=user)
