"""Every write of classrooms: permission inside, events on commit (ARCHITECTURE §2)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException

from classrooms.models import (
    DEFAULT_RULE,
    Activity,
    ActivityKind,
    Attempt,
    Choice,
    Completion,
    CompletionRule,
    Course,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Module,
    Question,
    QuestionKind,
    Submission,
)
from classrooms.selectors import (
    answer_is_correct,
    attempts_used,
    can_create_course,
    can_edit_course,
    can_self_enrol,
    enrolment_payload,
    is_enrolled,
    is_trainer_of,
    progress_event_payload,
    quiz_questions,
    team_topics_of,
)
from hub import events, realtime, sanitize
from hub.accounts.models import Role, Space, User
from hub.accounts.selectors import is_manager_of, is_space_member, managers_of
from hub.notify import notify

# A submission this late after the deadline still counts (network, clocks): seconds.
TIMER_GRACE_SECONDS = 5
COURSE_FIELDS = {"title", "summary", "language", "published", "self_enrolment", "cover"}
ACTIVITY_FIELDS = {
    "title", "required", "completion_rule", "body", "media_kind", "media_file", "media_url",
    "pass_mark", "attempt_limit", "time_limit_seconds", "link_kind", "link_id",
}  # fmt: skip


class Conflict(APIException):
    """The request conflicts with the current state (409; ``conflict`` on the gateway)."""

    status_code = 409
    default_detail = "This conflicts with the current state."
    default_code = "conflict"


def _require_editor(user: Any, course: Course) -> None:
    if not can_edit_course(user=user, course=course):
        raise PermissionDenied(_("Only the trainers of this course may change it."))


def _clean_title(title: str) -> str:
    title = sanitize.plain(title or "").strip()
    if not title:
        raise ValidationError({"title": _("A title is required.")})
    return title[:200]


# -- courses ---------------------------------------------------------------------------------
@transaction.atomic
def course_create(
    *,
    author: User,
    space: Space,
    title: str,
    summary: str = "",
    language: str = "en",
    published: bool = False,
    self_enrolment: bool = False,
    cover: Any = None,
) -> Course:
    """Create a course in ``space``; its author becomes its first trainer."""
    if not can_create_course(user=author):
        raise PermissionDenied(_("Only trainers, coordinators and admins create courses."))
    if not is_space_member(user=author, space=space):
        raise PermissionDenied(_("You are not a member of this space."))
    course = Course(
        space=space,
        title=_clean_title(title),
        summary=summary,
        summary_html=sanitize.markdown(summary),
        language=language,
        published=published,
        self_enrolment=self_enrolment,
    )
    if cover:
        course.cover = cover
    course.full_clean()
    course.save()
    course.trainers.add(author)
    return course


@transaction.atomic
def course_update(
    *, user: User, course: Course, trainers: Iterable[User] | None = None, **fields: Any
) -> Course:
    _require_editor(user, course)
    unknown = set(fields) - COURSE_FIELDS
    if unknown:
        raise ValidationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    for name, value in fields.items():
        if name == "title":
            value = _clean_title(value)
        if name == "cover" and value is None:
            continue
        setattr(course, name, value)
    if "summary" in fields:
        course.summary_html = sanitize.markdown(course.summary)
    course.full_clean()
    course.save()
    if trainers is not None:
        trainers = list(trainers)
        if not trainers:
            raise ValidationError({"trainers": _("A course keeps at least one trainer.")})
        course.trainers.set(trainers)
    return course


# -- modules ---------------------------------------------------------------------------------
@transaction.atomic
def module_create(*, user: User, course: Course, title: str) -> Module:
    _require_editor(user, course)
    last = course.modules.order_by("-position").values_list("position", flat=True).first()
    return Module.objects.create(course=course, title=_clean_title(title), position=(last or 0) + 1)


@transaction.atomic
def module_update(*, user: User, module: Module, title: str) -> Module:
    _require_editor(user, module.course)
    module.title = _clean_title(title)
    module.save(update_fields=["title"])
    return module


@transaction.atomic
def module_delete(*, user: User, module: Module) -> None:
    course = module.course
    _require_editor(user, course)
    module.delete()
    _recompute_course(course)


@transaction.atomic
def modules_reorder(*, user: User, course: Course, ids: list[int]) -> None:
    """Put the course's modules in the order of ``ids`` (every module, once)."""
    _require_editor(user, course)
    current = list(course.modules.values_list("id", flat=True))
    if sorted(ids) != sorted(current) or len(set(ids)) != len(ids):
        raise ValidationError({"ids": _("Give every module of the course exactly once.")})
    rows = {m.pk: m for m in course.modules.all()}
    for position, pk in enumerate(ids, start=1):
        rows[pk].position = position
    Module.objects.bulk_update(rows.values(), ["position"])


