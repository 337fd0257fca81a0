"""Every write of classrooms: permission inside, events on commit (ARCHITECTURE §2)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Case, DateTimeField, ExpressionWrapper, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException

from classrooms.models import (
    DEFAULT_RULE,
    Activity,
    ActivityDue,
    ActivityKind,
    Attempt,
    AttendanceInterval,
    Choice,
    Completion,
    CompletionRule,
    Course,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    LiveClass,
    LiveClassEvent,
    LiveClassParticipant,
    LiveClassStatus,
    Module,
    ParticipantRole,
    Poll,
    PollVote,
    Question,
    QuestionKind,
    Submission,
    WhiteboardStroke,
)
from classrooms.selectors import (
    answer_is_correct,
    attempts_used,
    attendance_rows,
    best_score,
    can_create_course,
    can_edit_course,
    can_self_enrol,
    can_set_enrolment_due,
    enrolment_payload,
    hand_queue,
    is_enrolled,
    is_trainer_of,
    liveclass_expected_user_ids,
    liveclass_payload,
    liveclass_role,
    open_intervals,
    participant_payload,
    poll_payload,
    present_participant_count,
    present_user_ids,
    progress_event_payload,
    quiz_questions,
    recomputed_row,
    stroke_payload,
    team_ids_of,
    team_progress_topic,
    team_topics_of,
)
from hub import events, realtime, sanitize
from hub.accounts.models import Role, Space, User
from hub.accounts.selectors import is_manager_of, is_space_member, managers_of
from hub.files import RASTER_IMAGE_TYPES, check_image, is_new_upload, sniff_upload
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
# Markdown is rendered before a service opens its transaction, never inside: rendering is CPU
# work only, and inside the transaction it would hold its locks (on SQLite, the database's
# write lock, taken when the transaction begins) while it runs. A text over its limit (the
# REST serializers state the same ones) is refused before it is rendered.
SUMMARY_MAX_CHARS = 20_000
BODY_MAX_CHARS = 100_000
SUBMISSION_MAX_CHARS = 50_000


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
    return _course_create(
        author=author,
        space=space,
        title=title,
        summary=summary,
        summary_html=sanitize.markdown(summary, max_chars=SUMMARY_MAX_CHARS, field="summary"),
        language=language,
        published=published,
        self_enrolment=self_enrolment,
        cover=cover,
    )


@transaction.atomic
def _course_create(
    *,
    author: User,
    space: Space,
    title: str,
    summary: str,
    summary_html: str,
    language: str,
    published: bool,
    self_enrolment: bool,
    cover: Any,
) -> Course:
    if not can_create_course(user=author):
        raise PermissionDenied(_("Only trainers, coordinators and admins create courses."))
    if not is_space_member(user=author, space=space):
        raise PermissionDenied(_("You are not a member of this space."))
    course = Course(
        space=space,
        title=_clean_title(title),
        summary=summary,
        summary_html=summary_html,
        language=language,
        published=published,
        self_enrolment=self_enrolment,
    )
    if cover:
        check_image(cover, field="cover")
        course.cover = cover
    course.full_clean()
    course.save()
    course.trainers.add(author)
    return course


def course_update(
    *, user: User, course: Course, trainers: Iterable[User] | None = None, **fields: Any
) -> Course:
    summary_html = (
        sanitize.markdown(fields["summary"], max_chars=SUMMARY_MAX_CHARS, field="summary")
        if "summary" in fields
        else None
    )
    return _course_update(
        user=user, course=course, trainers=trainers, summary_html=summary_html, **fields
    )


@transaction.atomic
def _course_update(
    *,
    user: User,
    course: Course,
    trainers: Iterable[User] | None,
    summary_html: str | None,
    **fields: Any,
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
        if name == "cover" and is_new_upload(value):
            check_image(value, field="cover")
        setattr(course, name, value)
    if summary_html is not None:
        course.summary_html = summary_html
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
def _apply_activity_fields(
    activity: Activity, fields: dict[str, Any], body_html: str | None
) -> None:
    """Set ``fields``; ``body_html`` is the given body rendered (None: no new body)."""
    unknown = set(fields) - ACTIVITY_FIELDS
    if unknown:
        raise ValidationError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    for name, value in fields.items():
        if name == "title":
            value = _clean_title(value)
        if name == "media_file" and value is None:
            continue
        setattr(activity, name, "" if value is None and name != "link_id" else value)
    if body_html is not None:
        activity.body_html = body_html
    if activity.kind == ActivityKind.MEDIA and not (activity.media_file or activity.media_url):
        raise ValidationError({"media_url": _("Upload a file or give a link.")})


def _render_activity_body(fields: dict[str, Any]) -> str | None:
    if "body" not in fields:
        return None
    return sanitize.markdown(fields["body"] or "", max_chars=BODY_MAX_CHARS, field="body")


def activity_create(
    *, user: User, module: Module, title: str, kind: str, **fields: Any
) -> Activity:
    body_html = _render_activity_body({"body": "", **fields})
    return _activity_create(
        user=user, module=module, title=title, kind=kind, body_html=body_html, **fields
    )


@transaction.atomic
def _activity_create(
    *, user: User, module: Module, title: str, kind: str, body_html: str | None, **fields: Any
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
    _apply_activity_fields(activity, {"title": title, **fields}, body_html)
    activity.full_clean()
    activity.save()
    _recompute_course(course)
    return activity


def activity_update(*, user: User, activity: Activity, **fields: Any) -> Activity:
    body_html = _render_activity_body(fields)
    return _activity_update(user=user, activity=activity, body_html=body_html, **fields)


@transaction.atomic
def _activity_update(
    *, user: User, activity: Activity, body_html: str | None, **fields: Any
) -> Activity:
    _require_editor(user, activity.course)
    was_required = activity.required
    _apply_activity_fields(activity, fields, body_html)
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
    _dues_on_enrol(enrolment, course)
    if actor.pk != user.pk:  # the audit log (issue 16): enrolments made for someone else
        from hub import audit

        audit.record(
            action="classrooms.enrolled_for",
            actor=actor,
            target=user,
            details={"course": course.pk},
        )
    # Completions outlive an unenrolment: someone enrolled again may have done it all.
    enrolment.progress, all_done = _progress_percent(user, course)
    if all_done:
        enrolment.status, enrolment.completed_at = EnrolmentStatus.COMPLETED, timezone.now()
        enrolment.completed_late = _is_late(enrolment.due_at, enrolment.completed_at)
    enrolment.save(update_fields=["progress", "status", "completed_at", "completed_late"])
    for topic in (course.progress_topic, *team_topics_of(user=user)):
        realtime.publish(topic, "enrolment.created", enrolment_payload(enrolment))
    events.emit("classrooms.enrolled", user=user, course=course)
    if all_done:
        _course_completed(user, course)
    return enrolment


@transaction.atomic
def enrolments_create_many(*, actor: User, user_ids: list[int], course: Course) -> list[int]:
    """Enrol many people at once on the system's behalf, ``actor`` being a trainer of the
    course (a recertification window opening for a batch of awards). Those already
    enrolled keep their enrolment; people outside the course's space are left out. A
    constant number of queries whatever the number of people: their progress comes from
    their completions (one query), the rows in one insert, one audit row, and one
    ``classrooms.enrolled_many`` event (the course channel adds them in bulk). Someone whose
    completions already cover the course is enrolled as completed, without a second
    "completed" notice. Returns the ids enrolled."""
    from django.db.models import Count

    from hub.accounts.models import SpaceMembership

    wanted = set(user_ids)
    wanted -= set(
        Enrolment.objects.filter(course=course, user_id__in=wanted).values_list(
            "user_id", flat=True
        )
    )
    if not wanted:
        return []
    fresh = sorted(
        SpaceMembership.objects.filter(space_id=course.space_id, user_id__in=wanted).values_list(
            "user_id", flat=True
        )
    )
    if not fresh:
        return []
    required = list(
        Activity.objects.filter(course=course, required=True).values_list("id", flat=True)
    )
    done = dict(
        Completion.objects.filter(course=course, user_id__in=fresh, activity_id__in=required)
        .values("user_id")
        .annotate(n=Count("id"))
        .values_list("user_id", "n")
    )
    now = timezone.now()
    rows = []
    for user_id in fresh:
        n = done.get(user_id, 0)
        all_done = bool(required) and n == len(required)
        rows.append(
            Enrolment(
                user_id=user_id,
                course=course,
                source=EnrolmentSource.TRAINER,
                enrolled_by=actor,
                progress=math.floor(100 * n / len(required)) if required else 0,
                status=EnrolmentStatus.COMPLETED if all_done else EnrolmentStatus.ACTIVE,
                completed_at=now if all_done else None,
            )
        )
    # A concurrent single enrolment of one of them wins; this one is dropped for that person.
    Enrolment.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    from hub import audit

    audit.record(
        action="classrooms.enrolled_many",
        actor=actor,
        target=course,
        details={"count": len(fresh), "users": fresh[:1000]},
    )
    realtime.publish(
        course.progress_topic, "enrolments.created", {"course": course.pk, "count": len(fresh)}
    )
    events.emit("classrooms.enrolled_many", user_ids=fresh, course=course)
    return fresh


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
    if actor.pk != user.pk:  # the audit log (issue 16)
        from hub import audit

        audit.record(
            action="classrooms.unenrolled_for",
            actor=actor,
            target=user,
            details={"course": course.pk},
        )
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


# A recomputation publishes its changed rows in events of at most this many learners.
RECOMPUTE_BATCH = 500


def _recompute_course(course: Course) -> None:
    """Progress and status of every enrolment after the course's required activities
    changed (an activity added or removed, made optional or required).

    Who now has every required activity done completes the course (notified, and points
    through ``classrooms.course_completed``, whose handlers are idempotent); who was
    completed but no longer has them all is back in progress (points already earned stay:
    the ledger pays a course once, so completing it again pays nothing twice). A course
    with no required activity leaves statuses as they are: there is nothing to finish.
    The changed rows go out as ``progress.recomputed`` on the course topic and each team's
    topic (batched), and to each learner on their own topic.
    """
    required = set(
        Activity.objects.filter(course=course, required=True).values_list("id", flat=True)
    )
    counts: dict[int, int] = {}
    for user_id in Completion.objects.filter(course=course, activity_id__in=required).values_list(
        "user_id", flat=True
    ):
        counts[user_id] = counts.get(user_id, 0) + 1
    now = timezone.now()
    changed: list[Enrolment] = []
    newly_completed: list[Enrolment] = []
    # Locked like activity_complete locks one: a completion racing this sees the new rows.
    enrolments = Enrolment.objects.select_for_update(of=("self",)).select_related("user")
    for enrolment in enrolments.filter(course=course).order_by("pk"):
        done = counts.get(enrolment.user_id, 0)
        progress = math.floor(100 * done / len(required)) if required else 0
        status, completed_at = enrolment.status, enrolment.completed_at
        if required and done == len(required) and status != EnrolmentStatus.COMPLETED:
            status, completed_at = EnrolmentStatus.COMPLETED, now
        elif required and done < len(required) and status == EnrolmentStatus.COMPLETED:
            status, completed_at = EnrolmentStatus.ACTIVE, None
        if (progress, status) == (enrolment.progress, enrolment.status):
            continue
        if status == EnrolmentStatus.COMPLETED and enrolment.status != status:
            newly_completed.append(enrolment)
        enrolment.progress, enrolment.status = progress, status
        enrolment.completed_at = completed_at
        enrolment.completed_late = _is_late(enrolment.due_at, completed_at)
        changed.append(enrolment)
    if not changed:
        return
    Enrolment.objects.bulk_update(changed, ["progress", "status", "completed_at", "completed_late"])
    _publish_recomputed(course, changed)
    for enrolment in newly_completed:
        _course_completed(enrolment.user, course)


def _publish_recomputed(course: Course, enrolments: list[Enrolment]) -> None:
    """``progress.recomputed``: ``{"course", "learners": [{"user", "progress", "status"}]}``
    on the course topic and on each team topic (its members' rows only); each learner
    gets ``classrooms.progress`` (without an activity) on their own topic."""
    rows = {e.user_id: recomputed_row(e) for e in enrolments}
    by_team = team_ids_of(user_ids=set(rows))
    topics = [(course.progress_topic, list(rows))] + [
        (team_progress_topic(team_id), members) for team_id, members in by_team.items()
    ]
    for topic, user_ids in topics:
        for start in range(0, len(user_ids), RECOMPUTE_BATCH):
            batch = [rows[u] for u in user_ids[start : start + RECOMPUTE_BATCH]]
            realtime.publish(topic, "progress.recomputed", {"course": course.pk, "learners": batch})
    for enrolment in enrolments:
        realtime.publish(
            enrolment.user.topic,
            "classrooms.progress",
            {"course": course.pk, "progress": enrolment.progress, "status": enrolment.status},
        )


def _course_completed(user: User, course: Course) -> None:
    """The learner has just completed ``course``: they and their managers are told, and
    the listening apps (points, badges) hear ``classrooms.course_completed``."""
    notify(
        recipients=[user, *managers_of(user=user)],
        kind="course_completed",
        verb=_("%(name)s completed %(course)s") % {"name": user.name, "course": course.title},
        actor=user,
        target=course,
        url=course.get_absolute_url(),
    )
    events.emit("classrooms.course_completed", user=user, course=course)


@transaction.atomic
def activity_uncomplete(*, user: User, activity: Activity, source: str) -> bool:
    """Take back a completion made by ``source`` (a passed assignment regraded to a fail):
    the learner's progress goes down and a completed course is back in progress (points
    earned stay: the ledger pays once). Completions from another source are left alone.
    Returns whether one was removed. Listeners hear ``classrooms.activity_uncompleted``."""
    course = activity.course
    enrolment = Enrolment.objects.select_for_update().filter(user=user, course=course).first()
    removed, _detail = Completion.objects.filter(
        user=user, activity=activity, source=source[:40]
    ).delete()
    if not removed:
        return False
    if enrolment is not None:
        percent, all_done = _progress_percent(user, course)
        enrolment.progress = percent
        if not all_done and enrolment.status == EnrolmentStatus.COMPLETED:
            enrolment.status, enrolment.completed_at = EnrolmentStatus.ACTIVE, None
            enrolment.completed_late = False
        enrolment.save(update_fields=["progress", "status", "completed_at", "completed_late"])
        ActivityDue.objects.filter(enrolment=enrolment, activity=activity).update(
            completed_at=None, completed_late=False
        )
        _publish_recomputed(course, [enrolment])
    events.emit("classrooms.activity_uncompleted", user=user, activity=activity)
    return True


@transaction.atomic
def activity_complete(*, user: User, activity: Activity, source: str) -> Completion | None:
    """Mark ``activity`` done for ``user`` (an enrolled learner) and update their progress.

    Called by this app (viewed, quiz passed, submitted) and by others (``source`` e.g.
    ``"session_attendance"``, ``"live_class"``). Done again (a second call: viewed again, a
    passed retake, a new attempt, another session attended, a new passing score), it only
    records when (``last_completed_at``, ``times``) and emits ``classrooms.activity_redone``
    (a learning path's later cycle counts it); progress, the course and its points stay as
    they were and the existing completion is returned. Returns ``None`` when ``user`` is
    not enrolled.
    Publishes ``progress.updated`` on the course's progress topic (durable: the completion
    id) and on ``hub.user.<id>``; completing the course notifies the learner and managers.
    """
    course = activity.course
    enrolment = Enrolment.objects.select_for_update().filter(user=user, course=course).first()
    if enrolment is None:
        return None
    existing = Completion.objects.filter(user=user, activity=activity).first()
    if existing:
        now = timezone.now()
        Completion.objects.filter(pk=existing.pk).update(
            last_completed_at=now, times=F("times") + 1
        )
        existing.last_completed_at = now
        events.emit("classrooms.activity_redone", user=user, activity=activity)
        return existing
    # The course's editors follow the course topic; each manager their team's.
    topics = [course.progress_topic, *team_topics_of(user=user)]
    realtime.hold_topic_order(*topics)
    completion = Completion.objects.create(
        user=user,
        activity=activity,
        course=course,
        source=source[:40],
        last_completed_at=timezone.now(),
    )
    percent, all_done = _progress_percent(user, course)
    enrolment.progress = percent
    newly_completed = all_done and enrolment.status != EnrolmentStatus.COMPLETED
    if newly_completed:
        enrolment.status = EnrolmentStatus.COMPLETED
        enrolment.completed_at = timezone.now()
        enrolment.completed_late = _is_late(enrolment.due_at, enrolment.completed_at)
    enrolment.save(update_fields=["progress", "status", "completed_at", "completed_late"])
    # This person's due date of the activity, if it has one: done, late when after it (one
    # statement, no read; the caller's activity may predate a change of its due date).
    ActivityDue.objects.filter(enrolment=enrolment, activity=activity).update(
        completed_at=completion.completed_at,
        completed_late=Case(
            When(due_at__lt=completion.completed_at, then=Value(True)), default=Value(False)
        ),
    )
    # A quiz's cell shows the learner's best score: the event carries it.
    score = best_score(user=user, activity=activity) if activity.kind == ActivityKind.QUIZ else None
    payload = progress_event_payload(
        completion=completion, enrolment=enrolment, user=user, score=score
    )
    for topic in topics:
        realtime.publish(topic, "progress.updated", payload, id=completion.pk)
    # Ephemeral on the personal topic: its ids are the notifications' (see hub.realtime_topics).
    realtime.publish(user.topic, "classrooms.progress", payload)
    events.emit("classrooms.activity_completed", user=user, activity=activity)
    if newly_completed:
        _course_completed(user, course)
    return completion


@transaction.atomic
def activity_view(*, user: User, activity: Activity) -> Completion | None:
    """A learner opened the activity: completes it when its rule is ``viewed``."""
    if activity.completion_rule != CompletionRule.VIEWED:
        return None
    return activity_complete(user=user, activity=activity, source="viewed")


# -- quizzes ---------------------------------------------------------------------------------


def _clean_question(
    *,
    kind: str,
    text: str,
    choices: list[dict[str, Any]] | None,
    numeric_answer: float | None,
    tolerance: float,
) -> tuple[str, list[dict[str, Any]]]:
    """A question's text and answers as stored, or a ``ValidationError`` naming the field.
    A numeric question keeps no answers; a choice question keeps no number."""
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
        return text, []
    correct = sum(1 for c in choices if c.get("is_correct"))
    if len(choices) < 2:
        raise ValidationError({"choices": _("Give at least two answers.")})
    if kind in (QuestionKind.SINGLE, QuestionKind.TRUE_FALSE) and correct != 1:
        raise ValidationError({"choices": _("Exactly one answer must be correct.")})
    if kind == QuestionKind.MULTIPLE and correct < 1:
        raise ValidationError({"choices": _("At least one answer must be correct.")})
    if kind == QuestionKind.TRUE_FALSE and len(choices) != 2:
        raise ValidationError({"choices": _("True/false has exactly two answers.")})
    return text, [
        {
            "text": sanitize.plain(c.get("text", "")).strip()[:500] or "—",
            "is_correct": bool(c.get("is_correct")),
            "feedback": sanitize.plain(c.get("feedback", "")).strip()[:500],
        }
        for c in choices
    ]


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
    text, choices = _clean_question(
        kind=kind, text=text, choices=choices, numeric_answer=numeric_answer, tolerance=tolerance
    )
    question = Question.objects.create(
        course=course,
        kind=kind,
        text=text,
        explanation=sanitize.plain(explanation).strip(),
        numeric_answer=numeric_answer if kind == QuestionKind.NUMERIC else None,
        tolerance=tolerance if kind == QuestionKind.NUMERIC else 0,
    )
    Choice.objects.bulk_create(
        [Choice(question=question, position=i, **c) for i, c in enumerate(choices)]
    )
    return question


@transaction.atomic
def question_update(
    *,
    user: User,
    question: Question,
    kind: str,
    text: str,
    choices: list[dict[str, Any]] | None = None,
    numeric_answer: float | None = None,
    tolerance: float = 0,
    explanation: str = "",
) -> Question:
    """Change a question of the bank, validated as a new one is.

    Answers are changed in place, position by position, so that attempts already taken keep
    pointing at the same answer ids (their scores are stored and do not change); answers
    past the new count are removed.
    """
    question = Question.objects.select_for_update().select_related("course").get(pk=question.pk)
    _require_editor(user, question.course)
    text, choices = _clean_question(
        kind=kind, text=text, choices=choices, numeric_answer=numeric_answer, tolerance=tolerance
    )
    question.kind = kind
    question.text = text
    question.explanation = sanitize.plain(explanation).strip()
    question.numeric_answer = numeric_answer if kind == QuestionKind.NUMERIC else None
    question.tolerance = tolerance if kind == QuestionKind.NUMERIC else 0
    question.save()
    existing = list(question.choices.order_by("position", "id"))
    for position, data in enumerate(choices):
        if position < len(existing):
            choice = existing[position]
            for field, value in data.items():
                setattr(choice, field, value)
            choice.position = position
            choice.save()
        else:
            Choice.objects.create(question=question, position=position, **data)
    Choice.objects.filter(pk__in=[c.pk for c in existing[len(choices) :]]).delete()
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
def attempt_submit(
    *, user: User, attempt: Attempt, answers: Any, finished_at: datetime | None = None
) -> Attempt:
    """Score an attempt on the server. Submitting twice is a conflict; bad answers change
    nothing; after the deadline (plus a few seconds of grace) the attempt scores zero.

    ``finished_at``: when an attempt taken offline was finished (``classrooms.offline``
    has checked it against the server's clock); now otherwise."""
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
    now = finished_at or timezone.now()
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
    # Every scored attempt moves the grid's quiz cell (the best score), passed or not;
    # a pass that completes the quiz also sends progress.updated below.
    scored = {
        "user": {"id": user.pk, "name": user.name},
        "course": activity.course_id,
        "activity": activity.pk,
        "score": best_score(user=user, activity=activity),
    }
    for topic in (activity.course.progress_topic, *team_topics_of(user=user)):
        realtime.publish(topic, "quiz.scored", scored)
    events.emit("classrooms.quiz_submitted", user=user, activity=activity, attempt=attempt)
    if attempt.passed and activity.completion_rule == CompletionRule.QUIZ_PASSED:
        activity_complete(user=user, activity=activity, source="quiz_passed")
    return attempt


# -- assignments -----------------------------------------------------------------------------
def submission_create(
    *, user: User, activity: Activity, text: str = "", file: Any = None, number: int = 1
) -> Submission:
    """Hand in an assignment. ``number`` > 1 is a resubmission: the grading app
    (grading/services.py) decides when one is allowed and passes the next number."""
    text_html = sanitize.markdown(text or "", max_chars=SUBMISSION_MAX_CHARS, field="text")
    return _submission_create(
        user=user, activity=activity, text=text or "", text_html=text_html, file=file, number=number
    )


@transaction.atomic
def _submission_create(
    *, user: User, activity: Activity, text: str, text_html: str, file: Any, number: int = 1
) -> Submission:
    if activity.kind != ActivityKind.ASSIGNMENT:
        raise ValidationError(_("This activity takes no submission."))
    if not is_enrolled(user=user, course=activity.course_id):
        raise PermissionDenied(_("Enrol in the course to submit work."))
    if not (text or "").strip() and not file:
        raise ValidationError({"text": _("Write something or attach a file.")})
    numbers = set(
        Submission.objects.filter(user=user, activity=activity).values_list("number", flat=True)
    )
    if number in numbers or (number > 1 and number - 1 not in numbers):
        raise Conflict(_("You already submitted this assignment."))
    submission = Submission(
        user=user, activity=activity, text=text, text_html=text_html, number=number
    )
    if file:
        if sniff_upload(file) in RASTER_IMAGE_TYPES:
            check_image(file, field="file")
        submission.file = file
    submission.full_clean()
    submission.save()
    if activity.completion_rule == CompletionRule.SUBMITTED:
        activity_complete(user=user, activity=activity, source="submitted")
    events.emit("classrooms.submitted", submission=submission)
    return submission


# -- live classes ----------------------------------------------------------------------------
# A socket refreshes its person's attendance this often (the room page's heartbeat); someone
# absent from presence for longer is counted as gone since they were last seen.
LIVECLASS_HEARTBEAT_SECONDS = 20
# A fresh join is not closed by a sync that runs before its socket has subscribed.
LIVECLASS_JOIN_GRACE_SECONDS = 10
# Someone back within this long of leaving (a network blip, a reload) continues their last
# stretch of attendance, the gap counted in, instead of starting a new one.
LIVECLASS_REJOIN_SECONDS = 30
MAX_STROKES_PER_BOARD = 5000
MAX_BREAKOUT_ROOMS = 20
REACTIONS = ("👍", "👏", "❤️", "😂", "😮", "🎉", "❓")


class RoomFull(Conflict):
    default_detail = "The room is full."


def _require_liveclass_trainer(user: Any, live_class: LiveClass) -> None:
    if liveclass_role(user, live_class) != ParticipantRole.TRAINER:
        raise PermissionDenied(_("Only the trainers of this class may do that."))


def _require_not_ended(live_class: LiveClass) -> None:
    if live_class.status == LiveClassStatus.ENDED:
        raise Conflict(_("This class has ended."))


def _require_live(live_class: LiveClass) -> None:
    if live_class.status != LiveClassStatus.LIVE:
        raise Conflict(_("The class has not started."))


def _locked_class(live_class: LiveClass) -> LiveClass:
    """The class row, locked for this transaction: joins, hands and status serialise on it."""
    return LiveClass.objects.select_for_update().get(pk=live_class.pk)


def _room_topic(live_class: LiveClass, room: int) -> str:
    return live_class.breakout_topic(room) if room else live_class.topic


def _durable(live_class: LiveClass, type: str, data: dict[str, Any], *, room: int = 0) -> None:
    """Store and publish a durable event of the class's main room or a breakout room."""
    topic = _room_topic(live_class, room)
    # Stored as JSON exactly as the frame carries it (dates as ISO text).
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    realtime.hold_topic_order(topic)
    event = LiveClassEvent.objects.create(live_class=live_class, room=room, type=type, data=data)
    realtime.publish(topic, type, data, id=event.pk)


def _publish_hands(live_class: LiveClass) -> None:
    """The whole queue, to the main room and to every open breakout room (ephemeral)."""
    data = {"hands": hand_queue(live_class)}
    realtime.publish(live_class.topic, "hands.changed", data)
    for room in range(1, live_class.breakout_count + 1):
        realtime.publish(live_class.breakout_topic(room), "hands.changed", data)


def _publish_status(live_class: LiveClass) -> None:
    _durable(live_class, "class.changed", liveclass_payload(live_class))


@transaction.atomic
def liveclass_create(
    *,
    actor: User,
    space: Space,
    title: str,
    course: Course | None = None,
    activity: Activity | None = None,
    scheduled_start: Any = None,
    scheduled_end: Any = None,
    min_presence_percent: int = 75,
    capacity: int | None = None,
) -> LiveClass:
    """A class started ad hoc (or planned) by a trainer of ``course`` (or of the space)."""
    if course is not None:
        _require_editor(actor, course)
        space = course.space
    elif not (actor.has_role(Role.TRAINER, Role.COORDINATOR, Role.ADMIN)):
        raise PermissionDenied(_("Only trainers may create a live class."))
    if not is_space_member(user=actor, space=space.pk) and not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("You are not a member of this space."))
    if activity is not None and (
        activity.course_id != getattr(course, "pk", None)
        or activity.kind != ActivityKind.LIVE_CLASS
    ):
        raise ValidationError({"activity": _("Choose a live-class activity of this course.")})
    if scheduled_start and scheduled_end and scheduled_end <= scheduled_start:
        raise ValidationError({"scheduled_end": _("The end must come after the start.")})
    fields: dict[str, Any] = {}
    if capacity is not None:
        fields["capacity"] = capacity
    live_class = LiveClass.objects.create(
        space=space,
        course=course,
        activity=activity,
        title=_clean_title(title),
        scheduled_start=scheduled_start,
        scheduled_end=scheduled_end,
        min_presence_percent=min_presence_percent,
        created_by=actor,
        **fields,
    )
    live_class.trainers.add(actor)
    if activity is not None:
        Activity.objects.filter(pk=activity.pk).update(link_kind="liveclass", link_id=live_class.pk)
    return live_class


