"""Reads of skills: who may do what, the scales of levels, a person's skills (evidence, gaps,
suggested courses) and the team matrix (a constant number of queries whatever its size)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import QuerySet

from certifications.selectors import can_manage
from classrooms.models import Course, Enrolment, EnrolmentStatus
from hub.accounts.models import Role, RoleGrant, Space, Team, User
from hub.accounts.selectors import is_manager_of, is_space_member
from skills.models import (
    Assessment,
    Evidence,
    Framework,
    Level,
    PersonSkill,
    Skill,
    SkillLink,
    Target,
)

__all__ = ["can_manage"]


def team_topic(team_id: int) -> str:
    """``skills.team.<id>``: levels of a team's members changing, for its manager (admins)."""
    return f"skills.team.{team_id}"


def space_topic(space_id: int) -> str:
    """``skills.space.<id>``: levels changing in a space, for its coordinators and admins."""
    return f"skills.space.{space_id}"


# -- permissions -----------------------------------------------------------------------------
def can_edit_framework(*, user: Any, space_id: int) -> bool:
    """The space's coordinators and the administrators edit its framework, links, role
    targets, and see everyone's skills."""
    return can_manage(user=user, space_id=space_id)


def can_see_person(*, viewer: Any, person: User, space_id: int) -> bool:
    """The person, their managers, the space's coordinators and admins; the person must be
    a member of the space."""
    if not is_space_member(user=person, space=space_id) and not person.has_role(Role.ADMIN):
        return False
    if viewer.pk == person.pk:
        return True
    if can_manage(user=viewer, space_id=space_id):
        return True
    return is_manager_of(manager=viewer, user=person)


def can_assess_as_manager(*, viewer: Any, person: User, space_id: int) -> bool:
    if viewer.pk == person.pk:
        return False
    return can_manage(user=viewer, space_id=space_id) or is_manager_of(manager=viewer, user=person)


def can_set_team_target(*, user: Any, team: Team) -> bool:
    return team.manager_id == user.pk or can_manage(user=user, space_id=team.space_id)


def matrix_teams(*, user: Any, space: Space) -> QuerySet[Team]:
    """The teams whose matrix ``user`` may open in ``space``."""
    teams = Team.objects.filter(space=space).order_by("name")
    if can_manage(user=user, space_id=space.pk):
        return teams
    return teams.filter(manager=user)


# -- framework -------------------------------------------------------------------------------
def framework_of(*, space: Space | int) -> Framework | None:
    space_id = space if isinstance(space, int) else space.pk
    return Framework.objects.filter(space_id=space_id).first()


def skills_of(framework: Framework) -> list[Skill]:
    return list(Skill.objects.filter(framework=framework).select_related("group"))


def scales(framework: Framework) -> tuple[list[Level], dict[int, list[Level]]]:
    """The framework's levels and each skill's own (one query)."""
    default: list[Level] = []
    own: dict[int, list[Level]] = defaultdict(list)
    for level in Level.objects.filter(framework=framework).order_by("rank"):
        (own[level.skill_id] if level.skill_id else default).append(level)
    return default, dict(own)


def scale_of(skill: Skill) -> list[Level]:
    own = list(Level.objects.filter(skill=skill).order_by("rank"))
    if own:
        return own
    return list(Level.objects.filter(framework_id=skill.framework_id, skill__isnull=True))


def framework_payload(framework: Framework) -> dict[str, Any]:
    default, own = scales(framework)
    groups: dict[int, dict[str, Any]] = {}
    for g in framework.groups.all():
        groups[g.pk] = {"id": g.pk, "name": g.name, "skills": []}
    for s in skills_of(framework):
        groups[s.group_id]["skills"].append(
            {
                "id": s.pk,
                "name": s.name,
                "description": s.description,
                "levels": [{"rank": lv.rank, "name": lv.name} for lv in own.get(s.pk, [])],
            }
        )
    return {
        "id": framework.pk,
        "space": framework.space_id,
        "name": framework.name,
        "levels": [{"rank": lv.rank, "name": lv.name} for lv in default],
        "groups": list(groups.values()),
    }