# -- activities ------------------------------------------------------------------------------
def _apply_activity_fields(activity: Activity, fields: dict[str, Any]) -> None:
    unknown = set(fields) - ACTIVITY_FIELDS
    if unknown:
        raise ValidationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    for name, value in fields.items():
        if name == "title":
            value = _clean_title(value)
        if name == "media_file" and value is None:
            continue
        setattr(activity, name, "" if value is None and name != "link_id" else value)
    activity.body_html = sanitize.markdown(activity.body)
    if activity.kind == ActivityKind.MEDIA and not (activity.media_file or activity.media_url):
        raise ValidationError({"media_url": _("Upload a file or give a link.")})


@transaction.atomic
def activity_create(
    *, user: User, module: Module, title: str, kind: str, **fields: Any
) -> Activity:
    course = module.course
    _require_editor(user, course)
    if kind not in ActivityKind.values:
        raise ValidationError({"kind": _("Unknown kind of activity.")})
    last = module.activities.order_by("-position").values_list("position", flat=True).first()
    activity = Activity(
        course=course,
        module=module,
        kind=kind,
        title=title,
        position=(last or 0) + 1,
        completion_rule=DEFAULT_RULE[ActivityKind(kind)],
    )
    _apply_activity_fields(activity, {"title": title, **fields})
    activity.full_clean()
    activity.save()
    _recompute_course(course)
    return activity


@transaction.atomic
def activity_update(*, user: User, activity: Activity, **fields: Any) -> Activity:
    _require_editor(user, activity.course)
    was_required = activity.required
    _apply_activity_fields(activity, fields)
    activity.full_clean()
    activity.save()
    if activity.required != was_required:
        _recompute_course(activity.course)
    return activity


@transaction.atomic
def activity_delete(*, user: User, activity: Activity) -> None:
    course = activity.course
    _require_editor(user, course)
    activity.delete()
    _recompute_course(course)


@transaction.atomic
def activities_reorder(*, user: User, module: Module, ids: list[int]) -> None:
    """Put ``ids`` (activities of this course) in this order in ``module`` (moves allowed)."""
    course = module.course
    _require_editor(user, course)
    current = list(module.activities.values_list("id", flat=True))
    rows = {a.pk: a for a in Activity.objects.filter(course=course, pk__in=ids)}
    if len(rows) != len(ids) or len(set(ids)) != len(ids) or not set(current) <= set(ids):
        raise ValidationError(
            {"ids": _("Give every activity of the module once, and only this course's.")}
        )
    for position, pk in enumerate(ids, start=1):
        rows[pk].position = position
        rows[pk].module = module
    Activity.objects.bulk_update(rows.values(), ["position", "module"])


@transaction.atomic
def activity_questions_set(*, user: User, activity: Activity, question_ids: list[int]) -> None:
    _require_editor(user, activity.course)
    questions = list(Question.objects.filter(course_id=activity.course_id, pk__in=question_ids))
    if len(questions) != len(set(question_ids)):
        raise ValidationError({"questions": _("Choose questions of this course's bank.")})
    activity.questions.set(questions)