@transaction.atomic
def liveclass_for_session(
    *,
    session_key: str,
    space: Space,
    title: str,
    trainers: Iterable[User],
    attendees: Iterable[User] = (),
    course: Course | None = None,
    activity: Activity | None = None,
    scheduled_start: Any = None,
    scheduled_end: Any = None,
) -> LiveClass:
    """The live class of a scheduled virtual session (``session_key`` e.g.
    ``"sessions.session.12"``), created once and brought up to date on each call.

    The calling app has checked its own permissions; ``attendees`` (its registrants) are
    let in besides the course's learners. Idempotent.
    """
    live_class = LiveClass.objects.filter(session_key=session_key).first()
    if live_class is None:
        live_class = LiveClass.objects.create(
            session_key=session_key[:100], space=space, title=_clean_title(title)
        )
    live_class.title = _clean_title(title)
    live_class.course = course
    live_class.activity = activity
    live_class.scheduled_start = scheduled_start
    live_class.scheduled_end = scheduled_end
    # Only the fields the session owns: a full save would write back a status or lock that
    # the trainer changed meanwhile (the session calls this on every seat change).
    live_class.save(
        update_fields=["title", "course", "activity", "scheduled_start", "scheduled_end"]
    )
    attendees = list(attendees)
    was_invited = set(live_class.invitees.values_list("pk", flat=True))
    live_class.trainers.set(list(trainers))
    live_class.invitees.set(attendees)
    if activity is not None:
        Activity.objects.filter(pk=activity.pk).update(link_kind="liveclass", link_id=live_class.pk)
    # Back on the waiting list, cancelled, unregistered: out of the room and its chat.
    gone = was_invited - {u.pk for u in attendees}
    for participant in live_class.participants.filter(user_id__in=gone).select_related("user"):
        if liveclass_role(participant.user, live_class) is None:
            _shut_out(live_class, participant)
    return live_class


