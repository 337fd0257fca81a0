"""Every write of learning paths: paths, items and prerequisites, assignments (to a person,
a team or a space), progress from the classrooms' completions, due reminders."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from classrooms import services as classrooms_services
from classrooms.models import Activity, Course
from hub import events, realtime, sanitize
from hub.accounts.models import Role, Space, Team, User
from hub.accounts.selectors import is_manager_of, space_member_ids
from hub.notify import notify
from paths import selectors
from paths.models import Audience, CycleReason, Path, PathAssignment, PathCycle, PathItem

MAX_ITEMS = 100
MAX_ASSIGN = 20_000


def _require_editor(user: User, path: Path) -> None:
    if not selectors.can_edit_path(user=user, path=path):
        raise PermissionDenied(_("Only the space's trainers and coordinators edit its paths."))


def path_create(
    *,
    user: User,
    space: Space,
    title: str,
    description: str = "",
    ordered: bool = True,
    due_date: datetime | None = None,
    due_days: int | None = None,
) -> Path:
    description_html = sanitize.markdown(description or "", max_chars=5000, field="description")
    title = sanitize.plain(title or "").strip()[:200]
    if not title:
        raise ValidationError({"title": _("The path needs a title.")})
    if due_date and due_days:
        raise ValidationError({"due_days": _("Give a due date or a number of days, not both.")})
    if not selectors.can_create_path(user=user, space=space):
        raise PermissionDenied(_("Only the space's trainers and coordinators create paths."))
    return Path.objects.create(
        space=space,
        title=title,
        description_html=description_html,
        ordered=ordered,
        due_date=due_date,
        due_days=due_days or None,
        created_by=user,
    )


@transaction.atomic
def path_item_add(
    *,
    user: User,
    path: Path,
    course: Course | None = None,
    activity: Activity | None = None,
    required: bool = True,
    prerequisites: list[int] | None = None,
) -> PathItem:
    """Add a course or an activity (a session, a live class, ...) of the path's space. The
    same course or activity twice in one path is refused."""
    _require_editor(user, path)
    if (course is None) == (activity is None):
        raise ValidationError(_("An item is a course or an activity."))
    space_id = course.space_id if course else activity.course.space_id
    if space_id != path.space_id:
        raise ValidationError(_("The item belongs to another space."))
    items = PathItem.objects.select_for_update().filter(path=path)
    if items.count() >= MAX_ITEMS:
        raise ValidationError(_("A path has at most %(n)s items.") % {"n": MAX_ITEMS})
    if course and items.filter(course=course).exists():
        raise ValidationError({"course": _("This course is already in the path.")})
    if activity and items.filter(activity=activity).exists():
        raise ValidationError({"activity": _("This activity is already in the path.")})
    last = items.order_by("-position").values_list("position", flat=True).first()
    item = PathItem.objects.create(
        path=path,
        course=course,
        activity=activity,
        required=required,
        position=(last or 0) + 1,
    )
    if prerequisites:
        _set_prerequisites(item, prerequisites)
    _recompute_path(path)
    return item


def _set_prerequisites(item: PathItem, ids: list[int]) -> None:
    wanted = set(ids)
    if item.pk in wanted:
        raise ValidationError({"prerequisites": _("An item cannot require itself.")})
    siblings = dict(PathItem.objects.filter(path_id=item.path_id).values_list("id", "position"))
    if not wanted <= set(siblings):
        raise ValidationError({"prerequisites": _("Prerequisites are items of the same path.")})
    # The graph as it would be: refuse a cycle (item -> ... -> item).
    graph: dict[int, set[int]] = {i: set() for i in siblings}
    for src, dst in PathItem.prerequisites.through.objects.filter(
        from_pathitem__path_id=item.path_id
    ).values_list("from_pathitem_id", "to_pathitem_id"):
        graph[src].add(dst)
    graph[item.pk] = wanted
    path = Path.objects.get(pk=item.path_id)
    if path.ordered:
        # An ordered path also requires each item's predecessor.
        order = sorted(siblings, key=lambda i: (siblings[i], i))
        for before, after in itertools.pairwise(order):
            graph[after].add(before)
    cycle = _find_cycle(graph, item.pk)
    if cycle:
        raise ValidationError(
            {
                "prerequisites": _("These prerequisites go round in a circle: %(chain)s.")
                % {"chain": " → ".join(str(i) for i in cycle)}
            }
        )
    item.prerequisites.set(wanted)


def _find_cycle(graph: dict[int, set[int]], start: int) -> list[int] | None:
    """A path of ids from ``start`` back to itself, or None (iterative DFS)."""
    stack: list[tuple[int, list[int]]] = [(start, [start])]
    seen: set[int] = set()
    while stack:
        node, trail = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return [*trail, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*trail, nxt]))
    return None


@transaction.atomic
def path_item_prerequisites_set(
    *, user: User, item: PathItem, prerequisites: list[int]
) -> PathItem:
    path = Path.objects.select_for_update().get(pk=item.path_id)
    _require_editor(user, path)
    _set_prerequisites(item, prerequisites)
    _recompute_path(path)
    return item


# -- assignment ------------------------------------------------------------------------------
def _may_assign(actor: User, path: Path, users: list[User]) -> None:
    if selectors.can_edit_path(user=actor, path=path):
        return
    if actor.has_role(Role.MANAGER) and all(is_manager_of(manager=actor, user=u) for u in users):
        return
    raise PermissionDenied(_("You may not assign this path to these people."))


def _due_for(path: Path, at: datetime, due_at: datetime | None) -> datetime | None:
    if due_at:
        return due_at
    if path.due_date:
        return path.due_date
    if path.due_days:
        return at + timedelta(days=path.due_days)
    return None


@transaction.atomic
def path_assign(
    *,
    actor: User,
    path: Path,
    users: list[User] | None = None,
    team: Team | None = None,
    space: bool = False,
    due_at: datetime | None = None,
    again: bool = False,
) -> list[PathAssignment]:
    """Assign ``path`` to people, a team's members or the whole space; enrol them in its
    courses. All or nothing: one person who may not be enrolled refuses the whole batch.
    Someone already assigned keeps their assignment (and due date); with ``again``, those
    who completed it start a new cycle (the past one kept in its history; only what they do
    from now on counts). Returns the new assignments and the restarted ones."""
    if sum(bool(x) for x in (users, team, space)) != 1:
        raise ValidationError(_("Assign to people, a team or the space: one of them."))
    if team is not None:
        if team.space_id != path.space_id:
            raise ValidationError({"team": _("The team belongs to another space.")})
        people = list(team.members.filter(is_active=True))
        audience = Audience.TEAM
    elif space:
        if not selectors.can_edit_path(user=actor, path=path):
            raise PermissionDenied(_("Only trainers and coordinators assign a whole space."))
        people = list(
            User.objects.filter(pk__in=space_member_ids(space=path.space), is_active=True)
        )
        audience = Audience.SPACE
    else:
        people = list(users or [])
        audience = Audience.PERSON
    if len(people) > MAX_ASSIGN:
        raise ValidationError(_("At most %(n)s people at once.") % {"n": MAX_ASSIGN})
    members = set(space_member_ids(space=path.space))
    outside = [u for u in people if u.pk not in members]
    if outside:
        raise ValidationError(
            _("Not members of the path's space: %(names)s")
            % {"names": ", ".join(u.username for u in outside[:5])}
        )
    _may_assign(actor, path, people)
    now = timezone.now()
    current = list(
        PathAssignment.objects.select_for_update().filter(path=path, user__in=people).order_by("pk")
    )
    existing = {a.user_id for a in current}
    restarted = [a for a in current if again and a.completed_at is not None]
    _start_cycles(
        restarted,
        now=now,
        reason=CycleReason.REASSIGNED,
        due={a.user_id: _due_for(path, now, due_at) for a in restarted},
    )
    fresh = [u for u in people if u.pk not in existing]
    created = PathAssignment.objects.bulk_create(
        PathAssignment(
            path=path,
            user=u,
            audience=audience,
            team=team,
            assigned_by=actor,
            assigned_at=now,
            due_at=_due_for(path, now, due_at),
        )
        for u in fresh
    )
    items = selectors.items_of(path)
    courses = [i.course for i in items if i.course_id] + [
        i.activity.course for i in items if i.activity_id
    ]
    for user in fresh:
        for course in {c.pk: c for c in courses}.values():
            classrooms_services.enrolment_create(actor=actor, user=user, course=course)
    for assignment in created:
        _recompute(assignment, items=items)
    if fresh:
        notify(
            recipients=fresh,
            kind="path_assigned",
            verb=_("You have a new learning path: %(title)s") % {"title": path.title},
            actor=actor,
            target=path,
            url=reverse("paths-mine"),
        )
    if restarted:
        for assignment in restarted:
            _publish_progress(assignment, done=set())
        _publish_cycles(restarted)
        notify(
            recipients=[a.user for a in restarted],
            kind="path_assigned",
            verb=_("%(title)s starts again: a new cycle") % {"title": path.title},
            actor=actor,
            target=path,
            url=reverse("paths-mine"),
        )
    return created + restarted


# -- progress --------------------------------------------------------------------------------
def _recompute(assignment: PathAssignment, *, items: list[PathItem] | None = None) -> None:
    """Progress of one assignment from the completions; published when it moved."""
    items = items if items is not None else selectors.items_of(assignment.path)
    # A later cycle counts only what was done (again) since it began.
    done = selectors.done_item_ids(
        user_id=assignment.user_id, items=items, since=assignment.cycle_started_at
    )
    progress = selectors.progress_of(items=items, done=done)
    completed_at = assignment.completed_at
    required = [i for i in items if i.required]
    if required and all(i.pk in done for i in required):
        completed_at = completed_at or timezone.now()
    else:
        completed_at = None
    changed = progress != assignment.progress or completed_at != assignment.completed_at
    newly_completed = completed_at is not None and assignment.completed_at is None
    assignment.progress = progress
    assignment.completed_at = completed_at
    assignment.save(update_fields=["progress", "completed_at"])
    if newly_completed:
        events.emit("paths.completed", user=assignment.user, path=assignment.path)
    if not changed:
        return
    _publish_progress(assignment, done=done)


def _publish_progress(assignment: PathAssignment, *, done: set[int]) -> None:
    payload = selectors.assignment_payload(assignment)
    payload["done"] = sorted(done)
    realtime.publish(f"hub.user.{assignment.user_id}", "paths.progress", payload)
    for team_id in selectors.team_ids_of(user_id=assignment.user_id):
        realtime.publish(selectors.team_topic(team_id), "path.progress", payload)


def _recompute_path(path: Path) -> None:
    items = selectors.items_of(path)
    for assignment in PathAssignment.objects.filter(path=path).select_related("path"):
        _recompute(assignment, items=items)


def _recompute_user(user: Any, *, course_id: int) -> None:
    from django.db.models import Q

    assignments = (
        PathAssignment.objects.filter(user=user)
        .filter(Q(path__items__course_id=course_id) | Q(path__items__activity__course_id=course_id))
        .distinct()
        .select_related("path")
    )
    for assignment in assignments:
        _recompute(assignment)


def on_activity_completed(*, user: Any, activity: Any, **_: Any) -> None:
    """``classrooms.activity_completed``: the paths holding that activity or its course."""
    _recompute_user(user, course_id=activity.course_id)


def on_course_completed(*, user: Any, course: Any, **_: Any) -> None:
    _recompute_user(user, course_id=course.pk)


def on_activity_redone(*, user: Any, activity: Any, **_: Any) -> None:
    """``classrooms.activity_redone``: only a later cycle (started after the first
    completion) can move; the first cycle of an ordinary assignment already counted it."""
    from django.db.models import Q

    assignments = (
        PathAssignment.objects.filter(user=user, cycle_started_at__isnull=False)
        .filter(
            Q(path__items__course_id=activity.course_id)
            | Q(path__items__activity__course_id=activity.course_id)
        )
        .distinct()
        .select_related("path")
    )
    for assignment in assignments:
        _recompute(assignment)


# -- due dates -------------------------------------------------------------------------------
def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The due-date sweep of every kind (paths, course enrolments, activities: paths/due.py):
    reminders before the due date, an overdue notice after it (to the person and their
    managers), each sent once. Idempotent. The totals of all kinds; ``paths.due.sweep``
    gives them per kind."""
    from paths import due

    counts = due.sweep(now=now)
    return {
        "reminded": sum(c["reminded"] for c in counts.values()),
        "overdue": sum(c["overdue"] for c in counts.values()),
    }