def link_payload(link: SkillLink) -> dict[str, Any]:
    kind, target = link_source(link)
    return {
        "id": link.pk,
        "skill": link.skill_id,
        "level": link.level,
        "kind": kind,
        "target": target.pk if target else None,
        "label": link_label(link),
    }


def link_source(link: SkillLink) -> tuple[str, Any]:
    for kind in ("course", "activity", "session", "badge"):
        if getattr(link, f"{kind}_id"):
            return kind, getattr(link, kind)
    return "", None


def link_label(link: SkillLink) -> str:
    _kind, target = link_source(link)
    if target is None:
        return ""
    return str(getattr(target, "title", None) or getattr(target, "name", ""))[:250]


def links_of(*, skill: Skill) -> list[SkillLink]:
    return list(
        SkillLink.objects.filter(skill=skill)
        .select_related("course", "activity", "session", "badge")
        .order_by("level", "id")
    )


# -- one person ------------------------------------------------------------------------------
def person_payload(row: PersonSkill | None, *, user_id: int, skill_id: int) -> dict[str, Any]:
    return {
        "user": user_id,
        "skill": skill_id,
        "evidenced": row.evidenced if row else 0,
        "self": row.self_level if row else None,
        "manager": row.manager_level if row else None,
    }


def current_level(evidenced: int, manager: int | None) -> int:
    """The level a gap is measured from: evidence, or the manager's assessment if higher.
    A self assessment alone does not close a gap."""
    return max(evidenced or 0, manager or 0)


def targets_for(*, users: list[User], framework: Framework) -> dict[tuple[int, int], int]:
    """(user id, skill id) -> the highest target that applies: their teams' and their
    roles' (three queries whatever the number of people)."""
    ids = [u.pk for u in users]
    teams_of: dict[int, set[int]] = defaultdict(set)
    for user_id, team_id in Team.members.through.objects.filter(
        user_id__in=ids, team__space_id=framework.space_id
    ).values_list("user_id", "team_id"):
        teams_of[user_id].add(team_id)
    roles_of: dict[int, set[str]] = defaultdict(set)
    for user_id, role in RoleGrant.objects.filter(user_id__in=ids).values_list("user_id", "role"):
        roles_of[user_id].add(role)
    by_team: dict[int, dict[int, int]] = defaultdict(dict)
    by_role: dict[str, dict[int, int]] = defaultdict(dict)
    for skill_id, team_id, role, level in Target.objects.filter(
        skill__framework=framework
    ).values_list("skill_id", "team_id", "role", "level"):
        if team_id:
            by_team[team_id][skill_id] = level
        else:
            by_role[role][skill_id] = level
    out: dict[tuple[int, int], int] = {}
    for uid in ids:
        sources = [by_team[t] for t in teams_of[uid] if t in by_team]
        sources += [by_role[r] for r in roles_of[uid] if r in by_role]
        for source in sources:
            for skill_id, level in source.items():
                if level > out.get((uid, skill_id), 0):
                    out[(uid, skill_id)] = level
    return out