def _shut_out(live_class: LiveClass, participant: LiveClassParticipant) -> None:
    """``participant`` lost their place in the class (not removed by a trainer: they may
    come back if they get it again): their attendance stops, their sockets stop receiving
    the room, and the media side and the class's chat let them go."""
    user_id = participant.user_id
    _close_intervals(live_class, user_id=user_id, at=timezone.now())
    LiveClassParticipant.objects.filter(pk=participant.pk).update(
        hand_raised_at=None, breakout_room=None
    )
    realtime.publish(live_class.topic, "participant.left", {"id": user_id})
    realtime.revoke(live_class.topic, user_id=user_id)
    if participant.breakout_room:
        realtime.revoke(live_class.breakout_topic(participant.breakout_room), user_id=user_id)
    events.emit("classrooms.liveclass_left", user_id=user_id, live_class_id=live_class.pk)
    events.emit("classrooms.liveclass_removed", user_id=user_id, live_class_id=live_class.pk)


@transaction.atomic
def liveclass_start(*, actor: User, live_class: LiveClass) -> LiveClass:
    _require_liveclass_trainer(actor, live_class)
    live_class = _locked_class(live_class)
    _require_not_ended(live_class)
    if live_class.status != LiveClassStatus.LIVE:
        now = timezone.now()
        live_class.status = LiveClassStatus.LIVE
        live_class.started_at = now
        live_class.save(update_fields=["status", "started_at"])
        # Attendance starts now, for those waiting in the lobby and the one who starts it.
        here = present_user_ids(live_class.topic) | {actor.pk}
        for participant in live_class.participants.filter(user_id__in=here, removed=False):
            _open_interval(participant, now)
        _publish_status(live_class)
        _notify_started(live_class, actor=actor, present=here)
    return live_class


