"""Reads about people, spaces and teams; the permission predicates other apps call."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from hub.accounts.models import Role, Space, Team, User


def spaces_of(*, user: Any) -> QuerySet[Space]:
    if user.has_role(Role.ADMIN):
        return Space.objects.all()
    return Space.objects.filter(memberships__user=user)


def is_space_member(*, user: Any, space: Space | int) -> bool:
    space_id = space if isinstance(space, int) else space.pk
    if user.has_role(Role.ADMIN):
        return True
    return Space.objects.filter(pk=space_id, memberships__user=user).exists()


def space_member_ids(*, space: Space) -> list[int]:
    return list(space.memberships.values_list("user_id", flat=True))


def default_space() -> Space | None:
    return Space.objects.filter(is_default=True).first()


def team_member_ids(*, team: Team) -> list[int]:
    return list(team.members.values_list("id", flat=True))


def teams_managed_by(*, user: Any) -> QuerySet[Team]:
    return Team.objects.filter(manager=user)


def reports_of(*, manager: Any) -> QuerySet[User]:
    """People in the teams ``manager`` manages."""
    return User.objects.filter(teams__manager=manager).distinct()


def managers_of(*, user: Any) -> QuerySet[User]:
    return User.objects.filter(managed_teams__members=user).distinct()


def is_manager_of(*, manager: Any, user: Any) -> bool:
    return Team.objects.filter(manager=manager, members=user).exists()


def user_payload(user: User) -> dict[str, Any]:
    """What ``GET /api/v1/me/`` and pages show of a person."""
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": user.name,
        "roles": sorted(user.role_codes),
        "spaces": [
            {"id": s.pk, "name": s.name, "slug": s.slug, "brand_color": s.brand_color}
            for s in spaces_of(user=user)
        ],
    }
