"""Writing a person as an identity source describes them: the one place SSO (just-in-time
accounts), SCIM and the CSV import turn "name, e-mail, team, manager, roles" into rows.

Teams: a person named in a team becomes a member of that team of the space. A manager
named for a person puts them in that manager's "reports" team of the space (made on first
use, ``ReportsTeam``), so ``hub.accounts.selectors.managers_of`` finds the manager.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from hub.accounts.models import Role, RoleGrant, Space, SpaceMembership, Team
from identity.models import ReportsTeam

User = get_user_model()


def reports_team_name(manager) -> str:
    return _("Reports of %(name)s") % {"name": manager.name}


def unique_username(base: str) -> str:
    """``base`` if free, else ``base-2``, ``base-3``, ... (150 characters at most)."""
    base = (base or "user")[:140]
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@transaction.atomic
def membership_ensure(*, space: Space, user) -> None:
    SpaceMembership.objects.get_or_create(space=space, user=user)


@transaction.atomic
def roles_replace(*, user, roles: Iterable[str]) -> bool:
    """Give exactly these roles (a superuser stays one). True when something changed."""
    wanted = {Role(r) for r in roles}
    have = set(user.role_grants.values_list("role", flat=True))
    if have == wanted:
        return False
    user.role_grants.exclude(role__in=wanted).delete()
    RoleGrant.objects.bulk_create([RoleGrant(user=user, role=r) for r in wanted - have])
    user.__dict__.pop("role_codes", None)
    return True


@transaction.atomic
def team_set(*, space: Space, user, team: Team | None) -> bool:
    """Make ``team`` the person's team in the space (their reports teams and SCIM groups
    stay). True when something changed."""
    current = set(
        user.teams.filter(space=space, reports_of__isnull=True, scim__isnull=True).values_list(
            "pk", flat=True
        )
    )
    wanted = {team.pk} if team is not None else set()
    if current == wanted:
        return False
    for pk in current - wanted:
        Team.members.through.objects.filter(team_id=pk, user_id=user.pk).delete()
    if team is not None and team.pk not in current:
        team.members.add(user)
    return True


@transaction.atomic
def manager_set(*, space: Space, user, manager) -> bool:
    """Make ``manager`` the person's manager in the space. True when something changed."""
    through = Team.members.through
    current = set(
        through.objects.filter(
            user_id=user.pk, team__space=space, team__reports_of__isnull=False
        ).values_list("team_id", "team__manager_id")
    )
    if manager is None:
        if not current:
            return False
        through.objects.filter(user_id=user.pk, team_id__in=[t for t, _m in current]).delete()
        return True
    if manager.pk == user.pk:
        from django.core.exceptions import ValidationError

        raise ValidationError(_("A person cannot be their own manager."))
    if any(m == manager.pk for _t, m in current) and len(current) == 1:
        return False
    through.objects.filter(user_id=user.pk, team_id__in=[t for t, _m in current]).delete()
    team = reports_team(space=space, manager=manager)
    team.members.add(user)
    return True


def reports_team(*, space: Space, manager) -> Team:
    team = Team.objects.filter(space=space, manager=manager, reports_of__isnull=False).first()
    if team is None:
        team = Team.objects.create(space=space, manager=manager, name=reports_team_name(manager))
        ReportsTeam.objects.create(team=team)
    return team


def team_by_name(*, space: Space, name: str, create_with_manager=None) -> Team | None:
    """The space's team of that name (case-insensitive); made when a manager is given."""
    team = (
        Team.objects.filter(space=space, name__iexact=name, reports_of__isnull=True)
        .order_by("pk")
        .first()
    )
    if team is None and create_with_manager is not None:
        team = Team.objects.create(space=space, name=name[:120], manager=create_with_manager)
    return team


def manager_of(*, space: Space, user):
    team = (
        Team.objects.filter(space=space, members=user, reports_of__isnull=False)
        .select_related("manager")
        .first()
    )
    return team.manager if team else None