def _notify_started(live_class: LiveClass, *, actor: User, present: set[int]) -> None:
    """Those the class is for and who are not in its lobby hear it starts (in the app, and
    pushed to their phone by default: docs/OFFLINE.md). Whoever opens the room before the
    push job runs is looking at it and is not pushed."""
    waiting_for = liveclass_expected_user_ids(live_class) - present - {actor.pk}
    if not waiting_for:
        return
    notify(
        recipients=User.objects.filter(pk__in=waiting_for, is_active=True),
        kind="liveclass_started",
        verb=_("%(name)s started the live class %(title)s")
        % {"name": actor.name, "title": live_class.title},
        actor=actor,
        target=live_class,
        url=live_class.get_absolute_url(),
        topic=live_class.topic,
    )


def _close_intervals(live_class: LiveClass, *, user_id: int | None, at: Any) -> None:
    qs = open_intervals(live_class)
    if user_id is not None:
        qs = qs.filter(participant__user_id=user_id)
    qs.update(left_at=at, last_seen_at=at)


@transaction.atomic
def liveclass_end(*, actor: User, live_class: LiveClass) -> LiveClass:
    """End the class: attendance closes, the linked activity is completed for those present
    at least ``min_presence_percent`` of the class, the media side is told."""
    _require_liveclass_trainer(actor, live_class)
    live_class = _locked_class(live_class)
    _require_not_ended(live_class)
    return _end(live_class)


@transaction.atomic
def liveclass_close_for_session(*, session_key: str) -> LiveClass | None:
    """The session of a live class (see ``liveclass_for_session``) was cancelled or is no
    longer a virtual class: its registrants lose their access and the class ends, so the
    room of a session that no longer takes place cannot be used. Idempotent."""
    live_class = LiveClass.objects.filter(session_key=session_key).first()
    if live_class is None:
        return None
    live_class.invitees.clear()
    live_class = _locked_class(live_class)
    if live_class.status != LiveClassStatus.ENDED:
        _end(live_class)
    return live_class


def _end(live_class: LiveClass) -> LiveClass:
    """End a locked class that is not over yet (``liveclass_end`` checks who may)."""
    now = timezone.now()
    # Those who left unseen (nobody beat since) count until they were last seen, not to
    # the end; those still here, until now.
    liveclass_attendance_sync(
        live_class=live_class, present_user_ids=present_user_ids(live_class.topic), now=now
    )
    if live_class.started_at is None:
        live_class.started_at = now  # ended from the lobby: a class of no length
    live_class.status = LiveClassStatus.ENDED
    live_class.ended_at = now
    live_class.recording_on = False
    live_class.breakout_count = 0
    live_class.breakout_ends_at = None
    live_class.locked = False
    live_class.save()
    _close_intervals(live_class, user_id=None, at=now)
    live_class.participants.update(hand_raised_at=None, breakout_room=None)
    _publish_status(live_class)
    _complete_attendees(live_class)
    events.emit("classrooms.liveclass_ended", live_class_id=live_class.pk)
    return live_class


