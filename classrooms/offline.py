"""Courses made available offline, and quizzes taken offline (issue 21; docs/OFFLINE.md).

``course_offline_pack`` lists what a device saves for a course (its pages, media and
documents) and, for each quiz, its questions without answers (as when an attempt starts)
with a signed *ticket*: who, which quiz, which questions in which version, and when the
quiz was saved. ``offline_attempt_submit`` takes the answers later, when the device is
online again, and applies the same rules as an attempt taken online, against the ticket
and the server's clock:

- idempotent by the device's ``client_id``: a replay answers with the attempt it made;
- the attempt limit is counted when it arrives (over it: 409, nothing recorded);
- a quiz whose questions changed since it was saved: 409 ``quiz_changed``, nothing
  recorded, no attempt used; the learner takes it again;
- times: a start before the quiz was saved, or an end after the server's now, cannot be
  true; both are brought back within [saved, now] and the answer says so (``adjusted``).
  An end after the start + the time limit (+ grace) is late: it scores zero, as online.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from classrooms import selectors, services
from classrooms.models import Activity, ActivityKind, Attempt, Course, Enrolment, Question

TICKET_SALT = "classrooms.offline-quiz"
# A quiz saved for offline longer ago than this is fetched again before it counts.
TICKET_MAX_AGE = timedelta(days=30)
# Clocks of devices drift: an end this far in the future is taken as "now" silently.
CLOCK_SKEW = timedelta(minutes=2)
OFFLINE_KINDS = (ActivityKind.LESSON, ActivityKind.MEDIA, ActivityKind.QUIZ)


class Refused(services.Conflict):
    """A submission the server decided not to count (409), with a reason a device can act
    on: ``quiz_changed``, ``no_attempts_left``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def questions_digest(questions: list[Question]) -> str:
    """A quiz's version: every question and choice, answers included (a changed answer
    key changes the quiz even if the learner cannot see it)."""
    rows = [
        [
            q.pk,
            q.kind,
            q.text,
            q.numeric_answer,
            q.tolerance,
            [[c.pk, c.text, c.is_correct] for c in q.choices.all()],
        ]
        for q in questions
    ]
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()[:32]


def _ticket(*, user: Any, activity: Activity, questions: list[Question]) -> str:
    return signing.dumps(
        {
            "u": user.pk,
            "a": activity.pk,
            "q": [q.pk for q in questions],
            "d": questions_digest(questions),
            "t": timezone.now().timestamp(),
        },
        salt=TICKET_SALT,
        compress=True,
    )


def quiz_offline_payload(*, user: Any, activity: Activity) -> dict[str, Any]:
    """What a device keeps to take ``activity`` offline: no answers, a ticket, the limits."""
    questions = list(selectors.quiz_questions(activity=activity))
    used = selectors.attempts_used(user=user, activity=activity)
    return {
        "activity": activity.pk,
        "title": activity.title,
        "url": activity.get_absolute_url(),
        "submit_url": f"/api/v1/activities/{activity.pk}/offline-attempts/",
        "time_limit_seconds": activity.time_limit_seconds,
        "attempts_left": max(activity.attempt_limit - used, 0) if activity.attempt_limit else None,
        "pass_mark": activity.pass_mark,
        "questions": [selectors.question_payload(q) for q in questions],
        "ticket": _ticket(user=user, activity=activity, questions=questions),
    }


def course_offline_pack(*, user: Any, course: Course) -> dict[str, Any]:
    """The addresses a device saves for ``course`` and its quizzes (only for those who may
    read its content: the same check as its pages)."""
    if not selectors.can_view_content(user=user, course=course):
        raise PermissionDenied(_("Enrol in the course to keep it offline."))
    activities = list(
        Activity.objects.filter(course=course, kind__in=OFFLINE_KINDS)
        .select_related("module")
        .order_by("module__position", "position", "id")
    )
    urls: list[dict[str, Any]] = [{"url": course.get_absolute_url(), "kind": "page"}]
    quizzes = []
    for activity in activities:
        urls.append({"url": activity.get_absolute_url(), "kind": "page"})
        if activity.kind == ActivityKind.MEDIA and activity.media_file:
            try:
                size = activity.media_file.size
            except OSError:
                size = None
            kind = activity.media_kind or "media"
            urls.append({"url": activity.media_file.url, "kind": kind, "bytes": size})
        if activity.kind == ActivityKind.QUIZ and selectors.is_enrolled(user=user, course=course):
            quizzes.append(quiz_offline_payload(user=user, activity=activity))
    return {
        "course": course.pk,
        "title": course.title,
        "made_at": timezone.now(),
        "urls": urls,
        "quizzes": quizzes,
        "bytes": sum(u.get("bytes") or 0 for u in urls),
    }


