"""Pages: my skills (levels, evidence, gaps, suggested courses, self assessment); a
person's skills for their manager (manager assessment); the team matrix (live, CSV, team
targets); the framework editor for coordinators and admins (levels, skills, links, role
targets, CSV import with a preview and export)."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from classrooms.models import Activity, Course
from classrooms.reports import spreadsheet_cell
from hub.accounts.middleware import current_space
from hub.accounts.models import Role, Space, Team, User
from hub.params import parse_id
from leaderboards.models import BadgeDefinition
from sessions.models import Session
from skills import api, selectors, services
from skills.models import AssessmentKind, Skill, SkillLink


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _space(request: HttpRequest) -> Space:
    space = current_space(request)
    if space is None:
        raise Http404
    return space


def _editor_space(request: HttpRequest) -> Space:
    space = _space(request)
    if not selectors.can_edit_framework(user=request.user, space_id=space.pk):
        raise PermissionDenied
    return space


def _skill(request: HttpRequest, pk: int) -> Skill:
    space = _space(request)
    return get_object_or_404(
        Skill.objects.select_related("framework", "group"), pk=pk, framework__space=space
    )


def _person_page(request: HttpRequest, person: User) -> HttpResponse:
    space = _space(request)
    if not selectors.can_see_person(viewer=request.user, person=person, space_id=space.pk):
        raise Http404
    framework = selectors.framework_of(space=space)
    items = selectors.person_skills(person=person, framework=framework) if framework else []
    return render(
        request,
        "skills/person.html",
        {
            "person": person,
            "mine": person.pk == request.user.pk,
            "items": items,
            "gaps": sum(1 for i in items if i["gap"]),
            "can_assess": selectors.can_assess_as_manager(
                viewer=request.user, person=person, space_id=space.pk
            ),
            "editor": selectors.can_edit_framework(user=request.user, space_id=space.pk),
            "teams": selectors.matrix_teams(user=request.user, space=space).exists(),
        },
    )


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    return _person_page(request, request.user)


@login_required
def person(request: HttpRequest, pk: int) -> HttpResponse:
    return _person_page(request, get_object_or_404(User, pk=pk, is_active=True))


@login_required
@require_POST
def assess(request: HttpRequest, pk: int, skill_pk: int) -> HttpResponse:
    """A self assessment (on one's own page) or a manager's (on a report's)."""
    space = _space(request)
    person = get_object_or_404(User, pk=pk, is_active=True)
    if not selectors.can_see_person(viewer=request.user, person=person, space_id=space.pk):
        raise Http404
    skill = _skill(request, skill_pk)
    kind = AssessmentKind.SELF if person.pk == request.user.pk else AssessmentKind.MANAGER
    level = parse_id(request.POST.get("level", "")) or 0
    try:
        services.assessment_record(
            assessor=request.user,
            person=person,
            skill=skill,
            kind=kind,
            level=level,
            comment=request.POST.get("comment", "")[:1000],
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Assessment saved."))
    if person.pk == request.user.pk:
        return redirect("skills-mine")
    return redirect("skills-person", person.pk)


# -- the matrix ------------------------------------------------------------------------------
def _matrix_body(m: dict) -> str:
    """The matrix's rows as HTML, built here rather than by the template language: a
    template loop over 25,000 cells took seconds. Names are escaped (``format_html``);
    every other value is a number."""
    out = []
    for row in m["rows"]:
        user = row["user"]
        cells = "".join(_cell_html(c) for c in row["cells"])
        out.append(
            format_html(
                '<tr data-user="{}"><th scope="row"><a href="{}">{}</a></th>',
                user.pk,
                reverse("skills-person", args=[user.pk]),
                user.name,
            )
            + cells
            + "</tr>"
        )
    # Safe: the names went through format_html, the rest are numbers.
    return mark_safe("\n".join(out))


def _cell_html(c: dict) -> str:
    gap = ' class="gap"' if c["gap"] else ""
    self_level = "–" if c["self"] is None else c["self"]
    manager = "–" if c["manager"] is None else c["manager"]
    return (
        f'<td data-skill="{c["skill"]}" data-target="{c["target"] or ""}"{gap}>'
        f'<b class="ev">{c["evidenced"]}</b> <small class="sm">{self_level}/{manager}</small></td>'
    )


def _matrix_context(request: HttpRequest):
    space = _space(request)
    team_id = parse_id(request.GET.get("team", "")) if request.GET.get("team") else None
    if request.GET.get("team") and team_id is None:
        raise Http404
    team, manages = api.matrix_scope(user=request.user, space=space, team_id=team_id)
    framework = selectors.framework_of(space=space)
    return space, team, manages, framework


@login_required
def matrix(request: HttpRequest) -> HttpResponse:
    space, team, manages, framework = _matrix_context(request)
    m = None
    if framework is not None:
        m = selectors.matrix(
            framework=framework, people=selectors.matrix_people(space=space, team=team)
        )
    topics = []
    if team is not None and (
        team.manager_id == request.user.pk or request.user.has_role(Role.ADMIN)
    ):
        topics.append(selectors.team_topic(team.pk))
    elif manages:
        topics.append(selectors.space_topic(space.pk))
    targets = {}
    if team is not None and framework is not None:
        targets = dict(
            framework.skills.filter(targets__team=team).values_list("id", "targets__level")
        )
    return render(
        request,
        "skills/matrix.html",
        {
            "space": space,
            "team": team,
            "teams": selectors.matrix_teams(user=request.user, space=space),
            "everyone": manages,
            "m": m,
            "body": _matrix_body(m) if m else "",
            # Per column: the skill, the team's target, the level names (no nested loops
            # in the template).
            "columns": [
                {"skill": sk, "target": targets.get(sk.pk, 0), "levels": m["levels"][sk.pk]}
                for sk in m["skills"]
            ]
            if m
            else [],
            "topics": " ".join(topics),
            "can_target": team is not None
            and selectors.can_set_team_target(user=request.user, team=team),
            "api_url": reverse("api-skills-matrix")
            + f"?space={space.pk}"
            + (f"&team={team.pk}" if team else ""),
        },
    )


@login_required
def matrix_csv(request: HttpRequest) -> HttpResponse:
    space, team, _manages, framework = _matrix_context(request)
    if framework is None:
        raise Http404
    m = selectors.matrix(
        framework=framework, people=selectors.matrix_people(space=space, team=team)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Person"),
            _("Username"),
            _("Group"),
            _("Skill"),
            _("Evidenced"),
            _("Self"),
            _("Manager"),
            _("Target"),
            _("Gap"),
        ]
    )
    for row in m["rows"]:
        for skill, cell in zip(m["skills"], row["cells"], strict=True):
            writer.writerow(
                [
                    spreadsheet_cell(row["user"].name),
                    spreadsheet_cell(row["user"].username),
                    spreadsheet_cell(skill.group.name),
                    spreadsheet_cell(skill.name),
                    cell["evidenced"],
                    spreadsheet_cell(cell["self"]),
                    spreadsheet_cell(cell["manager"]),
                    spreadsheet_cell(cell["target"]),
                    "yes" if cell["gap"] else "",
                ]
            )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"skills-team-{team.pk}.csv" if team else f"skills-space-{space.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def team_targets(request: HttpRequest, pk: int) -> HttpResponse:
    """The manager's required levels for their team, one per skill (0: none)."""
    space = _space(request)
    team = get_object_or_404(Team, pk=pk, space=space)
    if not selectors.can_set_team_target(user=request.user, team=team):
        raise Http404
    framework = selectors.framework_of(space=space)
    if framework is None:
        raise Http404
    try:
        from django.db import transaction

        with transaction.atomic():
            for skill in framework.skills.all():
                raw = request.POST.get(f"target-{skill.pk}")
                if raw is None:
                    continue
                level = parse_id(raw)
                if level is None:
                    raise ValidationError(_("Choose a level."))
                services.target_set(user=request.user, skill=skill, level=level, team=team)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Targets saved."))
    return redirect(f"{reverse('skills-matrix')}?team={team.pk}")


# -- the framework editor --------------------------------------------------------------------
@login_required
def framework(request: HttpRequest) -> HttpResponse:
    space = _editor_space(request)
    fw = selectors.framework_of(space=space)
    plan = None
    text = ""
    if request.method == "POST":
        fw = fw or services.framework_ensure(user=request.user, space=space)
        action = request.POST.get("action", "")
        try:
            if action == "levels":
                services.levels_set(
                    user=request.user,
                    framework=fw,
                    names="|".join(
                        n for n in request.POST.get("levels", "")[:2000].splitlines() if n.strip()
                    ),
                )
                messages.success(request, _("Levels saved."))
                return redirect("skills-framework")
            if action == "skill":
                services.skill_save(
                    user=request.user,
                    framework=fw,
                    group=request.POST.get("group", "")[:500],
                    name=request.POST.get("name", "")[:500],
                    description=request.POST.get("description", "")[:2000],
                )
                messages.success(request, _("Skill added."))
                return redirect("skills-framework")
            if action in ("preview", "apply"):
                upload = request.FILES.get("file")
                if upload is not None:
                    if upload.size > services.MAX_CSV_BYTES:
                        raise ValidationError(
                            _("The file is larger than %(n)s KB.")
                            % {"n": services.MAX_CSV_BYTES // 1000}
                        )
                    data: bytes | str = upload.read(services.MAX_CSV_BYTES + 1)
                else:
                    data = request.POST.get("csv", "")
                if isinstance(data, bytes):
                    try:
                        text = data.decode("utf-8-sig")
                    except UnicodeDecodeError:
                        text = ""
                else:
                    text = data
                if action == "apply":
                    count = services.import_apply(user=request.user, framework=fw, data=data)
                    messages.success(request, _("%(n)s skills imported.") % {"n": count})
                    return redirect("skills-framework")
                plan = services.import_preview(user=request.user, framework=fw, data=data)
        except ValidationError as exc:
            messages.error(request, _errors(exc))
    default, own = selectors.scales(fw) if fw else ([], {})
    return render(
        request,
        "skills/framework.html",
        {
            "space": space,
            "fw": fw,
            "levels": default,
            "skills": selectors.skills_of(fw) if fw else [],
            "own": own,
            "plan": plan,
            "csv_text": text if len(text) <= services.MAX_CSV_BYTES else "",
        },
    )


@login_required
def framework_csv(request: HttpRequest) -> HttpResponse:
    space = _editor_space(request)
    fw = selectors.framework_of(space=space)
    if fw is None:
        raise Http404
    response = HttpResponse(
        services.export_csv(framework=fw), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="skills-{space.slug}.csv"'
    return response


@login_required
def skill_detail(request: HttpRequest, pk: int) -> HttpResponse:
    space = _editor_space(request)
    skill = _skill(request, pk)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "save":
                services.skill_save(
                    user=request.user,
                    framework=skill.framework,
                    group=request.POST.get("group", "")[:500],
                    name=request.POST.get("name", "")[:500],
                    description=request.POST.get("description", "")[:2000],
                    levels="|".join(
                        n for n in request.POST.get("levels", "")[:2000].splitlines() if n.strip()
                    ),
                    skill=skill,
                )
                messages.success(request, _("Skill saved."))
            elif action == "delete":
                services.skill_delete(user=request.user, skill=skill)
                messages.success(request, _("Skill deleted."))
                return redirect("skills-framework")
            elif action == "link":
                kind, _sep, raw = request.POST.get("source", "").partition(":")
                model = {
                    "course": Course,
                    "activity": Activity,
                    "session": Session,
                    "badge": BadgeDefinition,
                }.get(kind)
                source_id = parse_id(raw)
                if model is None or source_id is None:
                    raise ValidationError(_("Choose what proves the skill."))
                source = model.objects.filter(pk=source_id).first()
                if source is None:
                    raise ValidationError(_("Choose what proves the skill."))
                services.link_add(
                    user=request.user,
                    skill=skill,
                    level=parse_id(request.POST.get("level", "")) or 0,
                    **{kind: source},
                )
                messages.success(request, _("Link added."))
            elif action == "unlink":
                link = get_object_or_404(
                    SkillLink, pk=parse_id(request.POST.get("link", "")) or 0, skill=skill
                )
                services.link_remove(user=request.user, link=link)
                messages.success(request, _("Link removed."))
            elif action == "role-target":
                services.target_set(
                    user=request.user,
                    skill=skill,
                    level=parse_id(request.POST.get("level", "")) or 0,
                    role=request.POST.get("role", ""),
                )
                messages.success(request, _("Target saved."))
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        return redirect("skills-skill", skill.pk)
    return render(
        request,
        "skills/skill.html",
        {
            "skill": skill,
            "scale": selectors.scale_of(skill),
            "own_levels": list(skill.own_levels.order_by("rank")),
            "links": selectors.links_of(skill=skill),
            "role_targets": list(skill.targets.filter(team__isnull=True).order_by("role")),
            "roles": Role.choices,
            "courses": Course.objects.filter(space=space).order_by("title")[:500],
            "activities": Activity.objects.filter(course__space=space)
            .select_related("course")
            .order_by("course__title", "position")[:1000],
            "sessions": Session.objects.filter(space=space).order_by("-starts_at")[:300],
            "badges": BadgeDefinition.objects.filter(space=space).order_by("name")[:300],
        },
    )