def _complete_attendees(live_class: LiveClass) -> None:
    if live_class.activity is None:
        return
    class_seconds = (live_class.ended_at - live_class.started_at).total_seconds()
    if class_seconds <= 0:
        return
    for row in attendance_rows(live_class):
        if row["role"] != ParticipantRole.LEARNER or row["removed"]:
            continue
        if row["percent"] >= live_class.min_presence_percent:
            learner = User.objects.get(pk=row["user"])
            activity_complete(user=learner, activity=live_class.activity, source="live_class")


@transaction.atomic
def liveclass_join(*, user: User, live_class: LiveClass) -> LiveClassParticipant:
    """Enter the room (or the lobby before the start). Refused when not allowed, removed,
    ended, locked (for newcomers) or full (``RoomFull``). Opens an attendance interval;
    a second tab of someone already in changes nothing."""
    role = liveclass_role(user, live_class)
    if role is None:
        raise PermissionDenied(_("You are not invited to this class."))
    live_class = _locked_class(live_class)
    _require_not_ended(live_class)
    participant = LiveClassParticipant.objects.filter(live_class=live_class, user=user).first()
    if participant is not None and participant.removed:
        raise PermissionDenied(_("A trainer removed you from this class."))
    live = live_class.status == LiveClassStatus.LIVE
    # Attendance is the time in a started class: the lobby records none. Who is in the
    # lobby is who is connected to the class's topic.
    lobby = set() if live else present_user_ids(live_class.topic)
    already_in = participant is not None and (
        open_intervals(live_class).filter(participant=participant).exists()
        if live
        else user.pk in lobby
    )
    if not already_in and role != ParticipantRole.TRAINER:
        if live_class.locked and participant is None:
            raise Conflict(_("The room is locked: nobody new may join."))
        present = present_participant_count(live_class, lobby)
        if present >= live_class.capacity and live:
            # Full on paper: first count out those whose sockets are gone (nobody may have
            # beaten since they left), then decide.
            liveclass_attendance_sync(
                live_class=live_class, present_user_ids=present_user_ids(live_class.topic)
            )
            present = present_participant_count(live_class)
        if present >= live_class.capacity:
            raise RoomFull(_("The room is full (%(n)s participants).") % {"n": live_class.capacity})
    now = timezone.now()
    if participant is None:
        participant = LiveClassParticipant.objects.create(
            live_class=live_class, user=user, role=role
        )
    elif participant.role != role:
        participant.role = role
        participant.save(update_fields=["role"])
    if not already_in:
        if live:
            _open_interval(participant, now)
        realtime.publish(
            live_class.topic, "participant.joined", participant_payload(participant, present=True)
        )
    if live_class.status == LiveClassStatus.SCHEDULED:
        live_class.status = LiveClassStatus.LOBBY
        live_class.save(update_fields=["status"])
        _publish_status(live_class)
    events.emit(
        "classrooms.liveclass_joined",
        user=user,
        live_class=live_class,
        host=role == ParticipantRole.TRAINER,
    )
    return participant


@transaction.atomic
def liveclass_leave(*, user: User, live_class: LiveClass) -> None:
    """Leave the room (the page's explicit leave): the attendance interval closes."""
    _close_intervals(live_class, user_id=user.pk, at=timezone.now())
    realtime.publish(live_class.topic, "participant.left", {"id": user.pk})
    events.emit("classrooms.liveclass_left", user_id=user.pk, live_class_id=live_class.pk)


@transaction.atomic
def liveclass_attendance_sync(
    *, live_class: LiveClass, present_user_ids: set[int], now: Any = None
) -> None:
    """Bring attendance in line with who is connected (the topic's presence).

    Present people are seen now (an interval opens if they had none: a second tab survived
    an explicit leave); absent ones are counted gone from when they were last seen (plus
    at most one heartbeat), except during the grace after a join (their socket is still
    subscribing).
    """
    now = now or timezone.now()
    # Serialised per class: two beats at once must not both close or both reopen.
    live_class = _locked_class(live_class)
    if live_class.status == LiveClassStatus.ENDED:
        return
    heartbeat = timedelta(seconds=LIVECLASS_HEARTBEAT_SECONDS)
    grace = timedelta(seconds=LIVECLASS_JOIN_GRACE_SECONDS)
    # Every page beats: one UPDATE for those present, rows touched only for those gone.
    open_intervals(live_class).filter(participant__user_id__in=present_user_ids).update(
        last_seen_at=now
    )
    gone: list[int] = []
    absent = (
        open_intervals(live_class)
        .exclude(participant__user_id__in=present_user_ids)
        .filter(joined_at__lt=now - grace)
        .select_related("participant")
    )
    for interval in absent:
        interval.left_at = min(now, interval.last_seen_at + heartbeat)
        interval.save(update_fields=["left_at"])
        gone.append(interval.participant.user_id)
    still_open = set(open_intervals(live_class).values_list("participant__user_id", flat=True))
    # Before the start nobody attends yet (the lobby is not the class).
    reopen = present_user_ids - still_open if live_class.status == LiveClassStatus.LIVE else ()
    for participant in live_class.participants.filter(user_id__in=reopen, removed=False):
        _open_interval(participant, now)
    for user_id in gone:
        realtime.publish(live_class.topic, "participant.left", {"id": user_id})
        events.emit("classrooms.liveclass_left", user_id=user_id, live_class_id=live_class.pk)


def _open_interval(participant: LiveClassParticipant, now: datetime) -> AttendanceInterval:
    """Open a stretch of attendance, or reopen the last one if it ended moments ago: a
    dropped socket that reconnects (the presence hook closed its stretch at once) leaves
    one continuous stretch in the record, not two with a gap of a few seconds."""
    recent = (
        AttendanceInterval.objects.filter(
            participant=participant,
            left_at__gte=now - timedelta(seconds=LIVECLASS_REJOIN_SECONDS),
            left_at__lte=now,
        )
        .order_by("-left_at")
        .first()
    )
    if recent is not None:
        recent.left_at = None
        recent.last_seen_at = now
        recent.save(update_fields=["left_at", "last_seen_at"])
        return recent
    return AttendanceInterval.objects.create(
        participant=participant, joined_at=now, last_seen_at=now
    )


def _participant(live_class: LiveClass, user: Any) -> LiveClassParticipant:
    participant = LiveClassParticipant.objects.filter(
        live_class=live_class, user_id=user.pk, removed=False
    ).first()
    if participant is None:
        raise PermissionDenied(_("Join the class first."))
    return participant


# -- hands -------------------------------------------------------------------------------
@transaction.atomic
def hand_raise(*, user: User, live_class: LiveClass) -> list[dict[str, Any]]:
    """Join the end of the queue (raising twice keeps one's place). Returns the queue."""
    live_class = _locked_class(live_class)
    _require_live(live_class)
    participant = _participant(live_class, user)
    if participant.hand_raised_at is None:
        participant.hand_raised_at = timezone.now()
        participant.save(update_fields=["hand_raised_at"])
        realtime.publish(
            live_class.topic,
            "hand.raised",
            {"user": user.pk, "name": user.name, "breakout_room": participant.breakout_room},
        )
        _publish_hands(live_class)
    return hand_queue(live_class)


@transaction.atomic
def hand_lower(
    *, actor: User, live_class: LiveClass, user_id: int | None = None, everyone: bool = False
) -> list[dict[str, Any]]:
    """Lower one's own hand; a trainer lowers anyone's (``user_id``) or all (``everyone``)."""
    live_class = _locked_class(live_class)
    target = actor.pk if user_id is None else user_id
    if everyone or target != actor.pk:
        _require_liveclass_trainer(actor, live_class)
    qs = live_class.participants.filter(hand_raised_at__isnull=False)
    if not everyone:
        qs = qs.filter(user_id=target)
    if qs.update(hand_raised_at=None):
        _publish_hands(live_class)
    return hand_queue(live_class)


def liveclass_react(*, user: User, live_class: LiveClass, emoji: str) -> None:
    """An ephemeral reaction everyone in the room sees float by."""
    _participant(live_class, user)
    if emoji not in REACTIONS:
        raise ValidationError({"emoji": _("Unknown reaction.")})
    realtime.publish(
        live_class.topic, "reaction", {"user": user.pk, "name": user.name, "emoji": emoji}
    )


