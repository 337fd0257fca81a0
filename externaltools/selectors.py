"""Reads and permission predicates of the external tools app."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from classrooms.models import Course, Enrolment
from classrooms.selectors import can_edit_course, is_enrolled
from externaltools.models import ExternalActivity, LineItem, Tool
from hub.accounts.models import Role, Space, User
from hub.accounts.selectors import is_space_member

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTITUTION = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#"
LEARNER = MEMBERSHIP + "Learner"
INSTRUCTOR = MEMBERSHIP + "Instructor"


def can_manage_tools(*, user: Any, space_id: int) -> bool:
    """Register and change a space's tools: administrators, and the space's coordinators."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.has_role(Role.ADMIN) or (
        user.has_role(Role.COORDINATOR) and is_space_member(user=user, space=space_id)
    )


def managed_spaces(*, user: Any) -> QuerySet[Space]:
    if user.has_role(Role.ADMIN):
        return Space.objects.order_by("name")
    if user.has_role(Role.COORDINATOR):
        return Space.objects.filter(memberships__user=user).order_by("name")
    return Space.objects.none()


def tools_of(*, space_id: int) -> QuerySet[Tool]:
    return Tool.objects.filter(space_id=space_id)


def tools_for_course(*, course: Course) -> QuerySet[Tool]:
    """The active tools a trainer may add to ``course``: its space's."""
    return Tool.objects.filter(space_id=course.space_id, is_active=True)


def can_launch(*, user: Any, external: ExternalActivity) -> bool:
    """Enrolled learners and the course's editors; the tool must still be active."""
    course = external.activity.course
    if not external.tool.is_active:
        return False
    return is_enrolled(user=user, course=course) or can_edit_course(user=user, course=course)


def lti_roles(*, user: User, course: Course) -> list[str]:
    """LIS role URIs of ``user`` in ``course`` (context roles, then institution roles)."""
    roles: list[str] = []
    if can_edit_course(user=user, course=course):
        roles.append(INSTRUCTOR)
    if is_enrolled(user=user, course=course):
        roles.append(LEARNER)
    if user.has_role(Role.ADMIN):
        roles.append(INSTITUTION + "Administrator")
    if user.has_role(Role.TRAINER):
        roles.append(INSTITUTION + "Instructor")
    if user.has_role(Role.LEARNER):
        roles.append(INSTITUTION + "Student")
    return roles


def tool_courses(*, tool: Tool) -> QuerySet[Course]:
    """The course contexts a tool was given: those with one of its activities."""
    return Course.objects.filter(activities__external_tool__tool=tool).distinct()


def tool_has_course(*, tool: Tool, course_id: int) -> bool:
    return ExternalActivity.objects.filter(tool=tool, activity__course_id=course_id).exists()


def line_items_of(*, tool: Tool, course_id: int) -> QuerySet[LineItem]:
    return LineItem.objects.filter(tool=tool, course_id=course_id)


def roster(*, course: Course) -> list[tuple[User, list[str]]]:
    """(person, LIS membership roles) for the course: its trainers and enrolled learners."""
    members: dict[int, tuple[User, list[str]]] = {}
    for trainer in course.trainers.all():
        members[trainer.pk] = (trainer, [INSTRUCTOR])
    for enrolment in Enrolment.objects.filter(course=course).select_related("user"):
        _person, roles = members.setdefault(enrolment.user_id, (enrolment.user, []))
        roles.append(LEARNER)
    return sorted(members.values(), key=lambda m: m[0].pk)


def is_member(*, user: User, course: Course) -> bool:
    """Someone a tool may post a score for: a learner enrolled in the course."""
    return is_enrolled(user=user, course=course)