def person_skills(*, person: User, framework: Framework) -> list[dict[str, Any]]:
    """Each skill of the framework with the person's levels, target, gap, the evidence and
    assessments that made them, and courses suggested for a gap."""
    skills = skills_of(framework)
    default, own = scales(framework)
    rows = {r.skill_id: r for r in PersonSkill.objects.filter(user=person, skill__in=skills)}
    targets = targets_for(users=[person], framework=framework)
    evidence: dict[int, list[Evidence]] = defaultdict(list)
    for e in Evidence.objects.filter(user=person, skill__in=skills)[:2000]:
        evidence[e.skill_id].append(e)
    assessments: dict[int, list[Assessment]] = defaultdict(list)
    for a in Assessment.objects.filter(user=person, skill__in=skills).select_related("assessor")[
        :2000
    ]:
        assessments[a.skill_id].append(a)
    gaps = {}
    out = []
    for s in skills:
        row = rows.get(s.pk)
        target = targets.get((person.pk, s.pk), 0)
        payload = person_payload(row, user_id=person.pk, skill_id=s.pk)
        level = current_level(payload["evidenced"], payload["manager"])
        gap = bool(target and level < target)
        if gap:
            gaps[s.pk] = target
        scale = own.get(s.pk) or default
        out.append(
            {
                "skill": s,
                "scale": scale,
                "names": {lv.rank: lv.name for lv in scale},
                **{k: payload[k] for k in ("evidenced", "self", "manager")},
                "target": target or None,
                "gap": gap,
                "evidence": evidence.get(s.pk, []),
                "assessments": assessments.get(s.pk, []),
                "suggested": [],
            }
        )
    suggested = suggestions(person=person, gaps=gaps)
    for item in out:
        item["suggested"] = suggested.get(item["skill"].pk, [])
    return out


def suggestions(*, person: User, gaps: dict[int, int]) -> dict[int, list[Course]]:
    """skill id -> courses linked to it at or above the target (the gap's level) that the
    person has not completed (two queries)."""
    if not gaps:
        return {}
    done = set(
        Enrolment.objects.filter(user=person, status=EnrolmentStatus.COMPLETED).values_list(
            "course_id", flat=True
        )
    )
    out: dict[int, list[Course]] = defaultdict(list)
    for link in (
        SkillLink.objects.filter(skill_id__in=gaps, course__isnull=False)
        .select_related("course")
        .order_by("-level", "course__title")
    ):
        wanted = link.level >= gaps[link.skill_id] and link.course_id not in done
        if wanted and link.course.published and link.course not in out[link.skill_id]:
            out[link.skill_id].append(link.course)
    return dict(out)


# -- the matrix ------------------------------------------------------------------------------
def matrix(*, framework: Framework, people: QuerySet[User]) -> dict[str, Any]:
    """People x skills: each cell's evidenced, self and manager levels, the person's target
    and whether it is a gap. Seven queries whatever the number of people and skills."""
    skills = skills_of(framework)
    default, own = scales(framework)
    persons = list(
        people.order_by("display_name", "username").only(
            "id", "username", "display_name", "first_name", "last_name"
        )
    )
    ids = [p.pk for p in persons]
    cells: dict[tuple[int, int], tuple[int, int | None, int | None]] = {
        (u, s): (e, sl, m)
        for u, s, e, sl, m in PersonSkill.objects.filter(
            user_id__in=ids, skill__framework=framework
        ).values_list("user_id", "skill_id", "evidenced", "self_level", "manager_level")
    }
    targets = targets_for(users=persons, framework=framework)
    rows = []
    gaps = 0
    for p in persons:
        row_cells = []
        for s in skills:
            e, sl, m = cells.get((p.pk, s.pk), (0, None, None))
            target = targets.get((p.pk, s.pk))
            gap = bool(target and current_level(e, m) < target)
            gaps += gap
            row_cells.append(
                {
                    "skill": s.pk,
                    "evidenced": e,
                    "self": sl,
                    "manager": m,
                    "target": target,
                    "gap": gap,
                }
            )
        rows.append({"user": p, "cells": row_cells})
    return {
        "skills": skills,
        "levels": {s.pk: [lv.name for lv in (own.get(s.pk) or default)] for s in skills},
        "rows": rows,
        "gaps": gaps,
    }


def matrix_people(*, space: Space, team: Team | None) -> QuerySet[User]:
    if team is not None:
        return team.members.filter(is_active=True)
    return User.objects.filter(space_memberships__space=space, is_active=True)
