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
def roles_set(
    *, user: User, roles: Iterable[str], actor: User | None = None, request: Any = None
) -> None:
    wanted = {Role(r) for r in roles}
    have = set(user.role_grants.values_list("role", flat=True))
    user.role_grants.exclude(role__in=wanted).delete()
    RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in wanted - have])
    user.__dict__.pop("role_codes", None)
    if user.pk and have and have != wanted:
        # Audit log (issue 16): a change of roles, not the first grant of a new account.
        from hub import audit

        audit.record(
            action="accounts.roles_changed",
            actor=actor,
            target=user,
            request=request,
            details={"before": sorted(have), "after": sorted(wanted)},
        )


@transaction.atomic
def space_add_member(*, space: Space, user: User) -> SpaceMembership:
    membership, _ = SpaceMembership.objects.get_or_create(space=space, user=user)
    return membership


@transaction.atomic
def team_create(*, name: str, space: Space, manager: User, members: Iterable[User] = ()) -> Team:
    team = Team.objects.create(name=name, space=space, manager=manager)
    team.members.set(list(members))
    from hub import audit

    audit.record(
        action="accounts.team_created",
        target=team,
        space=space,
        details={"manager": manager.pk, "members": [m.pk for m in team.members.all()]},
    )
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


# -- profile ---------------------------------------------------------------------------------
PROFILE_FIELDS = ("display_name", "email", "time_zone", "language", "bio", "email_visible")


def profile_update(
    *,
    actor: User,
    user: User,
    avatar: Any = None,
    remove_avatar: bool = False,
    **fields: Any,
) -> User:
    """Change a person's profile. Only the person edits their own (administrators use the
    back-office). A new picture is checked as an image (hub.files) before anything is saved."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from hub.files import check_image

    if actor.pk != user.pk:
        raise PermissionDenied("Only the person edits their own profile.")
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a profile field." for name in sorted(unknown)})
    if avatar is not None:
        check_image(avatar, field="avatar")
    old_avatar = user.avatar.name if user.avatar else ""
    with transaction.atomic():
        for name, value in fields.items():
            setattr(user, name, value)
        if avatar is not None:
            user.avatar = avatar
        elif remove_avatar:
            user.avatar = None
        user.full_clean(exclude=["password"])
        user.save()
    new_avatar = user.avatar.name if user.avatar else ""
    if old_avatar and old_avatar != new_avatar:
        from django.core.files.storage import default_storage

        # The old picture goes once the row points elsewhere (nobody can read it anyway).
        transaction.on_commit(lambda: default_storage.delete(old_avatar))
    return user


@transaction.atomic
def time_zone_detected(*, user: User, zone: str) -> bool:
    """The browser's zone, saved only while the person has not chosen one. True if saved."""
    from django.core.exceptions import ValidationError

    from hub.accounts.timezones import is_known_zone

    if not is_known_zone(zone):
        raise ValidationError({"time_zone": "Unknown time zone."})
    return bool(User.objects.filter(pk=user.pk, time_zone="").update(time_zone=zone))
