"""Reads of certifications: who manages them, states, payloads, the compliance counts."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet

from certifications.models import Award, Certification, State
from hub.accounts.models import Role, SpaceMembership, Team
from hub.accounts.selectors import is_space_member


def space_topic(space_id: int) -> str:
    """``certifications.space.<id>``: awards changing in a space, for its coordinators and
    admins (the compliance report and a certification's page follow it)."""
    return f"certifications.space.{space_id}"


def can_manage(*, user: Any, space_id: int) -> bool:
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.COORDINATOR) and is_space_member(user=user, space=space_id)


def certifications_managed_by(*, user: Any) -> QuerySet[Certification]:
    if user.has_role(Role.ADMIN):
        return Certification.objects.all()
    if not user.has_role(Role.COORDINATOR):
        return Certification.objects.none()
    spaces = SpaceMembership.objects.filter(user=user).values("space_id")
    return Certification.objects.filter(space_id__in=spaces)


def award_payload(award: Award) -> dict[str, Any]:
    return {
        "id": award.pk,
        "certification": award.certification_id,
        "user": award.user_id,
        "state": award.state,
        "number": award.number,
        "issued_at": award.issued_at.isoformat(),
        "expires_at": award.expires_at.isoformat(),
    }


def awards_of(*, user: Any) -> QuerySet[Award]:
    return (
        Award.objects.filter(user=user)
        .select_related("certification")
        .prefetch_related("certificates")
        .order_by("expires_at")
    )


def state_counts(*, certification: Certification) -> dict[str, int]:
    counts = dict(
        Award.objects.filter(certification=certification)
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    return {s: counts.get(s, 0) for s in State.values}


def compliance(*, space_id: int, teams: QuerySet[Team] | None = None) -> list[dict[str, Any]]:
    """Per team of the space (or the teams given), per certification: counts per state.
    Three queries whatever the number of people."""
    teams = list(
        (teams if teams is not None else Team.objects.filter(space_id=space_id)).order_by("name")
    )
    certs = list(Certification.objects.filter(space_id=space_id))
    rows = (
        Award.objects.filter(certification__in=certs, user__teams__in=teams)
        .values_list("user__teams", "certification_id", "state")
        .annotate(n=Count("id", distinct=True))
    )
    table: dict[tuple[int, int], dict[str, int]] = {}
    for team_id, cert_id, state, n in rows:
        table.setdefault((team_id, cert_id), {s: 0 for s in State.values})[state] = n
    return [
        {
            "team": t,
            "certs": [
                {"cert": c, "counts": table.get((t.pk, c.pk), {s: 0 for s in State.values})}
                for c in certs
            ],
        }
        for t in teams
    ]
