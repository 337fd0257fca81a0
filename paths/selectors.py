"""Reads of learning paths: item states (done, unlocked), progress, who may do what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from classrooms.models import Completion, Enrolment, EnrolmentStatus
from hub.accounts.models import Role, Team
from hub.accounts.selectors import is_space_member
from paths.models import Path, PathAssignment, PathItem


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


def done_item_ids(*, user_id: int, items: list[PathItem]) -> set[int]:
    """Which items ``user_id`` has done: two queries whatever the path's length."""
    course_ids = {i.course_id for i in items if i.course_id}
    activity_ids = {i.activity_id for i in items if i.activity_id}
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
    return {
        i.pk
        for i in items
        if (i.course_id in done_courses) or (i.activity_id and i.activity_id in done_activities)
    }


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
        "progress": assignment.progress,
        "completed": assignment.completed_at is not None,
        "due_at": assignment.due_at.isoformat() if assignment.due_at else None,
        "overdue": is_overdue(assignment),
    }


def path_payload(path: Path, *, user: Any | None = None) -> dict[str, Any]:
    items = items_of(path)
    done = done_item_ids(user_id=user.pk, items=items) if user is not None else set()
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