# -- trainer controls --------------------------------------------------------------------
@transaction.atomic
def liveclass_control(
    *, actor: User, live_class: LiveClass, action: str, user_id: int | None = None
) -> LiveClass:
    """Trainer controls: ``mute`` one, ``mute_all``, ``spotlight`` one (``unspotlight``),
    ``lock`` / ``unlock`` the room, ``webinar_on`` / ``webinar_off`` (only trainers and
    promoted speakers publish), ``promote`` one to speak / ``demote`` them back to watching.
    Mutes, promotions and demotions are ``control`` events the media page obeys."""
    _require_liveclass_trainer(actor, live_class)
    live_class = _locked_class(live_class)
    _require_not_ended(live_class)
    if action in ("promote", "demote"):
        return _webinar_speaker(live_class, user_id=user_id, speaker=action == "promote")
    if action in ("webinar_on", "webinar_off"):
        return _webinar_mode(live_class, on=action == "webinar_on")
    if action in ("mute", "spotlight") and not (
        user_id and live_class.participants.filter(user_id=user_id, removed=False).exists()
    ):
        raise ValidationError({"user": _("Choose a participant of this class.")})
    if action == "mute":
        realtime.publish(live_class.topic, "control", {"action": "mute", "user": user_id})
    elif action == "mute_all":
        realtime.publish(live_class.topic, "control", {"action": "mute_all", "except": actor.pk})
    elif action in ("spotlight", "unspotlight"):
        live_class.spotlight_id = user_id if action == "spotlight" else None
        live_class.save(update_fields=["spotlight"])
        _publish_status(live_class)
    elif action in ("lock", "unlock"):
        live_class.locked = action == "lock"
        live_class.save(update_fields=["locked"])
        _publish_status(live_class)
    else:
        raise ValidationError({"action": _("Unknown control.")})
    return live_class


def _webinar_mode(live_class: LiveClass, *, on: bool) -> LiveClass:
    """Webinar on: those who are neither trainers nor promoted stop publishing and watch."""
    if live_class.webinar == on:
        return live_class
    live_class.webinar = on
    live_class.save(update_fields=["webinar"])
    _publish_status(live_class)
    if on:
        watchers = list(
            live_class.participants.filter(removed=False, speaker=False)
            .exclude(role=ParticipantRole.TRAINER)
            .values_list("user_id", flat=True)
        )
        events.emit("classrooms.liveclass_watchers", live_class_id=live_class.pk, users=watchers)
    return live_class


def _webinar_speaker(live_class: LiveClass, *, user_id: int | None, speaker: bool) -> LiveClass:
    """Promote a participant to speak (their hand goes down, their page publishes) or send
    them back to watching (their publication ends)."""
    participant = (
        live_class.participants.filter(user_id=user_id, removed=False).first() if user_id else None
    )
    if participant is None:
        raise ValidationError({"user": _("Choose a participant of this class.")})
    if participant.role == ParticipantRole.TRAINER:
        raise ValidationError({"user": _("Trainers always speak.")})
    if not live_class.webinar:
        raise Conflict(_("Turn the webinar mode on first: everyone may speak now."))
    participant.speaker = speaker
    fields = ["speaker"]
    if speaker and participant.hand_raised_at is not None:
        participant.hand_raised_at = None
        fields.append("hand_raised_at")
    participant.save(update_fields=fields)
    _publish_status(live_class)
    _publish_hands(live_class)
    action = "promote" if speaker else "demote"
    realtime.publish(live_class.topic, "control", {"action": action, "user": participant.user_id})
    if not speaker:
        watcher = [participant.user_id]
        events.emit("classrooms.liveclass_watchers", live_class_id=live_class.pk, users=watcher)
    return live_class


@transaction.atomic
def liveclass_remove(*, actor: User, live_class: LiveClass, user: User) -> None:
    """Put someone out of the class for good: their sockets stop receiving the room at
    once, and they may not come back."""
    _require_liveclass_trainer(actor, live_class)
    if user.pk == actor.pk:
        raise ValidationError({"user": _("You cannot remove yourself.")})
    participant = LiveClassParticipant.objects.filter(live_class=live_class, user=user).first()
    if participant is None:
        participant = LiveClassParticipant.objects.create(
            live_class=live_class, user=user, role=liveclass_role(user, live_class) or "learner"
        )
    if participant.role == ParticipantRole.TRAINER:
        raise PermissionDenied(_("A trainer cannot be removed."))
    room = participant.breakout_room
    participant.removed = True
    participant.hand_raised_at = None
    participant.breakout_room = None
    participant.save(update_fields=["removed", "hand_raised_at", "breakout_room"])
    _close_intervals(live_class, user_id=user.pk, at=timezone.now())
    realtime.publish(live_class.topic, "participant.removed", {"id": user.pk})
    _publish_hands(live_class)
    realtime.revoke(live_class.topic, user_id=user.pk)
    if room:
        realtime.revoke(live_class.breakout_topic(room), user_id=user.pk)
    events.emit("classrooms.liveclass_left", user_id=user.pk, live_class_id=live_class.pk)
    events.emit("classrooms.liveclass_removed", user_id=user.pk, live_class_id=live_class.pk)


@transaction.atomic
def liveclass_set_recording(*, actor: User, live_class: LiveClass, on: bool) -> LiveClass:
    """Turn recording on or off (trainers). Participants see ``recording.changed``; the
    media side records on ``classrooms.liveclass_recording(live_class_id, on)``."""
    _require_liveclass_trainer(actor, live_class)
    live_class = _locked_class(live_class)
    if on:
        _require_live(live_class)
    if live_class.recording_on != on:
        live_class.recording_on = on
        live_class.save(update_fields=["recording_on"])
        _durable(live_class, "recording.changed", {"on": on})
        events.emit("classrooms.liveclass_recording", live_class_id=live_class.pk, on=on)
    return live_class


# -- polls -------------------------------------------------------------------------------
def _publish_poll(poll: Poll) -> None:
    # No viewer: every subscriber gets the same frame, without anyone's own vote.
    realtime.publish(poll.live_class.topic, "poll.updated", poll_payload(poll))


@transaction.atomic
def poll_create(
    *, actor: User, live_class: LiveClass, question: str, choices: list[str], anonymous: bool
) -> Poll:
    _require_liveclass_trainer(actor, live_class)
    _require_live(live_class)
    question = sanitize.plain(question or "").strip()[:300]
    cleaned = [sanitize.plain(c or "").strip()[:200] for c in choices]
    if not question:
        raise ValidationError({"question": _("Ask a question.")})
    if len(cleaned) < 2 or len(cleaned) > 10 or not all(cleaned):
        raise ValidationError({"choices": _("Give between 2 and 10 non-empty choices.")})
    poll = Poll.objects.create(
        live_class=live_class,
        question=question,
        choices=cleaned,
        anonymous=anonymous,
        created_by=actor,
    )
    _durable(live_class, "poll.opened", poll_payload(poll))
    return poll


@transaction.atomic
def poll_vote(*, user: User, poll: Poll, choice: int) -> Poll:
    """One vote per person, which they may change until the poll closes."""
    poll = Poll.objects.select_for_update().select_related("live_class").get(pk=poll.pk)
    _participant(poll.live_class, user)
    if not poll.is_open:
        raise Conflict(_("This poll is closed."))
    if not 0 <= choice < len(poll.choices):
        raise ValidationError({"choice": _("No such choice.")})
    PollVote.objects.update_or_create(poll=poll, user=user, defaults={"choice": choice})
    _publish_poll(poll)
    return poll


@transaction.atomic
def poll_close(*, actor: User, poll: Poll) -> Poll:
    _require_liveclass_trainer(actor, poll.live_class)
    poll = Poll.objects.select_for_update().select_related("live_class").get(pk=poll.pk)
    if poll.is_open:
        poll.is_open = False
        poll.closed_at = timezone.now()
        poll.save(update_fields=["is_open", "closed_at"])
        _durable(poll.live_class, "poll.closed", poll_payload(poll))
    return poll


# -- whiteboard --------------------------------------------------------------------------
def _require_board(user: Any, live_class: LiveClass, room: int) -> None:
    """The main board: everyone in the class; a breakout board: its room and the trainers."""
    participant = _participant(live_class, user)
    if room and participant.breakout_room != room and participant.role != ParticipantRole.TRAINER:
        raise PermissionDenied(_("You are not in this breakout room."))
    if room > live_class.breakout_count:
        raise Conflict(_("This breakout room is closed."))


@transaction.atomic
def stroke_add(
    *, user: User, live_class: LiveClass, data: dict[str, Any], room: int = 0
) -> WhiteboardStroke:
    """Draw one stroke (``data``: points, color, width, validated by the serializer)."""
    _require_live(live_class)
    _require_board(user, live_class, room)
    count = WhiteboardStroke.objects.filter(live_class=live_class, room=room).count()
    if count >= MAX_STROKES_PER_BOARD:
        raise Conflict(_("The board is full: clear it first."))
    stroke = WhiteboardStroke.objects.create(
        live_class=live_class,
        room=room,
        author=user,
        data={"points": data["points"], "color": data["color"], "width": data["width"]},
    )
    _durable(live_class, "stroke.added", stroke_payload(stroke), room=room)
    return stroke