# -- cycles ----------------------------------------------------------------------------------
def _start_cycles(
    assignments: list[PathAssignment],
    *,
    now: datetime,
    reason: str,
    due: dict[int, datetime | None],
) -> None:
    """A fresh cycle for each of ``assignments`` (locked by the caller): the current one is
    kept as a ``PathCycle`` row, then progress 0 from ``now`` (only what is done, or done
    again, from now on counts), the due date of ``due[user_id]``, reminders reset. Two
    queries whatever the number."""
    if not assignments:
        return
    PathCycle.objects.bulk_create(
        PathCycle(
            assignment=a,
            number=a.cycle,
            reason=a.cycle_reason,
            started_at=a.cycle_started_at or a.assigned_at,
            due_at=a.due_at,
            completed_at=a.completed_at,
            progress=a.progress,
            closed_at=now,
        )
        for a in assignments
    )
    for a in assignments:
        a.cycle += 1
        a.cycle_started_at = now
        a.cycle_reason = reason
        a.due_at = due.get(a.user_id)
        a.progress = 0
        a.completed_at = a.reminded_at = a.overdue_notified_at = None
    PathAssignment.objects.bulk_update(
        assignments,
        [
            "cycle",
            "cycle_started_at",
            "cycle_reason",
            "due_at",
            "progress",
            "completed_at",
            "reminded_at",
            "overdue_notified_at",
        ],
    )