# -- enrolments ------------------------------------------------------------------------------
def _enrolment_source(actor: User, learner: User, course: Course) -> str:
    if actor.pk == learner.pk and can_self_enrol(user=learner, course=course):
        return EnrolmentSource.SELF
    if actor.has_role(Role.ADMIN, Role.COORDINATOR) and can_edit_course(user=actor, course=course):
        return EnrolmentSource.ADMIN
    if is_trainer_of(user=actor, course=course):
        return EnrolmentSource.TRAINER
    if actor.pk != learner.pk and is_manager_of(manager=actor, user=learner):
        return EnrolmentSource.MANAGER
    if actor.pk == learner.pk:
        raise PermissionDenied(_("This course does not allow self-enrolment."))
    raise PermissionDenied(_("You may not enrol this person in this course."))


@transaction.atomic
def enrolment_create(*, actor: User, user: User, course: Course) -> Enrolment:
    """Enrol ``user``: themselves where allowed, a manager's report, anyone by a trainer.

    Enrolling someone already enrolled returns their enrolment (nothing changes).
    """
    source = _enrolment_source(actor, user, course)
    if not is_space_member(user=user, space=course.space_id):
        raise ValidationError(_("This person is not a member of the course's space."))
    existing = Enrolment.objects.filter(user=user, course=course).first()
    if existing:
        return existing
    enrolment = Enrolment.objects.create(user=user, course=course, source=source, enrolled_by=actor)
    enrolment.progress = _progress_percent(user, course)[0]
    enrolment.save(update_fields=["progress"])
    for topic in (course.progress_topic, *team_topics_of(user=user)):
        realtime.publish(topic, "enrolment.created", enrolment_payload(enrolment))
    events.emit("classrooms.enrolled", user=user, course=course)
    return enrolment


@transaction.atomic
def enrolment_delete(*, actor: User, enrolment: Enrolment) -> None:
    """Unenrol: the learner themselves, the course's editors, the learner's manager."""
    course, user = enrolment.course, enrolment.user
    allowed = (
        actor.pk == user.pk
        or can_edit_course(user=actor, course=course)
        or is_manager_of(manager=actor, user=user)
    )
    if not allowed:
        raise PermissionDenied(_("You may not unenrol this person."))
    enrolment.delete()
    for topic in (course.progress_topic, *team_topics_of(user=user)):
        realtime.publish(topic, "enrolment.deleted", {"user": {"id": user.pk}, "course": course.pk})
    events.emit("classrooms.unenrolled", user=user, course=course)


# -- completion and progress -----------------------------------------------------------------
def _progress_percent(user: User, course: Course) -> tuple[int, bool]:
    """(percent of required activities done, all done?) — two queries, O(activities)."""
    required = set(
        Activity.objects.filter(course=course, required=True).values_list("id", flat=True)
    )
    if not required:
        return 0, False
    done = Completion.objects.filter(user=user, course=course, activity_id__in=required).count()
    return math.floor(100 * done / len(required)), done == len(required)


def _recompute_course(course: Course) -> None:
    """Progress of every enrolment after the course's required activities changed."""
    required = set(
        Activity.objects.filter(course=course, required=True).values_list("id", flat=True)
    )
    counts: dict[int, int] = {}
    for user_id in Completion.objects.filter(course=course, activity_id__in=required).values_list(
        "user_id", flat=True
    ):
        counts[user_id] = counts.get(user_id, 0) + 1
    changed = []
    for enrolment in Enrolment.objects.filter(course=course):
        value = (
            math.floor(100 * counts.get(enrolment.user_id, 0) / len(required)) if required else 0
        )
        if value != enrolment.progress:
            enrolment.progress = value
            changed.append(enrolment)
    Enrolment.objects.bulk_update(changed, ["progress"])