def _read_ticket(ticket: str, *, user: Any, activity: Activity) -> dict[str, Any]:
    try:
        data = signing.loads(ticket, salt=TICKET_SALT, max_age=TICKET_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(
            {"ticket": _("This quiz was saved too long ago: open it online and take it again.")}
        ) from None
    except signing.BadSignature:
        raise ValidationError({"ticket": _("This is not a quiz saved from Lyceum.")}) from None
    if data.get("u") != user.pk or data.get("a") != activity.pk:
        raise PermissionDenied(_("This quiz was saved by someone else, or for another quiz."))
    return data


@transaction.atomic
def offline_attempt_submit(
    *,
    user: Any,
    activity: Activity,
    client_id: uuid.UUID,
    ticket: str,
    answers: Any,
    started_at: datetime,
    finished_at: datetime,
) -> tuple[Attempt, dict[str, Any]]:
    """Record and score an attempt taken offline; returns it and what was decided
    (``replayed``, ``adjusted``). See the module's docstring for the rules."""
    if activity.kind != ActivityKind.QUIZ:
        raise ValidationError(_("This activity is not a quiz."))
    if not selectors.is_enrolled(user=user, course=activity.course_id):
        raise PermissionDenied(_("Enrol in the course to take its quizzes."))
    existing = Attempt.objects.filter(user=user, client_id=client_id).first()
    if existing is not None:
        if existing.activity_id != activity.pk:
            raise ValidationError({"client_id": _("This id belongs to another attempt.")})
        return existing, {"replayed": True, "adjusted": []}
    data = _read_ticket(ticket, user=user, activity=activity)
    # Two submissions of this learner at once (two tabs flushing): one at a time.
    Enrolment.objects.select_for_update().filter(user=user, course_id=activity.course_id).get()
    existing = Attempt.objects.filter(user=user, client_id=client_id).first()
    if existing is not None:
        return existing, {"replayed": True, "adjusted": []}
    current = list(selectors.quiz_questions(activity=activity))
    if [q.pk for q in current] != data["q"] or questions_digest(current) != data["d"]:
        raise Refused(
            "quiz_changed",
            _(
                "The quiz changed since it was saved on this device: your answers were "
                "not counted and no attempt was used. Take it again."
            ),
        )
    used = selectors.attempts_used(user=user, activity=activity)
    if activity.attempt_limit and used >= activity.attempt_limit:
        raise Refused("no_attempts_left", _("No attempts left for this quiz."))
    # The device's clock, checked against ours: never before the quiz was saved, never
    # after now.
    now = timezone.now()
    saved = datetime.fromtimestamp(data["t"], tz=timezone.get_current_timezone())
    adjusted = []
    if started_at < saved:
        started_at, adjusted = saved, [*adjusted, "started_at"]
    if finished_at > now:
        if finished_at - now > CLOCK_SKEW:
            adjusted.append("finished_at")
        finished_at = now
    if finished_at < started_at:
        if "started_at" not in adjusted:
            raise ValidationError({"finished_at": _("An attempt cannot end before it starts.")})
        finished_at = started_at
    deadline = (
        started_at + timedelta(seconds=activity.time_limit_seconds)
        if activity.time_limit_seconds
        else None
    )
    try:
        with transaction.atomic():
            attempt = Attempt.objects.create(
                user=user,
                activity=activity,
                number=selectors.next_attempt_number(user=user, activity=activity),
                question_ids=data["q"],
                deadline=deadline,
                client_id=client_id,
            )
    except IntegrityError:
        raise services.Conflict(_("This attempt is being recorded already.")) from None
    Attempt.objects.filter(pk=attempt.pk).update(started_at=started_at)
    attempt = services.attempt_submit(
        user=user, attempt=attempt, answers=answers, finished_at=finished_at
    )
    return attempt, {"replayed": False, "adjusted": adjusted}
