"""Every write of skills: the framework (levels, groups, skills; CSV import all rows or
none), links to what proves a skill, evidence from completions, attendance and badges,
assessments, targets. Changes to a person's levels are pushed live to the matrices open on
them (``skills.team.<id>``, ``skills.space.<id>``) and to the person (``hub.user.<id>``)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from classrooms.models import Activity, Completion, Course, Enrolment, EnrolmentStatus
from hub import realtime, sanitize
from hub.accounts.models import Role, Space, Team, User
from leaderboards.models import BadgeAward, BadgeDefinition
from sessions.models import ATTENDED, Registration, Session
from skills import selectors
from skills.models import (
    MAX_LEVELS,
    Assessment,
    AssessmentKind,
    Evidence,
    Framework,
    Level,
    PersonSkill,
    Skill,
    SkillGroup,
    SkillLink,
    Target,
)

DEFAULT_LEVELS = ["Aware", "Working", "Practitioner", "Expert"]
CSV_COLUMNS = ["group", "skill", "description", "levels"]
MAX_CSV_BYTES = 1_000_000
MAX_CSV_ROWS = 2_000
MAX_SKILLS = 2_000


def _require_editor(user: User, space_id: int) -> None:
    if not selectors.can_edit_framework(user=user, space_id=space_id):
        raise PermissionDenied(_("Only the space's coordinators and admins edit its skills."))


def _name(value: str, *, max_length: int, what: str) -> str:
    """Plain text (tags removed, whitespace folded), not empty, within ``max_length``."""
    text = " ".join(sanitize.plain(value or "").split())
    if not text:
        raise ValidationError(_("The %(what)s is empty.") % {"what": what})
    if len(text) > max_length:
        raise ValidationError(
            _("The %(what)s is longer than %(n)s characters.") % {"what": what, "n": max_length}
        )
    return text


def _level_names(text: str) -> list[str]:
    names = [_name(n, max_length=60, what=_("level name")) for n in text.split("|")]
    if not 2 <= len(names) <= MAX_LEVELS:
        raise ValidationError(
            _("Give between 2 and %(n)s levels, separated by |.") % {"n": MAX_LEVELS}
        )
    if len({n.casefold() for n in names}) != len(names):
        raise ValidationError(_("Two levels have the same name."))
    return names


# -- the framework ---------------------------------------------------------------------------
@transaction.atomic
def framework_ensure(*, user: User, space: Space) -> Framework:
    """The space's framework, made with the default levels on first use."""
    _require_editor(user, space.pk)
    framework, created = Framework.objects.get_or_create(space=space)
    if created:
        Level.objects.bulk_create(
            Level(framework=framework, rank=i, name=n) for i, n in enumerate(DEFAULT_LEVELS, 1)
        )
    return framework


def _highest_rank_used(framework: Framework, skill_ids: list[int] | None) -> int:
    """The highest level links and targets refer to (those skills, or every skill on the
    framework's own scale)."""
    if skill_ids is None:
        skill_ids = list(
            Skill.objects.filter(framework=framework)
            .exclude(own_levels__isnull=False)
            .values_list("id", flat=True)
        )
    used = [
        m
        for m in (
            SkillLink.objects.filter(skill_id__in=skill_ids)
            .order_by("-level")
            .values_list("level", flat=True)
            .first(),
            Target.objects.filter(skill_id__in=skill_ids)
            .order_by("-level")
            .values_list("level", flat=True)
            .first(),
        )
        if m
    ]
    return max(used, default=0)


def _replace_levels(framework: Framework, skill: Skill | None, names: list[str]) -> None:
    used = _highest_rank_used(framework, [skill.pk] if skill else None)
    if used > len(names):
        raise ValidationError(
            _("Links or targets use level %(n)s: keep at least %(n)s levels.") % {"n": used}
        )
    Level.objects.filter(framework=framework, skill=skill).delete()
    Level.objects.bulk_create(
        Level(framework=framework, skill=skill, rank=i, name=n) for i, n in enumerate(names, 1)
    )