@transaction.atomic
def activity_complete(*, user: User, activity: Activity, source: str) -> Completion | None:
    """Mark ``activity`` done for ``user`` (an enrolled learner) and update their progress.

    Called by this app (viewed, quiz passed, submitted) and by others (``source`` e.g.
    ``"session_attendance"``, ``"live_class"``). Idempotent: a second call changes nothing
    and returns the existing completion. Returns ``None`` when ``user`` is not enrolled.
    Publishes ``progress.updated`` on the course's progress topic (durable: the completion
    id) and on ``hub.user.<id>``; completing the course notifies the learner and managers.
    """
    course = activity.course
    enrolment = Enrolment.objects.select_for_update().filter(user=user, course=course).first()
    if enrolment is None:
        return None
    existing = Completion.objects.filter(user=user, activity=activity).first()
    if existing:
        return existing
    # The course's editors follow the course topic; each manager their team's.
    topics = [course.progress_topic, *team_topics_of(user=user)]
    realtime.hold_topic_order(*topics)
    completion = Completion.objects.create(
        user=user, activity=activity, course=course, source=source[:40]
    )
    percent, all_done = _progress_percent(user, course)
    enrolment.progress = percent
    newly_completed = all_done and enrolment.status != EnrolmentStatus.COMPLETED
    if newly_completed:
        enrolment.status = EnrolmentStatus.COMPLETED
        enrolment.completed_at = timezone.now()
    enrolment.save(update_fields=["progress", "status", "completed_at"])
    payload = progress_event_payload(completion=completion, enrolment=enrolment, user=user)
    for topic in topics:
        realtime.publish(topic, "progress.updated", payload, id=completion.pk)
    # Ephemeral on the personal topic: its ids are the notifications' (see hub.realtime_topics).
    realtime.publish(user.topic, "classrooms.progress", payload)
    events.emit("classrooms.activity_completed", user=user, activity=activity)
    if newly_completed:
        notify(
            recipients=[user, *managers_of(user=user)],
            kind="course_completed",
            verb=_("%(name)s completed %(course)s") % {"name": user.name, "course": course.title},
            actor=user,
            target=course,
            url=course.get_absolute_url(),
        )
        events.emit("classrooms.course_completed", user=user, course=course)
    return completion


@transaction.atomic
def activity_view(*, user: User, activity: Activity) -> Completion | None:
    """A learner opened the activity: completes it when its rule is ``viewed``."""
    if activity.completion_rule != CompletionRule.VIEWED:
        return None
    return activity_complete(user=user, activity=activity, source="viewed")


# -- quizzes ---------------------------------------------------------------------------------


@transaction.atomic
def question_create(
    *,
    user: User,
    course: Course,
    kind: str,
    text: str,
    choices: list[dict[str, Any]] | None = None,
    numeric_answer: float | None = None,
    tolerance: float = 0,
    explanation: str = "",
) -> Question:
    """Add a question to the course's bank. ``choices``: ``[{text, is_correct, feedback}]``."""
    _require_editor(user, course)
    if kind not in QuestionKind.values:
        raise ValidationError({"kind": _("Unknown kind of question.")})
    text = sanitize.plain(text).strip()
    if not text:
        raise ValidationError({"text": _("The question needs a text.")})
    choices = list(choices or [])
    if kind == QuestionKind.TRUE_FALSE and not choices:
        raise ValidationError({"choices": _("Say which of true and false is correct.")})
    if kind == QuestionKind.NUMERIC:
        if numeric_answer is None or not math.isfinite(numeric_answer):
            raise ValidationError({"numeric_answer": _("Give the expected number.")})
        if tolerance < 0 or not math.isfinite(tolerance):
            raise ValidationError({"tolerance": _("The tolerance cannot be negative.")})
        choices = []
    else:
        correct = sum(1 for c in choices if c.get("is_correct"))
        if len(choices) < 2:
            raise ValidationError({"choices": _("Give at least two answers.")})
        if kind in (QuestionKind.SINGLE, QuestionKind.TRUE_FALSE) and correct != 1:
            raise ValidationError({"choices": _("Exactly one answer must be correct.")})
        if kind == QuestionKind.MULTIPLE and correct < 1:
            raise ValidationError({"choices": _("At least one answer must be correct.")})
        if kind == QuestionKind.TRUE_FALSE and len(choices) != 2:
            raise ValidationError({"choices": _("True/false has exactly two answers.")})
    question = Question.objects.create(
        course=course,
        kind=kind,
        text=text,
        explanation=sanitize.plain(explanation).strip(),
        numeric_answer=numeric_answer if kind == QuestionKind.NUMERIC else None,
        tolerance=tolerance if kind == QuestionKind.NUMERIC else 0,
    )
    Choice.objects.bulk_create(
        [
            Choice(
                question=question,
                text=sanitize.plain(c.get("text", "")).strip()[:500] or "—",
                is_correct=bool(c.get("is_correct")),
                feedback=sanitize.plain(c.get("feedback", "")).strip()[:500],
                position=i,
            )
            for i, c in enumerate(choices)
        ]
    )
    return question


