"""Reads of the audit log: who may read it, and the filtered list."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet

from hub.audit.models import Entry

FILTERS = ("action", "actor", "target", "ip", "since", "until")


def can_read_audit(*, user: Any) -> bool:
    """Administrators (the role, or superusers)."""
    from hub.accounts.models import Role

    return bool(getattr(user, "is_authenticated", False)) and user.has_role(Role.ADMIN)


def _date(value: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def entries_filtered(*, params: Any) -> QuerySet[Entry]:
    """Entries matching the page's filters (a QueryDict or dict of strings): ``action``
    (prefix: ``accounts.`` gives every accounts action), ``actor`` (username), ``target``
    (label contains), ``ip``, ``since`` / ``until`` (ISO dates, inclusive)."""
    qs = Entry.objects.select_related("space").order_by("-at", "-id")
    action = (params.get("action") or "").strip()
    if action:
        qs = qs.filter(action__startswith=action)
    actor = (params.get("actor") or "").strip()
    if actor:
        qs = qs.filter(actor_label__iexact=actor)
    target = (params.get("target") or "").strip()
    if target:
        qs = qs.filter(target_label__icontains=target)
    ip = (params.get("ip") or "").strip()
    if ip:
        qs = qs.filter(ip=ip) if _valid_ip(ip) else qs.none()
    since = _date(params.get("since") or "")
    if since:
        qs = qs.filter(at__date__gte=since)
    until = _date(params.get("until") or "")
    if until:
        qs = qs.filter(at__date__lte=until)
    return qs


def _valid_ip(value: str) -> bool:
    from django.core.validators import validate_ipv46_address

    try:
        validate_ipv46_address(value)
    except Exception:
        return False
    return True


def action_names() -> list[str]:
    return list(Entry.objects.order_by("action").values_list("action", flat=True).distinct()[:200])