@transaction.atomic
def levels_set(*, user: User, framework: Framework, names: list[str] | str) -> list[Level]:
    """Replace the framework's scale (2..10 names, lowest first)."""
    _require_editor(user, framework.space_id)
    if isinstance(names, list):
        names = "|".join(names)
    _replace_levels(framework, None, _level_names(names))
    return list(Level.objects.filter(framework=framework, skill__isnull=True))


@transaction.atomic
def skill_save(
    *,
    user: User,
    framework: Framework,
    group: str,
    name: str,
    description: str = "",
    levels: str = "",
    skill: Skill | None = None,
) -> Skill:
    """Create a skill (or update ``skill``) in the group named ``group`` (made if new).
    ``levels``: the skill's own scale ("A|B|C"), empty for the framework's."""
    _require_editor(user, framework.space_id)
    group_name = _name(group, max_length=120, what=_("group"))
    skill_name = _name(name, max_length=120, what=_("skill name"))
    text = " ".join(sanitize.plain(description or "").split())[:500]
    clash = Skill.objects.filter(framework=framework, name__iexact=skill_name)
    if skill is not None:
        clash = clash.exclude(pk=skill.pk)
    if clash.exists():
        raise ValidationError({"name": _("A skill of this name exists already.")})
    if skill is None and Skill.objects.filter(framework=framework).count() >= MAX_SKILLS:
        raise ValidationError(_("A framework has at most %(n)s skills.") % {"n": MAX_SKILLS})
    grp, _created = SkillGroup.objects.get_or_create(framework=framework, name=group_name)
    if skill is None:
        skill = Skill.objects.create(
            framework=framework, group=grp, name=skill_name, description=text
        )
    else:
        skill.group, skill.name, skill.description = grp, skill_name, text
        skill.save(update_fields=["group", "name", "description"])
    if levels.strip():
        _replace_levels(framework, skill, _level_names(levels))
    elif skill.own_levels.exists():
        _replace_levels(framework, skill, [])
    SkillGroup.objects.filter(framework=framework, skills__isnull=True).delete()
    return skill


@transaction.atomic
def skill_delete(*, user: User, skill: Skill) -> None:
    """Delete a skill with its links, levels, targets and everyone's levels in it."""
    _require_editor(user, skill.framework.space_id)
    framework = skill.framework
    skill.delete()
    SkillGroup.objects.filter(framework=framework, skills__isnull=True).delete()