@transaction.atomic
def question_delete(*, user: User, question: Question) -> None:
    _require_editor(user, question.course)
    question.delete()


@transaction.atomic
def attempt_start(*, user: User, activity: Activity) -> Attempt:
    """Start an attempt of a quiz; an attempt still open (and in time) is returned as is."""
    if activity.kind != ActivityKind.QUIZ:
        raise ValidationError(_("This activity is not a quiz."))
    if not is_enrolled(user=user, course=activity.course_id):
        raise PermissionDenied(_("Enrol in the course to take its quizzes."))
    # Lock the enrolment: two starts at once must not both pass the limit.
    Enrolment.objects.select_for_update().filter(user=user, course_id=activity.course_id).get()
    now = timezone.now()
    open_attempt = (
        Attempt.objects.filter(user=user, activity=activity, submitted_at__isnull=True)
        .order_by("-id")
        .first()
    )
    if open_attempt and (open_attempt.deadline is None or open_attempt.deadline > now):
        return open_attempt
    used = attempts_used(user=user, activity=activity)
    if activity.attempt_limit and used >= activity.attempt_limit:
        raise Conflict(_("No attempts left for this quiz."))
    question_ids = list(quiz_questions(activity=activity).values_list("id", flat=True))
    if not question_ids:
        raise ValidationError(_("This quiz has no questions yet."))
    deadline = (
        now + timedelta(seconds=activity.time_limit_seconds)
        if activity.time_limit_seconds
        else None
    )
    return Attempt.objects.create(
        user=user, activity=activity, number=used + 1, question_ids=question_ids, deadline=deadline
    )


def _validate_answers(questions: list[Question], answers: Any) -> dict[int, Any]:
    """Check the shape of the answers against the attempt's questions; raise if bad."""
    if not isinstance(answers, dict):
        raise ValidationError({"answers": _("Answers must be an object keyed by question id.")})
    by_id = {q.pk: q for q in questions}
    clean: dict[int, Any] = {}
    for key, value in answers.items():
        try:
            qid = int(key)
        except (TypeError, ValueError):
            raise ValidationError({"answers": _("Unknown question %s.") % key}) from None
        question = by_id.get(qid)
        if question is None:
            raise ValidationError({"answers": _("Unknown question %s.") % key})
        if question.kind == QuestionKind.NUMERIC:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValidationError({"answers": _("Question %s expects a number.") % qid})
            try:
                number = float(value)
            except ValueError:
                raise ValidationError(
                    {"answers": _("Question %s expects a number.") % qid}
                ) from None
            if not math.isfinite(number):
                raise ValidationError({"answers": _("Question %s expects a number.") % qid})
            clean[qid] = number
            continue
        picked = value if isinstance(value, list) else [value]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in picked):
            raise ValidationError({"answers": _("Question %s expects answer ids.") % qid})
        valid_ids = {c.pk for c in question.choices.all()}
        if not set(picked) <= valid_ids or len(set(picked)) != len(picked):
            raise ValidationError(
                {"answers": _("An answer of question %s is not one of its choices.") % qid}
            )
        if question.kind != QuestionKind.MULTIPLE and len(picked) > 1:
            raise ValidationError({"answers": _("Question %s takes one answer.") % qid})
        clean[qid] = sorted(picked)
    return clean


