"""What every page's shell needs: the space, the person's spaces, the navigation, the bell."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from hub import notify
from hub.accounts.models import Role
from hub.accounts.selectors import spaces_of


class NavItem(NamedTuple):
    """One link of the main navigation; ``current`` marks the page being shown."""

    key: str
    label: Any
    url: str
    current: bool


def navigation(request: HttpRequest, roles: dict[str, bool]) -> list[NavItem]:
    """The main navigation for the person's roles (later issues add their entries here)."""
    user = request.user
    match = getattr(request, "resolver_match", None)
    here = match.url_name if match else None
    entries: list[tuple[str, Any, str, tuple[str, ...]]] = [
        ("dashboard", _("Dashboard"), reverse("dashboard"), ("dashboard",)),
        (
            "announcements",
            _("Announcements"),
            reverse("announcements"),
            ("announcements", "announcement-detail"),
        ),
    ]
    if roles[Role.TRAINER] or roles[Role.COORDINATOR] or roles[Role.ADMIN]:
        entries.append(("announcement-new", _("New announcement"), reverse("announcement-new"), ()))
    entries.append(
        ("notifications", _("Notifications"), reverse("notifications"), ("notifications",))
    )
    if roles[Role.ADMIN] or user.is_staff:
        entries.append(("admin", _("Back-office"), reverse("admin:index"), ()))
    return [
        NavItem(key, label, url, here is not None and (here == key or here in names))
        for key, label, url, names in entries
    ]


def shell(request: HttpRequest) -> dict[str, Any]:
    """Context for ``frontend/base.html``."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        # The login page wears the default space's colours.
        return {"current_space": getattr(request, "space", None)}
    roles = {r.value: user.has_role(r) for r in Role}
    return {
        "current_space": getattr(request, "space", None),
        "my_spaces": spaces_of(user=user),
        "unread_count": notify.unread_count(user=user),
        "last_notification_id": notify.last_notification_id(user=user),
        "roles": roles,
        "nav": navigation(request, roles),
    }
