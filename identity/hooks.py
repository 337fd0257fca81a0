"""The two calls this app makes into account life cycle (issue 16, points 1 and 5), kept
behind one function each so the switch to the accounts helpers is one line.

``audit`` records SSO and SCIM changes in the audit log; ``deactivate`` ends a person's
access (SCIM ``active: false``, a CSV row's ``active`` column).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.models import Session
from rest_framework.authtoken.models import Token

logger = logging.getLogger("lyceum.identity")


def audit(
    *,
    action: str,
    actor: Any = None,
    target: Any = None,
    space: Any = None,
    request: Any = None,
    details: dict | None = None,
) -> None:
    """One audit entry (until the audit log lands: a structured log line)."""
    logger.info(
        "audit %s actor=%s target=%s space=%s details=%s",
        action,
        getattr(actor, "pk", actor),
        getattr(target, "pk", target),
        getattr(space, "pk", space),
        details or {},
    )


def deactivate(*, user: Any, actor: Any = None, reason: str = "") -> None:
    """End a person's access: the account, its browser sessions and its API tokens."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    Token.objects.filter(user=user).delete()
    uid = str(user.pk)
    doomed = [
        s.session_key
        for s in Session.objects.iterator()
        if s.get_decoded().get("_auth_user_id") == uid
    ]
    Session.objects.filter(session_key__in=doomed).delete()


def reactivate(*, user: Any, actor: Any = None) -> None:
    if not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
