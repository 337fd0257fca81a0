"""Pages of learning paths: mine (live), the list, a path (items, prerequisites, assign),
a manager's team (overdue first, live)."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from classrooms.models import Activity, Course
from hub.accounts.models import Role, Space, Team, User
from hub.accounts.selectors import spaces_of, teams_managed_by
from hub.params import parse_id
from paths import selectors, services
from paths.models import PathItem


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _path(request: HttpRequest, pk: int):
    return get_object_or_404(selectors.paths_visible_to(user=request.user), pk=pk)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    rows = []
    for a in selectors.assignments_of(user=request.user):
        items = selectors.items_of(a.path)
        done = selectors.done_item_ids(
            user_id=request.user.pk, items=items, since=a.cycle_started_at
        )
        states = selectors.item_states(path=a.path, items=items, done=done)
        for s in states:
            s["url"] = selectors.item_url(s["item"])
        cycles = selectors.cycles_of(a) if a.cycle > 1 else []
        rows.append(
            {"a": a, "states": states, "overdue": selectors.is_overdue(a), "cycles": cycles}
        )
    return render(request, "paths/mine.html", {"rows": rows})


@login_required
def path_list(request: HttpRequest) -> HttpResponse:
    if not request.user.has_role(Role.ADMIN, Role.COORDINATOR, Role.TRAINER, Role.MANAGER):
        raise PermissionDenied
    paths = selectors.paths_visible_to(user=request.user).select_related("space")[:500]
    can_create = request.user.has_role(Role.ADMIN, Role.COORDINATOR, Role.TRAINER)
    return render(request, "paths/list.html", {"paths": paths, "can_create": can_create})


def _parse_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise ValidationError(_("Dates are written YYYY-MM-DD.")) from None
    return timezone.make_aware(day.replace(hour=23, minute=59))


@login_required
def path_new(request: HttpRequest) -> HttpResponse:
    spaces = list(
        Space.objects.all() if request.user.has_role(Role.ADMIN) else spaces_of(user=request.user)
    )
    errors = ""
    if request.method == "POST":
        space = next((s for s in spaces if s.pk == parse_id(request.POST.get("space", ""))), None)
        try:
            if space is None:
                raise ValidationError(_("Choose a space."))
            days = (
                parse_id(request.POST.get("due_days", "")) if request.POST.get("due_days") else None
            )
            path = services.path_create(
                user=request.user,
                space=space,
                title=request.POST.get("title", "")[:200],
                description=request.POST.get("description", "")[:5000],
                ordered=request.POST.get("ordered") == "on",
                due_date=_parse_date(request.POST.get("due_date", "")),
                due_days=days,
            )
        except ValidationError as exc:
            errors = _errors(exc)
        else:
            return redirect("paths-detail", path.pk)
    elif not request.user.has_role(Role.ADMIN, Role.COORDINATOR, Role.TRAINER):
        raise PermissionDenied
    return render(
        request,
        "paths/new.html",
        {"spaces": spaces, "errors": errors},
        status=400 if errors else 200,
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    path = _path(request, pk)
    items = selectors.items_of(path)
    editor = selectors.can_edit_path(user=request.user, path=path)
    states = selectors.item_states(path=path, items=items, done=set())
    for s in states:
        s["url"] = selectors.item_url(s["item"])
    context = {"path": path, "states": states, "editor": editor, "items": items}
    if editor:
        used_courses = {i.course_id for i in items}
        used_activities = {i.activity_id for i in items}
        context["courses"] = Course.objects.filter(space=path.space).exclude(pk__in=used_courses)
        context["activities"] = (
            Activity.objects.filter(course__space=path.space, kind__in=["session", "live_class"])
            .exclude(pk__in=used_activities)
            .select_related("course")[:200]
        )
        context["teams"] = Team.objects.filter(space=path.space)
        context["assigned"] = path.assignments.count()
    elif request.user.has_role(Role.MANAGER):
        context["teams"] = teams_managed_by(user=request.user).filter(space=path.space)
    return render(request, "paths/detail.html", context)


@login_required
@require_POST
def item_add(request: HttpRequest, pk: int) -> HttpResponse:
    path = _path(request, pk)
    course = activity = None
    value = request.POST.get("item", "")
    kind, _sep, raw = value.partition(":")
    ident = parse_id(raw)
    if kind == "course" and ident:
        course = Course.objects.filter(pk=ident).first()
    elif kind == "activity" and ident:
        activity = Activity.objects.select_related("course").filter(pk=ident).first()
    try:
        services.path_item_add(
            user=request.user,
            path=path,
            course=course,
            activity=activity,
            required=request.POST.get("required") == "on",
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return redirect("paths-detail", path.pk)


@login_required
@require_POST
def prerequisites(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        PathItem.objects.filter(path__in=selectors.paths_visible_to(user=request.user)), pk=pk
    )
    ids = [i for i in (parse_id(v) for v in request.POST.getlist("prerequisites")) if i]
    try:
        services.path_item_prerequisites_set(user=request.user, item=item, prerequisites=ids)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Prerequisites saved."))
    return redirect("paths-detail", item.path_id)


@login_required
@require_POST
def assign(request: HttpRequest, pk: int) -> HttpResponse:
    path = _path(request, pk)
    target = request.POST.get("to", "")
    kind, _sep, raw = target.partition(":")
    ident = parse_id(raw)
    kwargs: dict = {}
    if kind == "team" and ident:
        kwargs["team"] = get_object_or_404(Team, pk=ident)
    elif kind == "space":
        kwargs["space"] = True
    else:
        names = [n.strip() for n in request.POST.get("usernames", "").split(",") if n.strip()]
        kwargs["users"] = list(User.objects.filter(username__in=names[:1000], is_active=True))
    try:
        kwargs["due_at"] = _parse_date(request.POST.get("due_at", ""))
        kwargs["again"] = request.POST.get("again") == "1"
        created = services.path_assign(actor=request.user, path=path, **kwargs)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Assigned to %(n)s people.") % {"n": len(created)})
    return redirect("paths-detail", path.pk)


@login_required
def team(request: HttpRequest) -> HttpResponse:
    if not request.user.has_role(Role.MANAGER, Role.ADMIN):
        raise PermissionDenied
    rows = list(selectors.team_assignments(manager=request.user)[:1000])
    now = timezone.now()
    overdue = [a for a in rows if selectors.is_overdue(a, now)]
    others = [a for a in rows if not selectors.is_overdue(a, now)]
    topics = [selectors.team_topic(t.pk) for t in teams_managed_by(user=request.user)]
    # Courses and activities past their due date (paths/due.py), beside the paths.
    from paths import due

    items = due.team_overdue(manager=request.user, kinds=("enrolment", "activity"))
    return render(
        request,
        "paths/team.html",
        {"overdue": overdue, "others": others, "topics": topics, "overdue_items": items},
    )
