"""Writes about people, spaces and teams."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from hub.accounts.models import Role, RoleGrant, Space, SpaceMembership, Team, User


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    email: str = "",
    display_name: str = "",
    roles: Iterable[str] = (Role.LEARNER,),
    spaces: Iterable[Space] = (),
    is_staff: bool = False,
) -> User:
    user = User(username=username, email=email, display_name=display_name, is_staff=is_staff)
    user.set_password(password) if password else user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    roles_set(user=user, roles=roles)
    for space in spaces:
        space_add_member(space=space, user=user)
    return user


@transaction.atomic
def roles_set(*, user: User, roles: Iterable[str]) -> None:
    wanted = {Role(r) for r in roles}
    user.role_grants.exclude(role__in=wanted).delete()
    have = set(user.role_grants.values_list("role", flat=True))
    RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in wanted - have])
    user.__dict__.pop("role_codes", None)


@transaction.atomic
def space_add_member(*, space: Space, user: User) -> SpaceMembership:
    membership, _ = SpaceMembership.objects.get_or_create(space=space, user=user)
    return membership


@transaction.atomic
def team_create(*, name: str, space: Space, manager: User, members: Iterable[User] = ()) -> Team:
    team = Team.objects.create(name=name, space=space, manager=manager)
    team.members.set(list(members))
    return team


@transaction.atomic
def feed_token_reset(*, user: User) -> str:
    import secrets

    user.feed_token = secrets.token_urlsafe(32)
    user.save(update_fields=["feed_token"])
    return user.feed_token


def space_switch(*, request: Any, space: Space) -> None:
    """Remember the space a person is browsing (in their session)."""
    request.session["space_id"] = space.pk
