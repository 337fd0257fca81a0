"""Sign-ins, sign-outs and failed sign-ins, from Django's own auth signals."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from hub import audit

    audit.record(action="accounts.login", actor=user, target=user, request=request)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from hub import audit

    if user is not None:
        audit.record(action="accounts.logout", actor=user, target=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    from hub import audit
    from hub.accounts.lockout import LockedOut, refusal

    username = str(credentials.get("username", ""))[:150]
    details: dict[str, Any] = {"username": username}
    why = refusal(request) if request is not None else None
    if isinstance(why, LockedOut):
        details["locked_out"] = True
    audit.record(action="accounts.login_failed", target=username, request=request, details=details)


def _admin_change(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    """Every change made in the back-office (Django admin: roles, teams, spaces, people)."""
    if not created:
        return
    from hub import audit

    verb = {1: "added", 2: "changed", 3: "deleted"}.get(instance.action_flag, "changed")
    model = instance.content_type.model if instance.content_type_id else "object"
    audit.record(
        action=f"admin.{model}_{verb}"[:64],
        actor=instance.user,
        target=instance.object_repr,
        details={
            "model": instance.content_type.app_label + "." + model
            if instance.content_type_id
            else "",
            "id": instance.object_id,
            "change": instance.get_change_message()[:500],
        },
    )


def connect_admin_log() -> None:
    from django.contrib.admin.models import LogEntry
    from django.db.models.signals import post_save

    post_save.connect(_admin_change, sender=LogEntry, dispatch_uid="audit_admin_log")
