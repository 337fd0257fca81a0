"""Reads and permission predicates of grading: the queue, the gradebook, payloads."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404

from classrooms.models import (
    Activity,
    ActivityKind,
    Attempt,
    Course,
    Enrolment,
    Submission,
)
from classrooms.selectors import can_edit_course
from grading.models import Grade, Resubmission, Rubric
from hub.accounts.models import Role, SpaceMembership
from hub.accounts.selectors import is_manager_of


def course_topic(course_id: int) -> str:
    """``grading.course.<id>``: the course's grading queue and gradebook, for its editors."""
    return f"grading.course.{course_id}"


def courses_graded_by(*, user: Any) -> QuerySet[Course]:
    """The courses whose assignments ``user`` grades: those they may edit."""
    qs = Course.objects.all()
    if user.has_role(Role.ADMIN):
        return qs
    trained = Q(trainers=user)
    if user.has_role(Role.COORDINATOR):
        spaces = SpaceMembership.objects.filter(user=user).values("space_id")
        trained |= Q(space_id__in=spaces)
    return qs.filter(trained).distinct()


def gradebook_course(*, user: Any, pk: int) -> Course:
    """The course whose gradebook ``user`` reads: one they may edit (404 for another)."""
    course = Course.objects.filter(pk=pk).first()
    if course is None or not can_edit_course(user=user, course=course):
        raise Http404
    return course


def can_grade(*, user: Any, activity: Activity) -> bool:
    return can_edit_course(user=user, course=activity.course)


def can_view_submission(*, user: Any, submission: Submission) -> bool:
    """Its author, the course's editors, the author's managers; nobody else."""
    if submission.user_id == user.pk:
        return True
    if can_edit_course(user=user, course=submission.activity.course):
        return True
    return is_manager_of(manager=user, user=submission.user)


def pending(*, course_ids: Any) -> QuerySet[Submission]:
    """Submissions waiting for a grade (a resubmission waits once its former one is graded)."""
    return Submission.objects.filter(
        activity__course_id__in=course_ids,
        activity__kind=ActivityKind.ASSIGNMENT,
        grade__isnull=True,
    )


def queue_for(*, user: Any, course_id: int | None = None) -> QuerySet[Submission]:
    courses = courses_graded_by(user=user).values("id")
    qs = pending(course_ids=courses)
    if course_id is not None:
        qs = qs.filter(activity__course_id=course_id)
    return qs.select_related("user", "activity", "activity__course").order_by("submitted_at", "id")


def queue_counts(*, user: Any) -> list[dict[str, Any]]:
    """Each course the person grades that has assignments: its title and pending count."""
    courses = (
        courses_graded_by(user=user)
        .filter(activities__kind=ActivityKind.ASSIGNMENT)
        .distinct()
        .order_by("title")
        .values("id", "title")
    )
    rows = list(courses[:500])
    counts = dict(
        pending(course_ids=[r["id"] for r in rows])
        .values_list("activity__course_id")
        .annotate(n=Count("id"))
        .values_list("activity__course_id", "n")
    )
    return [
        {"course": r["id"], "title": r["title"], "pending": counts.get(r["id"], 0)} for r in rows
    ]


def pending_count(*, course_id: int) -> int:
    return pending(course_ids=[course_id]).count()


def rubric_of(activity: Activity) -> Rubric | None:
    return Rubric.objects.filter(activity=activity).prefetch_related("criteria").first()


def rubric_payload(rubric: Rubric | None) -> dict[str, Any]:
    if rubric is None:
        return {
            "pass_mark": 50,
            "resubmission": Resubmission.IF_FAILED,
            "max_submissions": 3,
            "criteria": [],
        }
    return {
        "pass_mark": rubric.pass_mark,
        "resubmission": rubric.resubmission,
        "max_submissions": rubric.max_submissions,
        "criteria": [
            {
                "id": c.pk,
                "title": c.title,
                "description_html": c.description_html,
                "max_points": c.max_points,
            }
            for c in rubric.criteria.all()
        ],
    }