def _publish_cycles(assignments: list[PathAssignment]) -> None:
    """Tell each person a new cycle of a path of theirs opened (an assignment made again, a
    recertification window), on their own topic: their "My learning paths" page redraws
    that path's card (cycle, 0 %, past cycles) without a reload. No query (the payload is
    the row's own fields), so a bulk window stays set-based."""
    for assignment in assignments:
        realtime.publish(
            f"hub.user.{assignment.user_id}",
            "paths.cycle",
            selectors.assignment_payload(assignment),
        )


def _path_courses(items: list[PathItem]) -> list[Course]:
    return list(
        {
            c.pk: c
            for c in [i.course for i in items if i.course_id]
            + [i.activity.course for i in items if i.activity_id]
        }.values()
    )


@transaction.atomic
def path_assign_for_recertification(
    *, path: Path, dues: dict[int, datetime | None], now: datetime | None = None
) -> list[PathAssignment]:
    """Assign ``path`` on the system's behalf to many people at once (the certifications
    app, when recertification windows open; ``dues``: user id -> due date): no permission
    check. Each person gets a fresh cycle starting now (a new assignment, or a new cycle of
    the one they have: the past cycle kept), so activities done before must be done again.
    Enrolled in the path's courses by their own trainers, in bulk. A constant number of
    queries whatever the number of people (per course of the path for the enrolments).
    Safe when run twice at once: the assignments are locked, and a second run for the same
    people inside the same instant starts no second cycle."""
    now = now or timezone.now()
    if not dues:
        return []
    user_ids = sorted(dues)
    PathAssignment.objects.bulk_create(
        [
            PathAssignment(
                path=path,
                user_id=u,
                audience=Audience.PERSON,
                assigned_at=now,
                due_at=dues[u],
                cycle_started_at=now,
                cycle_reason=CycleReason.RECERTIFICATION,
            )
            for u in user_ids
        ],
        ignore_conflicts=True,
    )
    assignments = list(
        PathAssignment.objects.select_for_update()
        .filter(path=path, user_id__in=user_ids)
        .order_by("pk")
    )
    # Those just created (or already started at this very instant) are in a fresh cycle.
    older = [a for a in assignments if a.cycle_started_at is None or a.cycle_started_at < now]
    _start_cycles(older, now=now, reason=CycleReason.RECERTIFICATION, due=dues)
    # Everyone's path is in a fresh cycle now: the restarted ones and those just assigned.
    _publish_cycles(assignments)
    items = selectors.items_of(path)
    for course in _path_courses(items):
        trainer = course.trainers.first()
        if trainer is not None:
            classrooms_services.enrolments_create_many(
                actor=trainer, user_ids=user_ids, course=course
            )
    return assignments
