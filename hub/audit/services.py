"""Writes of the audit log: append a row, prune rows past the retention."""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from hub.audit.models import Entry

logger = logging.getLogger(__name__)

MAX_DETAILS_CHARS = 4000


def _label(obj: Any) -> str:
    try:
        return str(obj)[:200]
    except Exception:  # a __str__ that fails must not fail the audited action
        return ""


def _target_fields(target: Any) -> dict[str, str]:
    if target is None:
        return {}
    if isinstance(target, models.Model):
        meta = target._meta
        return {
            "target_type": f"{meta.app_label}.{meta.model_name}",
            "target_id": str(target.pk or "")[:64],
            "target_label": _label(target),
        }
    return {"target_label": _label(target)}


def _clean_details(details: dict | None) -> dict:
    if not details:
        return {}
    text = json.dumps(details, default=str)
    if len(text) > MAX_DETAILS_CHARS:
        return {"truncated": text[:MAX_DETAILS_CHARS]}
    return json.loads(text)


def _where(request: Any) -> dict[str, Any]:
    if request is None:
        return {}
    from hub.client_address import client_address

    try:
        ip = client_address(request) or None
    except Exception:
        ip = None
    if ip:
        from django.core.validators import validate_ipv46_address

        try:
            validate_ipv46_address(ip)
        except Exception:
            ip = None
    agent = request.META.get("HTTP_USER_AGENT", "") if hasattr(request, "META") else ""
    return {"ip": ip, "user_agent": agent[:300]}


def entry_record(
    *,
    action: str,
    actor: Any = None,
    target: Any = None,
    space: Any = None,
    request: Any = None,
    details: dict | None = None,
) -> Entry:
    """Append one entry (in the caller's transaction). See ``hub.audit.record``."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            actor = user
    if space is None and request is not None:
        space = getattr(request, "space", None)
    entry = Entry(
        action=action[:64],
        actor=actor,
        actor_label=_label(getattr(actor, "username", "") or "") if actor else "",
        space=space if getattr(space, "pk", None) else None,
        details=_clean_details(details),
        **_target_fields(target),
        **_where(request),
    )
    entry.save()
    return entry


def retention_days() -> int:
    return int(getattr(settings, "LYCEUM_AUDIT_RETENTION_DAYS", 365))


def entries_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete the entries older than the retention (``LYCEUM_AUDIT_RETENTION_DAYS``; 0 keeps
    everything). Returns how many went. The pruning itself is recorded."""
    days = retention_days()
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    # QuerySet.delete, not Entry.delete: the bulk path is the one way rows leave.
    deleted, _ = Entry.objects.filter(at__lt=cutoff).delete()
    if deleted:
        entry_record(action="audit.pruned", details={"deleted": deleted, "days": days})
    return deleted
