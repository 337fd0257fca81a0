"""What every page's shell needs: the space, the person's spaces, the navigation, the bell,
the viewer's time zone."""

from __future__ import annotations

from typing import Any, NamedTuple

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
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
    icon: str = "chevron-right"


# The icon of each destination (Lucide names, frontend/static/icons).
NAV_ICONS = {
    "dashboard": "house",
    "courses": "graduation-cap",
    "sessions": "calendar-days",
    "agenda": "calendar-clock",
    "forums": "messages-square",
    "leaderboards": "trophy",
    "announcements": "megaphone",
    "announcement-new": "plus",
    "games": "circle-help",
    "blogs": "book-open",
    "forum-trust": "shield",
    "notifications": "bell",
    "style-guide": "layout-dashboard",
    "admin": "shield",
    "grading": "circle-check",
    "paths": "book-open",
    "paths-team": "users",
    "paths-list": "book-open",
    "certifications": "key-round",
    "compliance": "chart-column",
}


def _is_current(request: HttpRequest, url: str, names: tuple[str, ...]) -> bool:
    """The page being shown is this entry's: by URL name, or under its URL (not "/")."""
    match = getattr(request, "resolver_match", None)
    here = match.url_name if match else None
    if here is not None and here in names:
        return True
    return url != "/" and not names and request.path.startswith(url)


def navigation(request: HttpRequest, roles: dict[str, bool]) -> dict[str, list[NavItem]]:
    """The shell's navigation for the person's roles.

    ``primary``: the destinations in the desktop header row; ``more``: the rest, in the
    header's "More" menu; ``tabs``: the phone's bottom tab bar (Home, Learn, Sessions; Chat
    and More are drawn by the template with their counts); ``tab_more``: the phone's "More"
    menu (what the tab bar has no room for).
    """
    user = request.user
    primary: list[tuple[str, Any, str, tuple[str, ...]]] = [
        ("dashboard", _("Home"), reverse("dashboard"), ("dashboard",)),
        ("courses", _("Learn"), reverse("courses"), ()),
        ("sessions", _("Sessions"), reverse("sessions"), ()),
        ("agenda", _("Agenda"), reverse("agenda"), ()),
        ("forums", _("Forums"), reverse("forums"), ()),
        ("leaderboards", _("Leaderboard"), reverse("leaderboards"), ()),
    ]
    more: list[tuple[str, Any, str, tuple[str, ...]]] = [
        (
            "announcements",
            _("Announcements"),
            reverse("announcements"),
            ("announcements", "announcement-detail"),
        ),
        ("games", _("Quiz games"), reverse("games"), ()),
        ("blogs", _("Blogs"), reverse("blogs"), ()),
        ("forum-trust", _("Trust levels"), reverse("forum-trust"), ("forum-trust",)),
    ]
    if roles[Role.TRAINER] or roles[Role.COORDINATOR] or roles[Role.ADMIN]:
        more.append(("announcement-new", _("New announcement"), reverse("announcement-new"), ()))
        more.append(("grading", _("To grade"), reverse("grading-queue"), ()))
    more.append(("paths", _("My learning paths"), reverse("paths-mine"), ("paths-mine",)))
    if roles[Role.MANAGER] or roles[Role.ADMIN]:
        more.append(("paths-team", _("My team's paths"), reverse("paths-team"), ("paths-team",)))
    if roles[Role.TRAINER] or roles[Role.COORDINATOR] or roles[Role.ADMIN] or roles[Role.MANAGER]:
        more.append(("paths-list", _("Learning paths"), reverse("paths-list"), ("paths-list",)))
    more.append(
        (
            "certifications",
            _("Certifications"),
            reverse("certifications-mine"),
            ("certifications-mine",),
        )
    )
    if roles[Role.MANAGER] or roles[Role.COORDINATOR] or roles[Role.ADMIN]:
        more.append(("compliance", _("Compliance"), reverse("certifications-compliance"), ()))
    # -- skills (issue 19)
    more.append(("skills", _("My skills"), reverse("skills-mine"), ("skills-mine",)))
    if roles[Role.MANAGER] or roles[Role.COORDINATOR] or roles[Role.ADMIN]:
        more.append(("skills-matrix", _("Skills matrix"), reverse("skills-matrix"), ()))
    # -- end skills
    more.append(("notifications", _("Notifications"), reverse("notifications"), ("notifications",)))
    if user.is_staff or roles[Role.ADMIN]:
        more.append(("style-guide", _("Style guide"), reverse("style-guide"), ("style-guide",)))
    if roles[Role.ADMIN] or user.is_staff:
        more.append(("admin", _("Back-office"), reverse("admin:index"), ()))

    def items(entries: list[tuple[str, Any, str, tuple[str, ...]]]) -> list[NavItem]:
        return [
            NavItem(
                key,
                label,
                url,
                _is_current(request, url, names),
                NAV_ICONS.get(key, "chevron-right"),
            )
            for key, label, url, names in entries
        ]

    primary_items, more_items = items(primary), items(more)
    return {
        "primary": primary_items,
        "more": more_items,
        "tabs": primary_items[:3],
        "tab_more": primary_items[3:] + more_items,
    }


def shell(request: HttpRequest) -> dict[str, Any]:
    """Context for ``frontend/base.html``."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        # The login page wears the default space's colours.
        return {"current_space": getattr(request, "space", None)}
    roles = {r.value: user.has_role(r) for r in Role}
    time_zone = getattr(user, "time_zone", "")
    return {
        "viewer_time_zone": timezone.get_current_timezone_name(),
        "time_zone_chosen": bool(time_zone),
        "current_space": getattr(request, "space", None),
        "my_spaces": spaces_of(user=user),
        "unread_count": notify.unread_count(user=user),
        "last_notification_id": notify.last_notification_id(user=user),
        "roles": roles,
        "nav": navigation(request, roles),
    }
