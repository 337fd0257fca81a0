"""Reporting reads: CSV rows and chart series per course and per team."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db.models import Max
from django.db.models.functions import TruncDate

from classrooms.models import Attempt, Course, Enrolment
from classrooms.selectors import progress_grid

CSV_HEADER = ["learner", "username", "course", "status", "progress", "enrolled_at", "completed_at"]


def spreadsheet_cell(value: Any) -> str:
    """Spreadsheet-safe text: a leading = + - @ would run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def course_csv(*, course: Course, user_ids: Iterable[int] | None = None) -> str:
    grid = progress_grid(course=course)
    quizzes = [a for a in grid["activities"] if a.kind == "quiz"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER + [f"score: {q.title}" for q in quizzes])
    allowed = set(user_ids) if user_ids is not None else None
    for row in grid["rows"]:
        e, u = row["enrolment"], row["user"]
        if allowed is not None and u.pk not in allowed:
            continue
        writer.writerow(
            [spreadsheet_cell(v) for v in (u.name, u.username, course.title, e.status, e.progress)]
            + [e.enrolled_at.isoformat(), e.completed_at.isoformat() if e.completed_at else ""]
            + [grid["scores"].get((u.pk, q.pk), "") for q in quizzes]
        )
    return out.getvalue()


def enrolments_csv(*, enrolments: Iterable[Enrolment]) -> str:
    """Team export: one line per enrolment, with the best quiz score of each."""
    rows = list(enrolments)
    best = {
        (r["user_id"], r["activity__course_id"]): r["best"]
        for r in Attempt.objects.filter(
            user_id__in={e.user_id for e in rows},
            activity__course_id__in={e.course_id for e in rows},
            submitted_at__isnull=False,
        )
        .values("user_id", "activity__course_id")
        .annotate(best=Max("score"))
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_HEADER, "best quiz score"])
    for e in rows:
        writer.writerow(
            [
                spreadsheet_cell(e.user.name),
                spreadsheet_cell(e.user.username),
                spreadsheet_cell(e.course.title),
                e.status,
                e.progress,
                e.enrolled_at.isoformat(),
                e.completed_at.isoformat() if e.completed_at else "",
                best.get((e.user_id, e.course_id), ""),
            ]
        )
    return out.getvalue()


def completions_over_time(*, enrolments) -> list[tuple[date, int]]:
    """Cumulative number of completed enrolments per day."""
    per_day = Counter(
        enrolments.filter(completed_at__isnull=False)
        .annotate(day=TruncDate("completed_at"))
        .values_list("day", flat=True)
    )
    total, series = 0, []
    for day in sorted(per_day):
        total += per_day[day]
        series.append((day, total))
    return series


def best_scores_of(*, enrolments) -> list[int]:
    pairs = enrolments.values_list("user_id", "course_id")
    users = {u for u, _ in pairs}
    courses = {c for _, c in pairs}
    rows = (
        Attempt.objects.filter(
            user_id__in=users, activity__course_id__in=courses, submitted_at__isnull=False
        )
        .values("user_id", "activity_id")
        .annotate(best=Max("score"))
    )
    return [r["best"] for r in rows if r["best"] is not None]
