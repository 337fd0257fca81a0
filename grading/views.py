"""Pages of grading: the queue, grading a submission, the rubric, my grades, the gradebook."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from classrooms.models import Activity, ActivityKind, Submission
from classrooms.reports import spreadsheet_cell
from classrooms.selectors import can_view_content, courses_visible_to
from classrooms.services import Conflict
from grading import selectors, services
from grading.models import Resubmission


def _error_text(exc: Exception) -> str:
    if isinstance(exc, Conflict):
        return str(exc.detail)
    return " ".join(getattr(exc, "messages", [str(exc)]))


def _assignment(request: HttpRequest, pk: int) -> Activity:
    activity = get_object_or_404(
        Activity.objects.select_related("course"),
        pk=pk,
        kind=ActivityKind.ASSIGNMENT,
        course__in=courses_visible_to(user=request.user),
    )
    if not can_view_content(user=request.user, course=activity.course):
        raise PermissionDenied
    return activity


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    counts = selectors.queue_counts(user=request.user)
    if not counts and not selectors.courses_graded_by(user=request.user).exists():
        raise PermissionDenied
    rows = list(selectors.queue_for(user=request.user)[:500])
    topics = [selectors.course_topic(c["course"]) for c in counts]
    return render(request, "grading/queue.html", {"counts": counts, "rows": rows, "topics": topics})


@login_required
def submission(request: HttpRequest, pk: int) -> HttpResponse:
    sub = get_object_or_404(Submission.objects.select_related("activity__course", "user"), pk=pk)
    if not selectors.can_view_submission(user=request.user, submission=sub):
        raise Http404
    activity = sub.activity
    grader = (
        selectors.can_grade(user=request.user, activity=activity) and sub.user_id != request.user.pk
    )
    rubric = selectors.rubric_of(activity)
    grade = getattr(sub, "grade", None)
    errors = ""
    if request.method == "POST":
        if not grader:
            raise PermissionDenied
        scores = [
            {
                "criterion": c.pk,
                "points": request.POST.get(f"points-{c.pk}", ""),
                "comment": request.POST.get(f"comment-{c.pk}", "")[:2000],
            }
            for c in (rubric.criteria.all() if rubric else [])
        ]
        try:
            services.grade_submission(
                grader=request.user,
                submission=sub,
                scores=scores,
                feedback=request.POST.get("feedback", "")[:20000],
            )
        except (ValidationError, Conflict) as exc:
            errors = _error_text(exc)
        else:
            messages.success(request, _("Grade saved."))
            nxt = selectors.queue_for(user=request.user, course_id=activity.course_id).first()
            return redirect("grading-submission", nxt.pk) if nxt else redirect("grading-queue")
    given = {}
    if grade:
        given = {s["criterion"]: s for s in grade.scores}
    criteria = [
        {"c": c, "given": given.get(c.pk, {})} for c in (rubric.criteria.all() if rubric else [])
    ]
    history = selectors.submissions_of(user=sub.user, activity=activity)
    return render(
        request,
        "grading/submission.html",
        {
            "sub": sub,
            "activity": activity,
            "grader": grader,
            "rubric": rubric,
            "criteria": criteria,
            "grade": grade,
            "errors": errors,
            "history": history,
        },
        status=400 if errors else 200,
    )


@login_required
def rubric(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _assignment(request, pk)
    if not selectors.can_grade(user=request.user, activity=activity):
        raise PermissionDenied
    current = selectors.rubric_of(activity)
    errors = ""
    if request.method == "POST":
        criteria = []
        for line in request.POST.get("criteria", "")[:20000].splitlines():
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|", 2)]
            criteria.append(
                {
                    "max_points": parts[0],
                    "title": parts[1] if len(parts) > 1 else "",
                    "description": parts[2] if len(parts) > 2 else "",
                }
            )
        try:
            services.rubric_save(
                user=request.user,
                activity=activity,
                criteria=criteria,
                pass_mark=int(request.POST.get("pass_mark") or 0),
                resubmission=request.POST.get("resubmission", ""),
                max_submissions=int(request.POST.get("max_submissions") or 0),
            )
        except (ValidationError, ValueError) as exc:
            errors = _error_text(exc) if isinstance(exc, ValidationError) else _("Give numbers.")
        else:
            messages.success(request, _("Rubric saved."))
            return redirect("grading-rubric", activity.pk)
    text = "\n".join(
        f"{c.max_points} | {c.title}" for c in (current.criteria.all() if current else [])
    )
    return render(
        request,
        "grading/rubric.html",
        {
            "activity": activity,
            "rubric": current,
            "payload": selectors.rubric_payload(current),
            "text": request.POST.get("criteria", text) if errors else text,
            "choices": Resubmission.choices,
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@login_required
def mine(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _assignment(request, pk)
    subs = selectors.submissions_of(user=request.user, activity=activity)
    allowed, reason = selectors.resubmission_state(user=request.user, activity=activity)
    return render(
        request,
        "grading/mine.html",
        {
            "activity": activity,
            "subs": subs,
            "may_resubmit": allowed,
            "reason": reason,
            "rubric": selectors.rubric_of(activity),
            "can_grade": selectors.can_grade(user=request.user, activity=activity),
        },
    )


@login_required
@require_POST
def resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    activity = _assignment(request, pk)
    try:
        services.submission_resubmit(
            user=request.user,
            activity=activity,
            text=request.POST.get("text", "")[:50000],
            file=request.FILES.get("file"),
        )
    except (ValidationError, Conflict) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Submitted again."))
    return redirect("grading-mine", activity.pk)


@login_required
def gradebook(request: HttpRequest, pk: int) -> HttpResponse:
    course = selectors.gradebook_course(user=request.user, pk=pk)
    book = selectors.gradebook(course=course)
    return render(
        request,
        "grading/gradebook.html",
        {"course": course, "book": book, "topic": selectors.course_topic(course.pk)},
    )


@login_required
def gradebook_csv(request: HttpRequest, pk: int) -> HttpResponse:
    course = selectors.gradebook_course(user=request.user, pk=pk)
    book = selectors.gradebook(course=course)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [_("Person"), _("Username"), _("Progress (%)")]
        + [spreadsheet_cell(a.title) for a in book["columns"]]
    )
    for row in book["rows"]:
        cells = []
        for cell in row["cells"]:
            if cell["percent"] is not None:
                cells.append(cell["percent"])
            else:
                cells.append(_("to grade") if cell["state"] == "pending" else "")
        user = row["user"]
        writer.writerow(
            [spreadsheet_cell(user.name), spreadsheet_cell(user.username), row["progress"], *cells]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="gradebook-{course.pk}.csv"'
    return response
