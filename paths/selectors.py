"""Reads of learning paths: item states (done, unlocked), progress, who may do what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from classrooms.models import Activity, Completion, Enrolment, EnrolmentStatus
from hub.accounts.models import Role, Team
from hub.accounts.selectors import is_space_member
from paths.models import Path, PathAssignment, PathCycle, PathItem


def team_topic(team_id: int) -> str:
    """``paths.team.<id>``: path progress and overdue items of a team, for its manager."""
    return f"paths.team.{team_id}"


def can_edit_path(*, user: Any, path: Path) -> bool:
    """Admins; coordinators and trainers of the path's space."""
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.COORDINATOR, Role.TRAINER) and is_space_member(
        user=user, space=path.space_id
    )


def can_create_path(*, user: Any, space: Any) -> bool:
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.COORDINATOR, Role.TRAINER) and is_space_member(user=user, space=space)


def can_view_path(*, user: Any, path: Path) -> bool:
    return (
        can_edit_path(user=user, path=path)
        or PathAssignment.objects.filter(path=path, user=user).exists()
        or (user.has_role(Role.MANAGER) and is_space_member(user=user, space=path.space_id))
    )


def paths_visible_to(*, user: Any) -> QuerySet[Path]:
    if user.has_role(Role.ADMIN):
        return Path.objects.all()
    from hub.accounts.models import SpaceMembership

    spaces = SpaceMembership.objects.filter(user=user).values("space_id")
    if user.has_role(Role.COORDINATOR, Role.TRAINER, Role.MANAGER):
        return Path.objects.filter(space_id__in=spaces)
    return Path.objects.filter(assignments__user=user).distinct()


def items_of(path: Path) -> list[PathItem]:
    return list(
        PathItem.objects.filter(path=path)
        .select_related("course", "activity", "activity__course")
        .prefetch_related("prerequisites")
    )


def done_item_ids(
    *, user_id: int, items: list[PathItem], since: datetime | None = None
) -> set[int]:
    """Which items ``user_id`` has done: a few queries whatever the path's length.

    ``since`` (a later cycle's start): only what was done, or done again, from then on
    counts: an activity by its completion's latest date, a course by every required
    activity of it done again since (its enrolment stays completed from the first time)."""
    course_ids = {i.course_id for i in items if i.course_id}
    activity_ids = {i.activity_id for i in items if i.activity_id}
    if since is None:
        done_courses = set(
            Enrolment.objects.filter(
                user_id=user_id, course_id__in=course_ids, status=EnrolmentStatus.COMPLETED
            ).values_list("course_id", flat=True)
        )
        done_activities = set(
            Completion.objects.filter(user_id=user_id, activity_id__in=activity_ids).values_list(
                "activity_id", flat=True
            )
        )
    else:
        recent = Completion.objects.annotate(
            last=Coalesce("last_completed_at", "completed_at")
        ).filter(user_id=user_id, last__gte=since)
        done_activities = set(
            recent.filter(activity_id__in=activity_ids).values_list("activity_id", flat=True)
        )
        done_courses = _courses_redone(user_id, course_ids, recent) if course_ids else set()
    return {
        i.pk
        for i in items
        if (i.course_id in done_courses) or (i.activity_id and i.activity_id in done_activities)
    }


def _courses_redone(user_id: int, course_ids: set[int], recent: QuerySet) -> set[int]:
    """The courses whose required activities were all done again in ``recent``; a course
    without any required activity counts once its enrolment is completed."""
    required: dict[int, set[int]] = {}
    for course_id, activity_id in Activity.objects.filter(
        course_id__in=course_ids, required=True
    ).values_list("course_id", "id"):
        required.setdefault(course_id, set()).add(activity_id)
    redone = set(recent.filter(course_id__in=course_ids).values_list("activity_id", flat=True))
    empty = course_ids - set(required)
    done = {c for c, ids in required.items() if ids <= redone}
    if empty:
        done |= set(
            Enrolment.objects.filter(
                user_id=user_id, course_id__in=empty, status=EnrolmentStatus.COMPLETED
            ).values_list("course_id", flat=True)
        )
    return done


def item_states(*, path: Path, items: list[PathItem], done: set[int]) -> list[dict[str, Any]]:
    """Each item with ``done`` and ``unlocked``: its prerequisites done, and in an ordered
    path the item before it done too."""
    states = []
    previous: PathItem | None = None
    for item in items:
        needs = {p.pk for p in item.prerequisites.all()}
        if path.ordered and previous is not None:
            needs.add(previous.pk)
        states.append(
            {
                "item": item,
                "id": item.pk,
                "title": item_title(item),
                "kind": "course" if item.course_id else item.activity.kind,
                "required": item.required,
                "done": item.pk in done,
                "unlocked": needs <= done,
                "prerequisites": sorted(p.pk for p in item.prerequisites.all()),
            }
        )
        previous = item
    return states