@transaction.atomic
def stroke_undo(*, user: User, live_class: LiveClass, room: int = 0) -> int | None:
    """Take back one's own last stroke; returns its id (``None``: nothing to undo)."""
    _require_board(user, live_class, room)
    stroke = (
        WhiteboardStroke.objects.filter(live_class=live_class, room=room, author=user)
        .order_by("-id")
        .first()
    )
    if stroke is None:
        return None
    stroke_id = stroke.pk
    stroke.delete()
    _durable(live_class, "stroke.removed", {"id": stroke_id, "room": room}, room=room)
    return stroke_id


@transaction.atomic
def board_clear(*, actor: User, live_class: LiveClass, room: int = 0) -> None:
    """Wipe a board: trainers, and in a breakout room the people of that room."""
    _require_board(actor, live_class, room)
    if not room:
        _require_liveclass_trainer(actor, live_class)
    WhiteboardStroke.objects.filter(live_class=live_class, room=room).delete()
    _durable(live_class, "board.cleared", {"room": room}, room=room)


# -- breakout rooms ----------------------------------------------------------------------
@transaction.atomic
def breakout_open(
    *,
    actor: User,
    live_class: LiveClass,
    count: int,
    minutes: int = 0,
    assignments: dict[int, int] | None = None,
) -> LiveClass:
    """Split the learners present into ``count`` rooms: at random, or by ``assignments``
    (user id -> room number; people left out are spread at random). ``minutes`` > 0 sets
    a timer everyone sees."""
    import random

    _require_liveclass_trainer(actor, live_class)
    live_class = _locked_class(live_class)
    _require_live(live_class)
    if not 1 <= count <= MAX_BREAKOUT_ROOMS:
        raise ValidationError({"count": _("Between 1 and 20 rooms.")})
    if live_class.breakout_count:
        raise Conflict(_("Breakout rooms are already open: call everyone back first."))
    present = set(open_intervals(live_class).values_list("participant_id", flat=True))
    learners = list(
        live_class.participants.filter(role=ParticipantRole.LEARNER, removed=False, pk__in=present)
    )
    assignments = assignments or {}
    known = {p.user_id for p in live_class.participants.filter(removed=False)}
    for user_id, room in assignments.items():
        if user_id not in known:
            raise ValidationError({"assignments": _("Someone listed is not in this class.")})
        if not 1 <= room <= count:
            raise ValidationError({"assignments": _("Room numbers go from 1 to the count.")})
    unassigned = [p for p in learners if p.user_id not in assignments]
    random.shuffle(unassigned)
    # Fill the emptiest rooms first so rooms stay balanced around the hand-placed people.
    sizes = {room: 0 for room in range(1, count + 1)}
    for room in assignments.values():
        sizes[room] += 1
    for p in unassigned:
        room = min(sizes, key=lambda r: (sizes[r], r))
        sizes[room] += 1
        assignments[p.user_id] = room
    for user_id, room in assignments.items():
        live_class.participants.filter(user_id=user_id).update(breakout_room=room)
    live_class.breakout_count = count
    live_class.breakout_ends_at = (
        timezone.now() + timedelta(minutes=minutes) if minutes > 0 else None
    )
    live_class.save(update_fields=["breakout_count", "breakout_ends_at"])
    rooms = {str(room): [] for room in range(1, count + 1)}
    for user_id, room in sorted(assignments.items()):
        rooms[str(room)].append(user_id)
    _durable(
        live_class,
        "breakout.opened",
        {"count": count, "ends_at": live_class.breakout_ends_at, "rooms": rooms},
    )
    _publish_status(live_class)
    events.emit("classrooms.breakouts_opened", live_class_id=live_class.pk, rooms=assignments)
    return live_class


@transaction.atomic
def breakout_broadcast(*, actor: User, live_class: LiveClass, message: str) -> None:
    """A trainer's message to every breakout room."""
    _require_liveclass_trainer(actor, live_class)
    if not live_class.breakout_count:
        raise Conflict(_("No breakout rooms are open."))
    text = sanitize.plain(message or "").strip()[:500]
    if not text:
        raise ValidationError({"message": _("Write a message.")})
    data = {"message": text, "from": actor.name}
    _durable(live_class, "breakout.broadcast", data)
    for room in range(1, live_class.breakout_count + 1):
        _durable(live_class, "breakout.broadcast", data, room=room)


@transaction.atomic
def breakout_close(*, actor: User, live_class: LiveClass) -> LiveClass:
    """Call everyone back to the main room."""
    _require_liveclass_trainer(actor, live_class)
    live_class = _locked_class(live_class)
    count = live_class.breakout_count
    if not count:
        return live_class
    live_class.participants.update(breakout_room=None)
    live_class.breakout_count = 0
    live_class.breakout_ends_at = None
    live_class.save(update_fields=["breakout_count", "breakout_ends_at"])
    for room in range(1, count + 1):
        _durable(live_class, "breakout.closed", {"count": count}, room=room)
    _durable(live_class, "breakout.closed", {"count": count})
    _publish_status(live_class)
    events.emit("classrooms.breakouts_closed", live_class_id=live_class.pk, count=count)
    return live_class


@transaction.atomic
def breakout_say(*, user: User, live_class: LiveClass, room: int, body: str) -> dict[str, Any]:
    """A line of a breakout room's small chat (durable on the room's topic)."""
    _require_board(user, live_class, room)
    if not room:
        raise ValidationError({"room": _("The main room's chat is the class chat.")})
    text = sanitize.plain(body or "").strip()[:1000]
    if not text:
        raise ValidationError({"body": _("Write a message.")})
    data = {"user": user.pk, "name": user.name, "body": text, "at": timezone.now()}
    _durable(live_class, "chat.message", data, room=room)
    return data


@transaction.atomic
def liveclass_attach_recording(
    *, live_class: LiveClass, path: Any, started_at: float | None = None
) -> LiveClass:
    """Attach a finished recording (a file the media server wrote) to the class.

    Called by the media side, not by a person, so it checks no permission. The file is
    moved into the class's storage; a later recording of the same class replaces the
    earlier one (whose file is deleted). ``started_at`` (Unix time of the file's time 0)
    places the class's chat and chapters on the playback page. The room hears
    ``recording.saved``.
    """
    from datetime import UTC
    from pathlib import Path

    from django.core.files import File

    source = Path(path)
    live_class = _locked_class(live_class)
    earlier = live_class.recording.name if live_class.recording else ""
    now = timezone.now()
    with source.open("rb") as handle:
        live_class.recording.save(
            f"liveclass-{live_class.pk}-{source.name}", File(handle), save=False
        )
    live_class.recording_started_at = (
        datetime.fromtimestamp(started_at, tz=UTC) if started_at is not None else now
    )
    live_class.recording_saved_at = now
    live_class.recording_preparing_since = None
    live_class.save(
        update_fields=[
            "recording",
            "recording_started_at",
            "recording_saved_at",
            "recording_preparing_since",
        ]
    )
    source.unlink(missing_ok=True)
    if earlier and earlier != live_class.recording.name:
        storage = live_class.recording.storage
        transaction.on_commit(lambda: storage.delete(earlier))
    realtime.publish(
        live_class.topic,
        "recording.saved",
        {
            "url": live_class.recording.url,
            "page": reverse("liveclass-recording", args=[live_class.pk]),
        },
    )
    return live_class


@transaction.atomic
def liveclass_queue_composition(*, live_class: LiveClass, folder: Any, path: Any) -> LiveClass:
    """A recording stopped on Janus: queue the job that composes Janus's tracks (in
    ``folder``) into ``path`` and attaches it (on commit). Until then the playback page
    says the recording is being prepared; the room hears ``recording.preparing``."""
    from classrooms import tasks

    live_class = _locked_class(live_class)
    live_class.recording_preparing_since = timezone.now()
    live_class.save(update_fields=["recording_preparing_since"])
    class_id, folder, path = live_class.pk, str(folder), str(path)
    transaction.on_commit(lambda: tasks.compose_recording.enqueue(class_id, folder, path))
    realtime.publish(
        live_class.topic,
        "recording.preparing",
        {"page": reverse("liveclass-recording", args=[live_class.pk])},
    )
    return live_class


@transaction.atomic
def liveclass_composition_failed(*, live_class: LiveClass) -> LiveClass:
    """Nothing usable was recorded: the page stops saying "being prepared"."""
    live_class = _locked_class(live_class)
    live_class.recording_preparing_since = None
    live_class.save(update_fields=["recording_preparing_since"])
    realtime.publish(live_class.topic, "recording.failed", {})
    return live_class


def recordings_expire(*, now: Any = None) -> int:
    """Delete the recordings saved more than ``LYCEUM_RECORDING_RETENTION_DAYS`` ago (0:
    keep them); the number deleted. Idempotent: a class without a file is left alone."""
    days = settings.LYCEUM_RECORDING_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted = 0
    for pk in (
        LiveClass.objects.filter(recording_saved_at__lt=cutoff)
        .exclude(recording="")
        .exclude(recording__isnull=True)
        .values_list("pk", flat=True)
    ):
        deleted += _recording_delete(pk, cutoff)
    return deleted


