"""Reads about people, spaces and teams; the permission predicates other apps call."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
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


def managers_by_user(*, user_ids: Iterable[int]) -> dict[int, set[int]]:
    """Each person's managers (ids), for many people in one query (nightly passes)."""
    found: dict[int, set[int]] = {}
    for member, manager in Team.objects.filter(members__in=list(user_ids)).values_list(
        "members", "manager"
    ):
        found.setdefault(member, set()).add(manager)
    return found


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


# -- profiles: what other members may see ----------------------------------------------------
def shares_a_space(*, user: Any, other: Any) -> bool:
    """``user`` and ``other`` are members of one space at least."""
    return Space.objects.filter(memberships__user=user).filter(memberships__user=other).exists()


def can_see_profile(*, viewer: Any, person: User) -> bool:
    """A profile is seen by its owner, administrators, and members of a space the person is
    in: the audience that already meets them in forums, chats and sessions."""
    if not getattr(viewer, "is_authenticated", False) or not person.is_active:
        return False
    if viewer.pk == person.pk or viewer.has_role(Role.ADMIN):
        return True
    return shares_a_space(user=viewer, other=person)


def can_see_email(*, viewer: Any, person: User) -> bool:
    """The e-mail address: the owner, administrators and the person's managers always; other
    members of a shared space only if the person chose to show it."""
    if viewer.pk == person.pk or viewer.has_role(Role.ADMIN):
        return True
    if is_manager_of(manager=viewer, user=person):
        return True
    return person.email_visible and can_see_profile(viewer=viewer, person=person)


def avatar_file_name(user: Any, name: str) -> str | None:
    """``hub.files`` reader of profile pictures: anyone who may see the profile."""
    person = User.objects.filter(avatar=name).first()
    if person is None or not can_see_profile(viewer=user, person=person):
        return None
    return f"{person.username}-picture{Path(name).suffix}"