# -- CSV import and export -------------------------------------------------------------------
@dataclass
class ImportPlan:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _read_csv(data: bytes | str) -> list[list[str]]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_CSV_BYTES:
        raise ValidationError(_("The file is larger than %(n)s KB.") % {"n": MAX_CSV_BYTES // 1000})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(_("The file is not UTF-8 text.")) from exc
    if "\x00" in text:
        raise ValidationError(_("The file is not CSV text (it holds NUL bytes)."))
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValidationError(_("The file is not valid CSV: %(e)s") % {"e": exc}) from exc
    if not rows:
        raise ValidationError(_("The file is empty."))
    if len(rows) > MAX_CSV_ROWS + 1:
        raise ValidationError(_("At most %(n)s rows at once.") % {"n": MAX_CSV_ROWS})
    return rows


def import_preview(*, user: User, framework: Framework, data: bytes | str) -> ImportPlan:
    """Each row of a skills CSV (``group,skill,description,levels``) checked: what it would
    create or update, or its problem with its line number. Changes nothing."""
    _require_editor(user, framework.space_id)
    rows = _read_csv(data)
    header = [h.strip().lower() for h in rows[0]]
    if (
        header[:2] != CSV_COLUMNS[:2]
        or not set(header) <= set(CSV_COLUMNS)
        or len(set(header)) != len(header)
    ):
        raise ValidationError(
            _("Line 1: the columns must be %(cols)s (description and levels optional).")
            % {"cols": ", ".join(CSV_COLUMNS)}
        )
    existing = {
        n.casefold(): pk
        for pk, n in Skill.objects.filter(framework=framework).values_list("id", "name")
    }
    plan = ImportPlan()
    seen: dict[str, int] = {}
    for number, raw in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in raw):
            continue
        row: dict[str, Any] = {"line": number, "error": ""}
        if len(raw) != len(header):
            row.update(group="", skill="", description="", levels="")
            row["error"] = _("%(n)s cells, the header has %(m)s.") % {
                "n": len(raw),
                "m": len(header),
            }
        else:
            cells = dict(zip(header, raw, strict=True))
            try:
                row["group"] = _name(cells["group"], max_length=120, what=_("group"))
                row["skill"] = _name(cells["skill"], max_length=120, what=_("skill name"))
                row["description"] = " ".join(sanitize.plain(cells.get("description", "")).split())[
                    :500
                ]
                row["levels"] = (
                    "|".join(_level_names(cells["levels"]))
                    if cells.get("levels", "").strip()
                    else ""
                )
            except ValidationError as exc:
                row.setdefault("group", cells.get("group", "")[:120])
                row.setdefault("skill", cells.get("skill", "")[:120])
                row.setdefault("description", "")
                row.setdefault("levels", "")
                row["error"] = " ".join(exc.messages)
        if not row["error"]:
            key = row["skill"].casefold()
            if key in seen:
                row["error"] = _("The same skill as line %(n)s.") % {"n": seen[key]}
            else:
                seen[key] = number
            row["action"] = "update" if key in existing else "create"
        if row["error"]:
            plan.errors.append(_("Line %(n)s: %(e)s") % {"n": number, "e": row["error"]})
        plan.rows.append(row)
    if not plan.rows:
        raise ValidationError(_("The file has no skill rows."))
    if len(set(existing) | set(seen)) > MAX_SKILLS:
        plan.errors.append(_("A framework has at most %(n)s skills.") % {"n": MAX_SKILLS})
    return plan


@transaction.atomic
def import_apply(*, user: User, framework: Framework, data: bytes | str) -> int:
    """Apply a skills CSV: every row or none. One bad row refuses the file with its line."""
    plan = import_preview(user=user, framework=framework, data=data)
    if plan.errors:
        raise ValidationError(plan.errors[:20])
    Framework.objects.select_for_update().filter(pk=framework.pk).first()
    by_name = {s.name.casefold(): s for s in Skill.objects.filter(framework=framework)}
    for row in plan.rows:
        skill_save(
            user=user,
            framework=framework,
            group=row["group"],
            name=row["skill"],
            description=row["description"],
            levels=row["levels"],
            skill=by_name.get(row["skill"].casefold()),
        )
    return len(plan.rows)


def export_csv(*, framework: Framework) -> str:
    """The framework as the CSV that ``import_apply`` reads (spreadsheet-safe cells)."""
    from classrooms.reports import spreadsheet_cell

    _default, own = selectors.scales(framework)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for s in selectors.skills_of(framework):
        levels = "|".join(lv.name for lv in own.get(s.pk, []))
        writer.writerow(
            [
                spreadsheet_cell(s.group.name),
                spreadsheet_cell(s.name),
                spreadsheet_cell(s.description),
                spreadsheet_cell(levels),
            ]
        )
    return out.getvalue()


# -- links and evidence ----------------------------------------------------------------------
def _check_level(skill: Skill, level: int) -> None:
    top = len(selectors.scale_of(skill))
    if not 1 <= level <= top:
        raise ValidationError({"level": _("Choose a level from 1 to %(n)s.") % {"n": top}})


@transaction.atomic
def link_add(
    *,
    user: User,
    skill: Skill,
    level: int,
    course: Course | None = None,
    activity: Activity | None = None,
    session: Session | None = None,
    badge: BadgeDefinition | None = None,
) -> SkillLink:
    """Link ``skill`` at ``level`` to a course, an activity, a session or a badge of the
    skill's space. People who already completed, attended or earned it get the evidence."""
    space_id = skill.framework.space_id
    _require_editor(user, space_id)
    sources = [x for x in (course, activity, session, badge) if x is not None]
    if len(sources) != 1:
        raise ValidationError(_("Link a course, an activity, a session or a badge: one."))
    source_space = (
        course.space_id
        if course
        else activity.course.space_id
        if activity
        else session.space_id
        if session
        else badge.space_id
    )
    if source_space != space_id:
        raise ValidationError(_("It belongs to another space."))
    _check_level(skill, level)
    kind = ("course", "activity", "session", "badge")[
        [course, activity, session, badge].index(sources[0])
    ]
    if SkillLink.objects.filter(skill=skill, **{kind: sources[0]}).exists():
        raise ValidationError(_("This skill is already linked to it."))
    link = SkillLink.objects.create(
        skill=skill,
        level=level,
        course=course,
        activity=activity,
        session=session,
        badge=badge,
        created_by=user,
    )
    if course:
        people = Enrolment.objects.filter(course=course, status=EnrolmentStatus.COMPLETED)
    elif activity:
        people = Completion.objects.filter(activity=activity)
    elif session:
        people = Registration.objects.filter(session=session, attendance__in=ATTENDED)
    else:
        people = BadgeAward.objects.filter(badge=badge)
    user_ids = list(people.values_list("user_id", flat=True).distinct())
    _record_evidence([(uid, link) for uid in user_ids])
    return link


@transaction.atomic
def link_remove(*, user: User, link: SkillLink) -> None:
    """Remove a link: evidence already given stays (it is what happened)."""
    _require_editor(user, link.skill.framework.space_id)
    link.delete()


def _record_evidence(pairs: list[tuple[int, SkillLink]]) -> None:
    """Evidence for each (person, link) not recorded yet; raise evidenced levels (the max
    over evidence) and push what changed. A fixed number of queries for any batch."""
    if not pairs:
        return
    links = {link.pk: link for _u, link in pairs}
    user_ids = {u for u, _l in pairs}
    have = set(
        Evidence.objects.filter(link_id__in=links, user_id__in=user_ids).values_list(
            "user_id", "link_id"
        )
    )
    now = timezone.now()
    fresh = [
        Evidence(
            user_id=u,
            skill_id=link.skill_id,
            link=link,
            level=link.level,
            kind=selectors.link_source(link)[0],
            label=selectors.link_label(link),
            at=now,
        )
        for u, link in pairs
        if (u, link.pk) not in have
    ]
    if not fresh:
        return
    Evidence.objects.bulk_create(fresh, ignore_conflicts=True)
    best: dict[tuple[int, int], int] = {}
    for e in fresh:
        key = (e.user_id, e.skill_id)
        best[key] = max(best.get(key, 0), e.level)
    skill_ids = {s for _u, s in best}
    rows = {
        (r.user_id, r.skill_id): r
        for r in PersonSkill.objects.select_for_update().filter(
            user_id__in=user_ids, skill_id__in=skill_ids
        )
    }
    changed: list[PersonSkill] = []
    created: list[PersonSkill] = []
    for (u, s), level in best.items():
        row = rows.get((u, s))
        if row is None:
            row = PersonSkill(user_id=u, skill_id=s, evidenced=level, evidenced_at=now)
            created.append(row)
        elif level > row.evidenced:
            row.evidenced, row.evidenced_at = level, now
            changed.append(row)
    PersonSkill.objects.bulk_create(created, ignore_conflicts=True)
    PersonSkill.objects.bulk_update(changed, ["evidenced", "evidenced_at"], batch_size=1000)
    space_id = next(iter(links.values())).skill.framework.space_id
    _publish(space_id, created + changed)


def _publish(space_id: int, rows: list[PersonSkill]) -> None:
    """``skill.changed`` on the space's topic and the teams' of each person; the person's
    own ``skills.changed``. Events go in batches per topic for a bulk change."""
    if not rows:
        return
    payloads = [selectors.person_payload(r, user_id=r.user_id, skill_id=r.skill_id) for r in rows]
    teams_of: dict[int, list[int]] = defaultdict(list)
    for user_id, team_id in Team.members.through.objects.filter(
        user_id__in={r.user_id for r in rows}, team__space_id=space_id
    ).values_list("user_id", "team_id"):
        teams_of[user_id].append(team_id)
    by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in payloads:
        by_topic[selectors.space_topic(space_id)].append(p)
        for team_id in teams_of[p["user"]]:
            by_topic[selectors.team_topic(team_id)].append(p)
        realtime.publish(f"hub.user.{p['user']}", "skills.changed", p)
    for topic, items in by_topic.items():
        for start in range(0, len(items), 200):
            realtime.publish(topic, "skill.changed", {"cells": items[start : start + 200]})


def _on_source(user: Any, **source: Any) -> None:
    """One query when nothing is linked to ``source`` (the usual case of a completion)."""
    links = list(SkillLink.objects.filter(**source).select_related("skill__framework"))
    if links:
        with transaction.atomic():
            _record_evidence([(user.pk, link) for link in links])


def on_course_completed(*, user: Any, course: Any, **_: Any) -> None:
    """``classrooms.course_completed``."""
    _on_source(user, course=course)


def on_activity_completed(*, user: Any, activity: Any, **_: Any) -> None:
    """``classrooms.activity_completed``."""
    _on_source(user, activity=activity)


def on_session_attended(*, user: Any, session: Any, **_: Any) -> None:
    """``sessions.attended``."""
    _on_source(user, session=session)


def on_badge_earned(*, user: Any, badge: Any, **_: Any) -> None:
    """``leaderboards.badge_earned``."""
    _on_source(user, badge=badge)


# -- assessments and targets -----------------------------------------------------------------
@transaction.atomic
def assessment_record(
    *, assessor: User, person: User, skill: Skill, kind: str, level: int, comment: str = ""
) -> Assessment:
    """A self assessment (the person) or a manager's (their manager, the space's
    coordinators and admins; never of oneself). Kept; the latest is the current one."""
    space_id = skill.framework.space_id
    if kind == AssessmentKind.SELF:
        if assessor.pk != person.pk:
            raise PermissionDenied(_("Only the person assesses themselves."))
        if not selectors.can_see_person(viewer=assessor, person=person, space_id=space_id):
            raise PermissionDenied(_("You are not a member of this space."))
    elif kind == AssessmentKind.MANAGER:
        if not selectors.can_assess_as_manager(viewer=assessor, person=person, space_id=space_id):
            raise PermissionDenied(_("Only the person's manager assesses them."))
        if not selectors.can_see_person(viewer=assessor, person=person, space_id=space_id):
            raise PermissionDenied(_("This person is not a member of the space."))
    else:
        raise ValidationError({"kind": _("An assessment is a self or a manager assessment.")})
    _check_level(skill, level)
    text = " ".join(sanitize.plain(comment or "").split())[:1000]
    now = timezone.now()
    assessment = Assessment.objects.create(
        user=person, skill=skill, kind=kind, level=level, comment=text, assessor=assessor, at=now
    )
    row, _created = PersonSkill.objects.select_for_update().get_or_create(user=person, skill=skill)
    if kind == AssessmentKind.SELF:
        row.self_level = level
    else:
        row.manager_level = level
    row.save(update_fields=["self_level", "manager_level"])
    _publish(space_id, [row])
    return assessment


@transaction.atomic
def target_set(
    *,
    user: User,
    skill: Skill,
    level: int,
    team: Team | None = None,
    role: str = "",
) -> Target | None:
    """The level a team (its manager, or the space's coordinators and admins) or a role
    (coordinators and admins) is expected to reach; level 0 removes the target."""
    space_id = skill.framework.space_id
    if (team is None) == (not role):
        raise ValidationError(_("Set a target for a team or for a role: one."))
    if team is not None:
        if team.space_id != space_id:
            raise ValidationError({"team": _("The team belongs to another space.")})
        if not selectors.can_set_team_target(user=user, team=team):
            raise PermissionDenied(_("Only the team's manager sets its targets."))
        where = Q(team=team)
    else:
        if role not in Role.values:
            raise ValidationError({"role": _("Unknown role.")})
        _require_editor(user, space_id)
        where = Q(role=role)
    if level == 0:
        Target.objects.filter(where, skill=skill).delete()
        return None
    _check_level(skill, level)
    target = Target.objects.select_for_update().filter(where, skill=skill).first()
    if target is None:
        return Target.objects.create(skill=skill, team=team, role=role, level=level, set_by=user)
    target.level, target.set_by = level, user
    target.save(update_fields=["level", "set_by", "set_at"])
    return target