@transaction.atomic
def _recording_delete(pk: int, cutoff: Any) -> int:
    live_class = LiveClass.objects.select_for_update().filter(pk=pk).first()
    if live_class is None or not live_class.recording:
        return 0
    if live_class.recording_saved_at is None or live_class.recording_saved_at >= cutoff:
        return 0  # a new recording replaced it meanwhile
    name, storage = live_class.recording.name, live_class.recording.storage
    live_class.recording = None
    live_class.recording_started_at = None
    live_class.recording_saved_at = None
    live_class.save(update_fields=["recording", "recording_started_at", "recording_saved_at"])
    transaction.on_commit(lambda: storage.delete(name))
    return 1


# -- due dates -------------------------------------------------------------------------------
# A due date's bounds: a number of days after the enrolment, or a date (DateTimeInRangeField
# and hub.params bound it to 1970-2099 at the API; the services check it again).
MAX_DUE_DAYS = 3650


def _is_late(due_at: datetime | None, completed_at: datetime | None) -> bool:
    return bool(due_at and completed_at and completed_at > due_at)


def _clean_due(
    due_date: datetime | None, due_days: int | None
) -> tuple[datetime | None, int | None]:
    from hub.params import validate_datetime_in_range

    if due_date and due_days:
        raise ValidationError({"due_days": _("Give a due date or a number of days, not both.")})
    if due_days is not None and not 1 <= due_days <= MAX_DUE_DAYS:
        raise ValidationError({"due_days": _("Between 1 and %(n)s days.") % {"n": MAX_DUE_DAYS}})
    if due_date is not None:
        if timezone.is_naive(due_date):
            raise ValidationError({"due_date": _("Give the date with its time zone.")})
        validate_datetime_in_range(due_date)
    return due_date, due_days or None


def _after_enrolment(days: int) -> ExpressionWrapper:
    """``enrolment.enrolled_at + days`` in SQL (from an Enrolment row)."""
    return ExpressionWrapper(F("enrolled_at") + timedelta(days=days), output_field=DateTimeField())


def _default_due(enrolled_at: datetime, due_date: datetime | None, due_days: int | None):
    if due_date:
        return due_date
    if due_days:
        return enrolled_at + timedelta(days=due_days)
    return None


def _dues_on_enrol(enrolment: Enrolment, course: Course) -> None:
    """A new enrolment takes the course's default due date and one row per activity that
    has a due date (three queries at most)."""
    # Read from the row: the caller's course may predate a change of its default.
    due_date, due_days = Course.objects.filter(pk=course.pk).values_list("due_date", "due_days")[0]
    enrolment.due_at = _default_due(enrolment.enrolled_at, due_date, due_days)
    if enrolment.due_at:
        Enrolment.objects.filter(pk=enrolment.pk).update(due_at=enrolment.due_at)
    ActivityDue.objects.bulk_create(
        ActivityDue(
            enrolment=enrolment,
            activity_id=a.pk,
            user_id=enrolment.user_id,
            due_at=_default_due(enrolment.enrolled_at, a.due_date, a.due_days),
        )
        for a in Activity.objects.filter(course=course)
        .filter(Q(due_date__isnull=False) | Q(due_days__isnull=False))
        .only("pk", "due_date", "due_days")
    )


def _publish_due_changed(course: Course, user_ids: Iterable[int] | None = None) -> None:
    """``due.changed`` to each person whose due date moved (their home and lists refresh),
    on the course's progress topic for its trainers and on their teams' progress topics
    for their managers (one query)."""
    data = {"course": course.pk}
    realtime.publish(course.progress_topic, "due.changed", data)
    people = set(user_ids or ())
    for user_id in people:
        realtime.publish(f"hub.user.{user_id}", "due.changed", data)
    # Their managers' team topics: the Overdue card follows a date moved into the past.
    for team_id in team_ids_of(user_ids=people):
        realtime.publish(team_progress_topic(team_id), "due.changed", data)


@transaction.atomic
def course_due_set(
    *, actor: User, course: Course, due_date: datetime | None = None, due_days: int | None = None
) -> Course:
    """The course's default enrolment due date (both None: none). Every enrolment that has
    not its own date follows; those whose date changes get their reminder and overdue
    notice again. Set-based: a constant number of queries whatever the enrolments."""
    _require_editor(actor, course)
    due_date, due_days = _clean_due(due_date, due_days)
    course = Course.objects.select_for_update().get(pk=course.pk)
    course.due_date, course.due_days = due_date, due_days
    course.save(update_fields=["due_date", "due_days"])
    following = Enrolment.objects.filter(course=course, due_overridden=False)
    reset = {"reminded_at": None, "overdue_notified_at": None}
    new_due: Any = _after_enrolment(due_days) if due_days else due_date
    if new_due is None:
        moved = following.filter(due_at__isnull=False)
    else:
        moved = following.filter(Q(due_at__isnull=True) | ~Q(due_at=new_due))
    user_ids = list(moved.values_list("user_id", flat=True)[:5000])
    Enrolment.objects.filter(pk__in=moved.values("pk")).update(due_at=new_due, **reset)
    _publish_due_changed(course, user_ids)
    return course


@transaction.atomic
def enrolment_due_set(*, actor: User, enrolment: Enrolment, due_at: datetime | None) -> Enrolment:
    """This enrolment's own due date (None: back to the course's default). The course's
    editors, and the person's manager (who may enrol their reports), set it. A completion
    already recorded keeps its lateness (judged against the date in force when done)."""
    if not can_set_enrolment_due(user=actor, enrolment=enrolment):
        raise PermissionDenied(_("You may not set this person's due date."))
    due_at, _days = _clean_due(due_at, None)
    enrolment = Enrolment.objects.select_for_update().select_related("course").get(pk=enrolment.pk)
    course = enrolment.course
    if due_at is None:
        new = _default_due(enrolment.enrolled_at, course.due_date, course.due_days)
    else:
        new = due_at
    changed = new != enrolment.due_at
    enrolment.due_at, enrolment.due_overridden = new, due_at is not None
    fields = ["due_at", "due_overridden"]
    if changed:
        enrolment.reminded_at = enrolment.overdue_notified_at = None
        fields += ["reminded_at", "overdue_notified_at"]
    enrolment.save(update_fields=fields)
    _publish_due_changed(course, [enrolment.user_id])
    return enrolment


@transaction.atomic
def activity_due_set(
    *,
    actor: User,
    activity: Activity,
    due_date: datetime | None = None,
    due_days: int | None = None,
) -> Activity:
    """An activity's due date for everyone enrolled (both None: none): a fixed date or a
    number of days after each person's enrolment. Rows of people whose date changes get
    their reminder and overdue notice again; people enrolled later get theirs on
    enrolment. Set-based: a constant number of queries whatever the enrolments."""
    _require_editor(actor, activity.course)
    due_date, due_days = _clean_due(due_date, due_days)
    activity = Activity.objects.select_for_update().select_related("course").get(pk=activity.pk)
    activity.due_date, activity.due_days = due_date, due_days
    activity.save(update_fields=["due_date", "due_days"])
    rows = ActivityDue.objects.filter(activity=activity)
    if not (due_date or due_days):
        user_ids = list(rows.values_list("user_id", flat=True)[:5000])
        rows.delete()
        _publish_due_changed(activity.course, user_ids)
        return activity
    # Everyone enrolled has a row (those without one get it; their flags start clear).
    enrolments = Enrolment.objects.filter(course_id=activity.course_id).exclude(
        pk__in=rows.values("enrolment_id")
    )
    ActivityDue.objects.bulk_create(
        (
            ActivityDue(
                enrolment_id=pk,
                activity=activity,
                user_id=user_id,
                due_at=_default_due(enrolled_at, due_date, due_days),
            )
            for pk, user_id, enrolled_at in enrolments.values_list("pk", "user_id", "enrolled_at")
        ),
        batch_size=1000,
        ignore_conflicts=True,
    )
    reset = {"reminded_at": None, "overdue_notified_at": None}
    if due_date:
        moved = rows.exclude(due_at=due_date)
        user_ids = list(moved.values_list("user_id", flat=True)[:5000])
        moved.update(due_at=due_date, **reset)
    else:
        # N days after each person's enrolment: the date comes from their enrolment row.
        from django.db.models import OuterRef, Subquery

        enrolled = Enrolment.objects.filter(pk=OuterRef("enrolment_id")).values("enrolled_at")[:1]
        new_due = ExpressionWrapper(
            Subquery(enrolled) + timedelta(days=due_days), output_field=DateTimeField()
        )
        user_ids = list(rows.values_list("user_id", flat=True)[:5000])
        rows.annotate(new_due=new_due).exclude(due_at=F("new_due")).update(due_at=new_due, **reset)
    _publish_due_changed(activity.course, user_ids)
    return activity
