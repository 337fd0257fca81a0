"""What every page's shell needs: the space, the person's spaces and the unread count."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from hub import notify
from hub.accounts.models import Role
from hub.accounts.selectors import spaces_of


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_space": getattr(request, "space", None),
        "my_spaces": spaces_of(user=user),
        "unread_count": notify.unread_count(user=user),
        "last_notification_id": notify.last_notification_id(user=user),
        "roles": {r.value: user.has_role(r) for r in Role},
    }