def grade_payload(grade: Grade | None) -> dict[str, Any] | None:
    if grade is None:
        return None
    return {
        "id": grade.pk,
        "submission": grade.submission_id,
        "points": grade.points,
        "max_points": grade.max_points,
        "percent": grade.percent,
        "passed": grade.passed,
        "scores": grade.scores,
        "feedback_html": grade.feedback_html,
        "graded_at": grade.graded_at.isoformat(),
    }


def submission_payload(submission: Submission) -> dict[str, Any]:
    grade = Grade.objects.filter(submission=submission).first()
    return {
        "id": submission.pk,
        "number": submission.number,
        "user": submission.user_id,
        "activity": submission.activity_id,
        "text_html": submission.text_html,
        "has_file": bool(submission.file),
        "submitted_at": submission.submitted_at.isoformat(),
        "grade": grade_payload(grade),
    }


def submissions_of(*, user: Any, activity: Activity) -> list[Submission]:
    return list(
        Submission.objects.filter(user=user, activity=activity)
        .select_related("grade")
        .order_by("number")
    )


def resubmission_state(*, user: Any, activity: Activity) -> tuple[bool, str]:
    """(may ``user`` hand in again now?, why not). The rule: the rubric allows it, the last
    submission is graded and did not pass, and the allowance is not spent; or a learning
    path's cycle holding the assignment began after the last submission."""
    subs = submissions_of(user=user, activity=activity)
    if not subs:
        return False, "none"
    # A learning path's later cycle holding it (a recertification): the work is done again,
    # once per cycle, whatever the rubric says about resubmissions.
    from paths.selectors import open_cycle_start

    start = open_cycle_start(user_id=user.pk, activity=activity)
    if start is not None and subs[-1].submitted_at < start:
        return True, ""
    rubric = Rubric.objects.filter(activity=activity).first()
    if rubric is None or rubric.resubmission == Resubmission.NEVER:
        return False, "never"
    last = subs[-1]
    grade = getattr(last, "grade", None)
    if grade is None:
        return False, "not_graded"
    if grade.passed:
        return False, "passed"
    if rubric.max_submissions and len(subs) >= rubric.max_submissions:
        return False, "spent"
    return True, ""


def gradebook(*, course: Course) -> dict[str, Any]:
    """Learners x graded activities (assignments: the last grade; quizzes: the best score).

    A constant number of queries whatever the course's size."""
    columns = list(
        Activity.objects.filter(
            course=course, kind__in=[ActivityKind.ASSIGNMENT, ActivityKind.QUIZ]
        ).order_by("module__position", "position", "id")
    )
    enrolments = list(
        Enrolment.objects.filter(course=course)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    )
    # The latest grade of each (user, assignment): the highest submission number graded.
    grades: dict[tuple[int, int], Grade] = {}
    for g in Grade.objects.filter(activity__course=course).order_by("submission__number"):
        grades[(g.user_id, g.activity_id)] = g
    submitted = set(
        Submission.objects.filter(activity__course=course, grade__isnull=True).values_list(
            "user_id", "activity_id"
        )
    )
    best = {
        (r["user_id"], r["activity_id"]): r["best"]
        for r in Attempt.objects.filter(activity__course=course, submitted_at__isnull=False)
        .values("user_id", "activity_id")
        .annotate(best=Max("score"))
    }
    rows = []
    for e in enrolments:
        cells = []
        for a in columns:
            key = (e.user_id, a.pk)
            if a.kind == ActivityKind.QUIZ:
                score = best.get(key)
                cells.append(
                    {"activity": a.pk, "percent": score, "state": "" if score is None else "quiz"}
                )
                continue
            g = grades.get(key)
            state = "pending" if key in submitted else ("graded" if g else "")
            cells.append(
                {
                    "activity": a.pk,
                    "percent": g.percent if g else None,
                    "passed": g.passed if g else None,
                    "state": state,
                }
            )
        rows.append({"user": e.user, "progress": e.progress, "status": e.status, "cells": cells})
    return {"columns": columns, "rows": rows}