def _score(question: Question, answer: Any) -> tuple[bool, list[str]]:
    """(correct?, feedback lines for what was answered)."""
    if answer is None:
        return False, []
    ok = answer_is_correct(question=question, answer=answer)
    if question.kind == QuestionKind.NUMERIC:
        return ok, []
    feedback = [c.feedback for c in question.choices.all() if c.pk in answer and c.feedback]
    return ok, feedback


@transaction.atomic
def attempt_submit(*, user: User, attempt: Attempt, answers: Any) -> Attempt:
    """Score an attempt on the server. Submitting twice is a conflict; bad answers change
    nothing; after the deadline (plus a few seconds of grace) the attempt scores zero."""
    attempt = (
        Attempt.objects.select_for_update(of=("self",))
        .select_related("activity__course")
        .get(pk=attempt.pk)
    )
    if attempt.user_id != user.pk:
        raise PermissionDenied(_("This is not your attempt."))
    if attempt.submitted_at is not None:
        raise Conflict(_("This attempt was already submitted."))
    questions = list(
        Question.objects.filter(pk__in=attempt.question_ids).prefetch_related("choices")
    )
    order = {qid: i for i, qid in enumerate(attempt.question_ids)}
    questions.sort(key=lambda q: order[q.pk])
    clean = _validate_answers(questions, answers)
    now = timezone.now()
    late = attempt.deadline is not None and now > attempt.deadline + timedelta(
        seconds=TIMER_GRACE_SECONDS
    )
    results = []
    right = 0
    for question in questions:
        given = clean.get(question.pk)
        ok, feedback = _score(question, given)
        ok = ok and not late
        right += ok
        results.append(
            {
                "question": question.pk,
                "text": question.text,
                "answer": given,
                "correct": ok,
                "correct_choices": [c.pk for c in question.choices.all() if c.is_correct],
                "numeric_answer": question.numeric_answer,
                "feedback": feedback,
                "explanation": question.explanation,
            }
        )
    activity = attempt.activity
    attempt.score = round(100 * right / len(questions)) if questions else 0
    attempt.passed = not late and attempt.score >= activity.pass_mark
    attempt.late = late
    attempt.submitted_at = now
    attempt.answers = {"given": {str(k): v for k, v in clean.items()}, "results": results}
    attempt.save()
    if attempt.passed and activity.completion_rule == CompletionRule.QUIZ_PASSED:
        activity_complete(user=user, activity=activity, source="quiz_passed")
    return attempt


# -- assignments -----------------------------------------------------------------------------
@transaction.atomic
def submission_create(
    *, user: User, activity: Activity, text: str = "", file: Any = None
) -> Submission:
    if activity.kind != ActivityKind.ASSIGNMENT:
        raise ValidationError(_("This activity takes no submission."))
    if not is_enrolled(user=user, course=activity.course_id):
        raise PermissionDenied(_("Enrol in the course to submit work."))
    if not (text or "").strip() and not file:
        raise ValidationError({"text": _("Write something or attach a file.")})
    if Submission.objects.filter(user=user, activity=activity).exists():
        raise Conflict(_("You already submitted this assignment."))
    submission = Submission(
        user=user, activity=activity, text=text or "", text_html=sanitize.markdown(text or "")
    )
    if file:
        submission.file = file
    submission.full_clean()
    submission.save()
    if activity.completion_rule == CompletionRule.SUBMITTED:
        activity_complete(user=user, activity=activity, source="submitted")
    return submission