def item_title(item: PathItem) -> str:
    return item.course.title if item.course_id else item.activity.title


def item_url(item: PathItem) -> str:
    return item.course.get_absolute_url() if item.course_id else item.activity.get_absolute_url()


def progress_of(*, items: list[PathItem], done: set[int]) -> int:
    required = [i.pk for i in items if i.required]
    if not required:
        return 0
    return (100 * sum(1 for i in required if i in done)) // len(required)


def is_overdue(assignment: PathAssignment, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return bool(assignment.due_at and assignment.completed_at is None and assignment.due_at < now)


def assignment_payload(assignment: PathAssignment) -> dict[str, Any]:
    return {
        "id": assignment.pk,
        "path": assignment.path_id,
        "user": assignment.user_id,
        "cycle": assignment.cycle,
        "cycle_started_at": (
            assignment.cycle_started_at.isoformat() if assignment.cycle_started_at else None
        ),
        "progress": assignment.progress,
        "completed": assignment.completed_at is not None,
        "due_at": assignment.due_at.isoformat() if assignment.due_at else None,
        "overdue": is_overdue(assignment),
    }


def path_payload(path: Path, *, user: Any | None = None) -> dict[str, Any]:
    items = items_of(path)
    done: set[int] = set()
    if user is not None:
        assignment = PathAssignment.objects.filter(path=path, user=user).first()
        since = assignment.cycle_started_at if assignment else None
        done = done_item_ids(user_id=user.pk, items=items, since=since)
    return {
        "id": path.pk,
        "title": path.title,
        "description_html": path.description_html,
        "ordered": path.ordered,
        "due_date": path.due_date.isoformat() if path.due_date else None,
        "due_days": path.due_days,
        "items": [
            {k: v for k, v in s.items() if k != "item"}
            for s in item_states(path=path, items=items, done=done)
        ],
    }


def assignments_of(*, user: Any) -> QuerySet[PathAssignment]:
    return PathAssignment.objects.filter(user=user).select_related("path").order_by("due_at", "id")


def team_assignments(*, manager: Any, overdue_only: bool = False) -> QuerySet[PathAssignment]:
    """The path assignments of a manager's reports (admins: everyone's)."""
    qs = PathAssignment.objects.select_related("path", "user")
    if not manager.has_role(Role.ADMIN):
        qs = qs.filter(user__teams__manager=manager)
    if overdue_only:
        qs = qs.filter(due_at__lt=timezone.now(), completed_at__isnull=True)
    return qs.distinct().order_by("due_at", "user__username")


def team_ids_of(*, user_id: int) -> list[int]:
    return list(Team.objects.filter(members=user_id).values_list("id", flat=True))


def cycles_of(assignment: PathAssignment) -> list[dict[str, Any]]:
    """Every cycle of an assignment, the current one last: number, why it began, its dates
    and progress (the past ones as they stood when the next began)."""
    rows = [
        {
            "number": c.number,
            "reason": c.reason,
            "reason_label": c.get_reason_display(),
            "started_at": c.started_at,
            "due_at": c.due_at,
            "completed_at": c.completed_at,
            "progress": c.progress,
            "current": False,
        }
        for c in PathCycle.objects.filter(assignment=assignment).order_by("number")
    ]
    rows.append(
        {
            "number": assignment.cycle,
            "reason": assignment.cycle_reason,
            "reason_label": assignment.get_cycle_reason_display(),
            "started_at": assignment.cycle_started_at or assignment.assigned_at,
            "due_at": assignment.due_at,
            "completed_at": assignment.completed_at,
            "progress": assignment.progress,
            "current": True,
        }
    )
    return rows


def open_cycle_start(*, user_id: int, activity: Any) -> datetime | None:
    """The latest start of an unfinished later cycle of ``user_id``'s paths holding
    ``activity`` (or its course), or None: in it, work done before must be done again."""
    from django.db.models import Max, Q

    return PathAssignment.objects.filter(
        Q(path__items__activity=activity) | Q(path__items__course_id=activity.course_id),
        user_id=user_id,
        completed_at__isnull=True,
        cycle_started_at__isnull=False,
    ).aggregate(start=Max("cycle_started_at"))["start"]
