"""Every write of grading: rubrics, grades, resubmissions; and the queue's live counts."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from classrooms import services as classrooms_services
from classrooms.models import Activity, ActivityKind, CompletionRule, Submission
from classrooms.services import Conflict
from grading import selectors
from grading.models import Criterion, Grade, Resubmission, Rubric
from hub import realtime, sanitize
from hub.accounts.models import User
from hub.notify import notify

MAX_CRITERIA = 30
FEEDBACK_MAX_CHARS = 20_000
DESCRIPTION_MAX_CHARS = 2_000


def _require_grader(user: User, activity: Activity) -> None:
    if activity.kind != ActivityKind.ASSIGNMENT:
        raise ValidationError(_("Only assignments are graded."))
    if not selectors.can_grade(user=user, activity=activity):
        raise PermissionDenied(_("Only the course's trainers grade its assignments."))


def publish_queue_count(course_id: int) -> None:
    """The course's pending count, to its editors (ephemeral: a late subscriber reads the
    page's or the API's number)."""
    realtime.publish(
        selectors.course_topic(course_id),
        "queue.count",
        {"course": course_id, "pending": selectors.pending_count(course_id=course_id)},
    )


def on_submitted(*, submission: Submission, **_: Any) -> None:
    """``classrooms.submitted``: one more to grade, live on the queue."""
    activity = Activity.objects.filter(pk=submission.activity_id).only("course_id").first()
    if activity is not None:
        publish_queue_count(activity.course_id)


# -- rubrics ---------------------------------------------------------------------------------
def rubric_save(
    *,
    user: User,
    activity: Activity,
    criteria: list[dict[str, Any]],
    pass_mark: int = 50,
    resubmission: str = Resubmission.IF_FAILED,
    max_submissions: int = 3,
) -> Rubric:
    """Set an assignment's rubric (its criteria replaced). Past grades keep the criteria
    they were graded with (``Grade.scores``)."""
    _require_grader(user, activity)
    if not criteria:
        raise ValidationError({"criteria": _("Give at least one criterion.")})
    if len(criteria) > MAX_CRITERIA:
        raise ValidationError({"criteria": _("At most %(n)s criteria.") % {"n": MAX_CRITERIA}})
    if resubmission not in Resubmission.values:
        raise ValidationError({"resubmission": _("Unknown resubmission rule.")})
    if not 0 <= int(pass_mark) <= 100:
        raise ValidationError({"pass_mark": _("The pass mark is a percentage (0-100).")})
    if not 0 <= int(max_submissions) <= 50:
        raise ValidationError({"max_submissions": _("At most 50 submissions.")})
    cleaned = []
    for i, c in enumerate(criteria):
        title = sanitize.plain(str(c.get("title") or "")).strip()[:200]
        if not title:
            raise ValidationError({"criteria": _("Criterion %(n)s has no title.") % {"n": i + 1}})
        try:
            points = int(c.get("max_points"))
        except (TypeError, ValueError):
            points = 0
        if not 1 <= points <= 1000:
            raise ValidationError(
                {"criteria": _("Criterion %(n)s: points from 1 to 1000.") % {"n": i + 1}}
            )
        description = sanitize.markdown(
            str(c.get("description") or ""), max_chars=DESCRIPTION_MAX_CHARS, field="criteria"
        )
        cleaned.append((title, description, points))
    return _rubric_save(
        activity=activity,
        cleaned=cleaned,
        pass_mark=int(pass_mark),
        resubmission=resubmission,
        max_submissions=int(max_submissions),
    )


@transaction.atomic
def _rubric_save(
    *,
    activity: Activity,
    cleaned: list[tuple[str, str, int]],
    pass_mark: int,
    resubmission: str,
    max_submissions: int,
) -> Rubric:
    rubric, _created = Rubric.objects.select_for_update().get_or_create(activity=activity)
    rubric.pass_mark = pass_mark
    rubric.resubmission = resubmission
    rubric.max_submissions = max_submissions
    rubric.save()
    rubric.criteria.all().delete()
    Criterion.objects.bulk_create(
        Criterion(rubric=rubric, title=t, description_html=d, max_points=p, position=i)
        for i, (t, d, p) in enumerate(cleaned)
    )
    return rubric


# -- grades ----------------------------------------------------------------------------------
def grade_submission(
    *,
    grader: User,
    submission: Submission,
    scores: list[dict[str, Any]],
    feedback: str = "",
) -> Grade:
    """Grade (or regrade) a submission against its assignment's rubric.

    ``scores``: ``[{"criterion": id, "points": int, "comment": str}]``, one per criterion.
    A passing grade completes an activity whose rule is "passed when graded"; the learner
    is notified; the queue's count and the gradebook's cell change live.
    """
    feedback_html = sanitize.markdown(
        feedback or "", max_chars=FEEDBACK_MAX_CHARS, field="feedback"
    )
    return _grade_submission(
        grader=grader, submission=submission, scores=scores, feedback_html=feedback_html
    )


@transaction.atomic
def _grade_submission(
    *,
    grader: User,
    submission: Submission,
    scores: list[dict[str, Any]],
    feedback_html: str,
) -> Grade:
    submission = (
        Submission.objects.select_for_update()
        .select_related("activity__course", "user")
        .get(pk=submission.pk)
    )
    activity = submission.activity
    _require_grader(grader, activity)
    if submission.user_id == grader.pk:
        raise PermissionDenied(_("Nobody grades their own work."))
    later = Submission.objects.filter(
        user_id=submission.user_id, activity=activity, number__gt=submission.number
    ).exists()
    if later:
        raise Conflict(_("A newer submission replaced this one: grade that."))
    rubric = selectors.rubric_of(activity)
    if rubric is None:
        raise ValidationError({"scores": _("Write the assignment's rubric first.")})
    criteria = list(rubric.criteria.all())
    given: dict[int, dict[str, Any]] = {}
    for row in scores:
        try:
            cid = int(row.get("criterion"))
        except (TypeError, ValueError):
            raise ValidationError({"scores": _("Each score names its criterion.")}) from None
        given[cid] = row
    if len(given) != len(scores) or set(given) != {c.pk for c in criteria}:
        raise ValidationError({"scores": _("Score every criterion of the rubric, once.")})
    snapshot = []
    total = 0
    for c in criteria:
        row = given[c.pk]
        try:
            points = int(row.get("points"))
        except (TypeError, ValueError):
            points = -1
        if not 0 <= points <= c.max_points:
            raise ValidationError(
                {
                    "scores": _("%(title)s: from 0 to %(max)s points.")
                    % {"title": c.title, "max": c.max_points}
                }
            )
        comment = sanitize.plain(str(row.get("comment") or "")).strip()[:2000]
        snapshot.append(
            {
                "criterion": c.pk,
                "title": c.title,
                "max": c.max_points,
                "points": points,
                "comment": comment,
            }
        )
        total += points
    maximum = sum(c.max_points for c in criteria)
    percent = round(100 * total / maximum) if maximum else 0
    passed = percent >= rubric.pass_mark
    grade, _created = Grade.objects.update_or_create(
        submission=submission,
        defaults={
            "user_id": submission.user_id,
            "activity": activity,
            "grader": grader,
            "points": total,
            "max_points": maximum,
            "percent": percent,
            "passed": passed,
            "scores": snapshot,
            "feedback_html": feedback_html,
        },
    )
    if passed and activity.completion_rule == CompletionRule.GRADED:
        classrooms_services.activity_complete(
            user=submission.user, activity=activity, source="graded"
        )
    elif (
        not passed
        and not Grade.objects.filter(user_id=submission.user_id, activity=activity, passed=True)
        .exclude(submission=submission)
        .exists()
    ):
        # A passed assignment regraded to a fail: the completion its pass made goes (not
        # when another submission passed: a later cycle's new attempt that fails).
        classrooms_services.activity_uncomplete(
            user=submission.user, activity=activity, source="graded"
        )
    course_id = activity.course_id
    realtime.publish(
        selectors.course_topic(course_id),
        "grade.saved",
        {
            "course": course_id,
            "user": submission.user_id,
            "activity": activity.pk,
            "percent": percent,
            "passed": passed,
        },
    )
    publish_queue_count(course_id)
    verb = _("%(activity)s was graded: %(percent)s %%") % {
        "activity": activity.title,
        "percent": percent,
    }
    notify(
        recipients=[submission.user],
        kind="graded",
        verb=verb,
        actor=grader,
        target=activity,
        url=reverse("grading-mine", args=[activity.pk]),
    )
    return grade


# -- resubmissions ---------------------------------------------------------------------------
def submission_resubmit(
    *, user: User, activity: Activity, text: str = "", file: Any = None
) -> Submission:
    """Hand an assignment in again, when its rubric allows (see
    ``selectors.resubmission_state``): the next numbered submission, back in the queue."""
    with transaction.atomic():
        # One resubmission at a time per person: lock their submissions of the activity.
        subs = list(Submission.objects.select_for_update().filter(user=user, activity=activity))
        allowed, reason = selectors.resubmission_state(user=user, activity=activity)
        if not allowed:
            messages = {
                "none": _("Submit the assignment first."),
                "never": _("This assignment takes one submission."),
                "not_graded": _("Wait for the grade of your last submission."),
                "passed": _("You passed: there is nothing to resubmit."),
                "spent": _("You have used every submission allowed."),
            }
            raise Conflict(messages.get(reason, _("You cannot resubmit.")))
        number = max(s.number for s in subs) + 1
        return classrooms_services.submission_create(
            user=user, activity=activity, text=text, file=file, number=number
        )
