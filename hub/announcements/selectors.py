from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from hub.accounts.models import Role
from hub.accounts.selectors import is_space_member
from hub.announcements.models import Announcement

AUTHOR_ROLES = (Role.COORDINATOR, Role.TRAINER, Role.ADMIN)


def announcements_for(*, user: Any) -> QuerySet[Announcement]:
    """What ``user`` may read: their spaces' announcements, their teams', and their own."""
    qs = Announcement.objects.select_related("author", "space", "team")
    if user.has_role(Role.ADMIN):
        return qs
    return qs.filter(
        Q(space__memberships__user=user)
        | Q(team__members=user)
        | Q(team__manager=user)
        | Q(author=user)
    ).distinct()


def can_announce(*, user: Any) -> bool:
    return user.has_role(*AUTHOR_ROLES)


def can_announce_to_space(*, user: Any, space_id: int) -> bool:
    return can_announce(user=user) and is_space_member(user=user, space=space_id)


def space_announcements_after(
    *, space_id: int, after_id: int, limit: int
) -> QuerySet[Announcement]:
    return (
        Announcement.objects.select_related("author")
        .filter(space_id=space_id, id__gt=after_id)
        .order_by("id")[:limit]
    )


def announcement_payload(announcement: Announcement) -> dict[str, Any]:
    return {
        "id": announcement.pk,
        "title": announcement.title,
        "body_html": announcement.body_html,
        "link": announcement.link,
        "author": announcement.author.name,
        "space": announcement.space_id,
        "team": announcement.team_id,
        "created_at": announcement.created_at,
        "url": announcement.get_absolute_url(),
    }
