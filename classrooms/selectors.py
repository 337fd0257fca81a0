"""Reads, permission predicates and payloads of classrooms (REST, WebSocket and pages)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.db.models import Avg, Count, Exists, F, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from classrooms.models import (
    Activity,
    ActivityKind,
    Attempt,
    AttendanceInterval,
    Completion,
    Course,
    Enrolment,
    LiveClass,
    LiveClassEvent,
    LiveClassParticipant,
    LiveClassStatus,
    Module,
    ParticipantRole,
    Poll,
    Question,
    Submission,
    WhiteboardStroke,
)
from hub import files
from hub.accounts.models import Role, RoleGrant, SpaceMembership, Team, User
from hub.accounts.selectors import is_manager_of, is_space_member
from hub.params import parse_id

STAFF_ROLES = (Role.ADMIN, Role.COORDINATOR)
AUTHOR_ROLES = (Role.TRAINER, Role.COORDINATOR, Role.ADMIN)


# -- permissions ----------------------------------------------------------------------------
def is_trainer_of(*, user: Any, course: Course) -> bool:
    return course.trainers.filter(pk=user.pk).exists()


def can_create_course(*, user: Any) -> bool:
    return user.has_role(*AUTHOR_ROLES)


def can_edit_course(*, user: Any, course: Course) -> bool:
    """Admins, and the course's own trainers (coordinators of its space too)."""
    if user.has_role(Role.ADMIN):
        return True
    if user.has_role(Role.COORDINATOR) and is_space_member(user=user, space=course.space_id):
        return True
    return is_trainer_of(user=user, course=course)


def can_set_enrolment_due(*, user: Any, enrolment: Enrolment) -> bool:
    """The course's editors, and the person's manager (managers enrol their reports)."""
    if enrolment.user_id == user.pk and not user.has_role(Role.ADMIN):
        return can_edit_course(user=user, course=enrolment.course)
    return can_edit_course(user=user, course=enrolment.course) or (
        user.has_role(Role.MANAGER)
        and Team.objects.filter(manager=user, members=enrolment.user_id).exists()
    )


def is_enrolled(*, user: Any, course: Course | int) -> bool:
    course_id = course if isinstance(course, int) else course.pk
    return Enrolment.objects.filter(user=user, course_id=course_id).exists()


def courses_visible_to(*, user: Any) -> QuerySet[Course]:
    """Courses ``user`` may see: enrolled, trained, published in their spaces with
    self-enrolment, those their reports follow; everything for admins."""
    qs = Course.objects.all()
    if user.has_role(Role.ADMIN):
        return qs
    # Indexed subqueries, OR-ed: no join product over enrolments (a course of 500 learners
    # would otherwise multiply rows before the DISTINCT).
    my_spaces = SpaceMembership.objects.filter(user=user).values("space_id")
    visible = (
        Q(pk__in=Enrolment.objects.filter(user=user).values("course_id"))
        | Q(pk__in=Course.trainers.through.objects.filter(user_id=user.pk).values("course_id"))
        | Q(published=True, self_enrolment=True, space_id__in=my_spaces)
    )
    if user.has_role(Role.COORDINATOR):
        visible |= Q(space_id__in=my_spaces)
    if user.has_role(Role.MANAGER):
        reports = Team.members.through.objects.filter(team__manager=user).values("user_id")
        visible |= Q(published=True, space_id__in=my_spaces) | Q(
            pk__in=Enrolment.objects.filter(user_id__in=reports).values("course_id")
        )
    return qs.filter(visible)


def can_view_course(*, user: Any, course: Course) -> bool:
    return courses_visible_to(user=user).filter(pk=course.pk).exists()


def can_view_content(*, user: Any, course: Course) -> bool:
    """Modules and activities: the enrolled, the editors, managers of enrolled reports."""
    return (
        is_enrolled(user=user, course=course)
        or can_edit_course(user=user, course=course)
        or manages_enrolled(user=user, course=course)
    )


def cover_file_name(user: Any, name: str) -> str | None:
    """Who may read a course's cover (hub/files.py): whoever may see the course."""
    course = Course.objects.filter(cover=name).first()
    if course is None or not can_view_course(user=user, course=course):
        return None
    return files.download_name(course.title, name)


def media_file_name(user: Any, name: str) -> str | None:
    """Who may read an activity's file (hub/files.py): whoever may see the course's content."""
    activity = Activity.objects.filter(media_file=name).select_related("course").first()
    if activity is None or not can_view_content(user=user, course=activity.course):
        return None
    return files.download_name(activity.title, name)


def submission_file_name(user: Any, name: str) -> str | None:
    """Who may read an assignment's submitted file (hub/files.py): its submitter and the
    course's editors (its trainers, coordinators of its space, admins)."""
    submission = (
        Submission.objects.filter(file=name).select_related("user", "activity__course").first()
    )
    if submission is None:
        return None
    course = submission.activity.course
    if submission.user_id != user.pk and not can_edit_course(user=user, course=course):
        return None
    return files.download_name(f"{submission.activity.title} - {submission.user.username}", name)


def recording_file_name(user: Any, name: str) -> str | None:
    """Who may watch a live class's recording (hub/files.py): those who may be in the class
    (its trainers, learners, invitees), unless a trainer removed them."""
    live_class = LiveClass.objects.filter(recording=name).first()
    if live_class is None or liveclass_role(user, live_class) is None:
        return None
    if is_barred(user, live_class):
        return None
    return files.download_name(live_class.title, name)


def can_watch_recording(user: Any, live_class: LiveClass) -> bool:
    """The class's people (trainers, invitees, the course's learners), not someone a
    trainer removed, and only when there is a recording."""
    return (
        bool(live_class.recording or live_class.recording_preparing_since)
        and liveclass_role(user, live_class) is not None
        and not is_barred(user, live_class)
    )


def recording_chapters(live_class: LiveClass) -> list[dict[str, Any]]:
    """The playback page's chapters: the start, each poll, breakout rooms opening and
    closing, each at its second in the recording (``at``); what happened before the
    recording started is left out. (The chat replayed beside the video is the class's
    messaging conversation: the page reads it through the chat's API, as its members.)"""
    start = live_class.recording_started_at
    chapters: list[dict[str, Any]] = [{"at": 0.0, "title": _("Start")}]
    if start is None:
        return chapters
    events = LiveClassEvent.objects.filter(
        live_class=live_class,
        room=0,
        created_at__gte=start,
        type__in=["poll.opened", "breakout.opened", "breakout.closed"],
    ).order_by("id")
    for event in events:
        at = round((event.created_at - start).total_seconds(), 2)
        if event.type == "poll.opened":
            question = (event.data or {}).get("question", "")
            chapters.append({"at": at, "title": _("Poll: %(question)s") % {"question": question}})
        elif event.type == "breakout.opened":
            chapters.append({"at": at, "title": _("Breakout rooms")})
        else:
            chapters.append({"at": at, "title": _("Back from breakout rooms")})
    return chapters


def manages_enrolled(*, user: Any, course: Course | int) -> bool:
    course_id = course if isinstance(course, int) else course.pk
    return Enrolment.objects.filter(course_id=course_id, user__teams__manager=user).exists()


def can_watch_progress(*, user: Any, course: Course) -> bool:
    """The course's progress pages and export: editors, and managers of enrolled reports
    (who are shown their reports' rows only)."""
    return can_edit_course(user=user, course=course) or manages_enrolled(user=user, course=course)


def can_watch_course_topic(*, user: Any, course: Course) -> bool:
    """``classrooms.course.<id>.progress`` carries every learner: editors only. Managers
    follow their team's topic, which carries their reports and nobody else."""
    return can_edit_course(user=user, course=course)


def team_progress_topic(team_id: int) -> str:
    return f"classrooms.team.{team_id}.progress"


def team_topics_of(*, user: Any) -> list[str]:
    """The progress topics of every team ``user`` is a member of."""
    return [
        team_progress_topic(t)
        for t in Team.objects.filter(members=user).values_list("id", flat=True)
    ]


def team_ids_of(*, user_ids: set[int]) -> dict[int, list[int]]:
    """team id -> its members among ``user_ids`` (one query)."""
    teams: dict[int, list[int]] = defaultdict(list)
    rows = Team.members.through.objects.filter(user_id__in=user_ids).order_by("team_id", "user_id")
    for team_id, user_id in rows.values_list("team_id", "user_id"):
        teams[team_id].append(user_id)
    return dict(teams)


def can_watch_team_topic(*, user: Any, team_id: int) -> bool:
    return user.has_role(Role.ADMIN) or Team.objects.filter(pk=team_id, manager=user).exists()


def team_progress_topics(*, manager: Any) -> list[str]:
    return [
        team_progress_topic(t)
        for t in Team.objects.filter(manager=manager).values_list("id", flat=True)
    ]


def team_progress_after(*, team_id: int, after_id: int, limit: int) -> QuerySet[Completion]:
    """Completions of a team's members, in any course, after ``after_id``."""
    return (
        Completion.objects.filter(
            Exists(Team.objects.filter(pk=team_id, members=OuterRef("user_id"))), id__gt=after_id
        )
        .select_related("user")
        .order_by("id")[:limit]
    )


def last_team_completion_id(*, manager: Any) -> int:
    """Where a manager's live views resume from: their reports' newest completion."""
    return (
        Completion.objects.filter(
            Exists(Team.objects.filter(manager=manager, members=OuterRef("user_id")))
        ).aggregate(last=Max("id"))["last"]
        or 0
    )


def progress_events(completions: list[Completion]) -> list[Any]:
    """``progress.updated`` events for a backlog (learners unenrolled since are skipped)."""
    from hub.realtime import Event

    user_ids = {c.user_id for c in completions}
    enrolments = {
        (e.user_id, e.course_id): e
        for e in Enrolment.objects.filter(
            user_id__in=user_ids, course_id__in={c.course_id for c in completions}
        )
    }
    scores = {
        (r["user_id"], r["activity_id"]): r["best"]
        for r in Attempt.objects.filter(
            user_id__in=user_ids,
            activity_id__in={c.activity_id for c in completions},
            submitted_at__isnull=False,
        )
        .values("user_id", "activity_id")
        .annotate(best=Max("score"))
    }
    events = []
    for c in completions:
        enrolment = enrolments.get((c.user_id, c.course_id))
        if enrolment is not None:
            payload = progress_event_payload(
                completion=c,
                enrolment=enrolment,
                user=c.user,
                score=scores.get((c.user_id, c.activity_id)),
            )
            events.append(Event("progress.updated", payload, id=c.pk))
    return events


def can_see_progress_of(*, viewer: Any, learner: Any, course: Course) -> bool:
    if viewer.pk == learner.pk or can_edit_course(user=viewer, course=course):
        return True
    return is_manager_of(manager=viewer, user=learner)


def can_self_enrol(*, user: Any, course: Course) -> bool:
    return (
        course.published
        and course.self_enrolment
        and is_space_member(user=user, space=course.space_id)
    )


# -- reads -----------------------------------------------------------------------------------
def course_modules(*, course: Course) -> list[Module]:
    """Modules with their activities, in order (two queries)."""
    modules = list(course.modules.all())
    by_module: dict[int, list[Activity]] = defaultdict(list)
    for activity in course.activities.all():
        by_module[activity.module_id].append(activity)
    for module in modules:
        module.ordered_activities = by_module.get(module.pk, [])
    return modules


def ordered_activities(*, course: Course) -> list[Activity]:
    """Every activity in reading order: module order, then activity order."""
    return list(
        Activity.objects.filter(course=course)
        .select_related(None)
        .order_by("module__position", "module_id", "position", "id")
        .only("id", "title", "kind", "required", "module_id", "position", "course_id")
    )


def completed_activity_ids(*, user: Any, course: Course) -> set[int]:
    return set(
        Completion.objects.filter(user=user, course=course).values_list("activity_id", flat=True)
    )


def enrolment_of(*, user: Any, course: Course) -> Enrolment | None:
    return Enrolment.objects.filter(user=user, course=course).first()


def enrolments_of(*, user: Any) -> QuerySet[Enrolment]:
    return Enrolment.objects.filter(user=user).select_related("course").order_by("course__title")


def courses_trained_by(*, user: Any) -> QuerySet[Course]:
    return Course.objects.filter(trainers=user).annotate(learners=Count("enrolments"))


def team_enrolments(*, manager: Any) -> QuerySet[Enrolment]:
    """Enrolments of the people ``manager`` manages."""
    return (
        Enrolment.objects.filter(
            Exists(Team.objects.filter(manager=manager, members=OuterRef("user_id")))
        )
        .select_related("user", "course")
        .order_by("user__username", "course__title")
    )


def progress_after(*, course_id: int, after_id: int, limit: int) -> QuerySet[Completion]:
    return (
        Completion.objects.filter(course_id=course_id, id__gt=after_id)
        .select_related("user")
        .order_by("id")[:limit]
    )


def last_completion_ids(*, course_ids: set[int]) -> dict[int, int]:
    """The newest completion id of each course (where a live view resumes from)."""
    rows = (
        Completion.objects.filter(course_id__in=course_ids)
        .values("course_id")
        .annotate(last=Max("id"))
    )
    return {r["course_id"]: r["last"] for r in rows}


def best_score(*, user: Any, activity: Activity) -> int | None:
    """``user``'s best score on the quiz ``activity`` (submitted attempts), or None."""
    return Attempt.objects.filter(
        user_id=user.pk, activity=activity, submitted_at__isnull=False
    ).aggregate(best=Max("score"))["best"]


def best_scores(*, course: Course) -> dict[tuple[int, int], int]:
    """(user id, quiz id) -> best score, for every submitted attempt in the course."""
    rows = (
        Attempt.objects.filter(activity__course=course, submitted_at__isnull=False)
        .values("user_id", "activity_id")
        .annotate(best=Max("score"))
    )
    return {(r["user_id"], r["activity_id"]): r["best"] for r in rows}


class GridUser(NamedTuple):
    pk: int
    name: str
    username: str


class GridEnrolment(NamedTuple):
    progress: int
    status: str
    enrolled_at: datetime
    completed_at: datetime | None


def progress_grid(*, course: Course) -> dict[str, Any]:
    """The trainer's grid, learners x activities, in a constant number of queries (4)."""
    activities = ordered_activities(course=course)
    # Plain tuples, not model instances: 500 rows cost a few ms instead of tens.
    enrolments = Enrolment.objects.filter(course=course).order_by("user__username").values_list(
        "user_id", "user__username", "user__display_name", "user__first_name",
        "user__last_name", "progress", "status", "enrolled_at", "completed_at",
    )  # fmt: skip
    done: dict[int, set[int]] = defaultdict(set)
    for user_id, activity_id in Completion.objects.filter(course=course).values_list(
        "user_id", "activity_id"
    ):
        done[user_id].add(activity_id)
    scores = best_scores(course=course)
    return {
        "activities": activities,
        "rows": [
            {
                "user": GridUser(uid, display or f"{first} {last}".strip() or username, username),
                "enrolment": GridEnrolment(progress, status, enrolled_at, completed_at),
                "done": done.get(uid, set()),
            }
            for (
                uid,
                username,
                display,
                first,
                last,
                progress,
                status,
                enrolled_at,
                completed_at,
            ) in enrolments
        ],
        "scores": scores,
    }


def attempts_used(*, user: Any, activity: Activity) -> int:
    """Attempts that count against the quiz's limit: since the quiz was asked again (a new
    cycle of a learning path holding it, see ``redo_since``), or all of them."""
    attempts = Attempt.objects.filter(user=user, activity=activity)
    since = redo_since(user=user, activity=activity)
    if since is not None:
        attempts = attempts.filter(started_at__gte=since)
    return attempts.count()


def next_attempt_number(*, user: Any, activity: Activity) -> int:
    """Attempt numbers keep counting across cycles (unique per person and quiz)."""
    from django.db.models import Max

    last = Attempt.objects.filter(user=user, activity=activity).aggregate(n=Max("number"))["n"]
    return (last or 0) + 1


def quiz_questions(*, activity: Activity) -> QuerySet[Question]:
    """The quiz's own selection, or the whole bank of the course when none is chosen."""
    chosen = activity.questions.all()
    if chosen.exists():
        return chosen.prefetch_related("choices")
    return Question.objects.filter(course_id=activity.course_id).prefetch_related("choices")


def answer_is_correct(*, question: Question, answer: Any) -> bool:
    """Is ``answer`` (choice ids, or a number for numeric questions) right? For other apps
    drawing on the bank (quiz duels): the same rule quizzes score with."""
    if answer is None:
        return False
    if question.kind == "numeric":
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return False
        return abs(value - (question.numeric_answer or 0)) <= question.tolerance + 1e-9
    picked = set(answer if isinstance(answer, list | tuple | set) else [answer])
    return picked == {c.pk for c in question.choices.all() if c.is_correct}


# -- payloads --------------------------------------------------------------------------------
def course_payload(course: Course) -> dict[str, Any]:
    return {
        "id": course.pk,
        "space": course.space_id,
        "title": course.title,
        "summary": course.summary,
        "summary_html": course.summary_html,
        "cover": course.cover.url if course.cover else "",
        "language": course.language,
        "published": course.published,
        "self_enrolment": course.self_enrolment,
        "trainers": [t.pk for t in course.trainers.all()],
        "url": course.get_absolute_url(),
        "progress_topic": course.progress_topic,
    }


def module_payload(module: Module) -> dict[str, Any]:
    return {
        "id": module.pk,
        "course": module.course_id,
        "title": module.title,
        "position": module.position,
    }


def activity_payload(activity: Activity) -> dict[str, Any]:
    """What a learner sees of an activity: never the correct answers of a quiz."""
    data: dict[str, Any] = {
        "id": activity.pk,
        "course": activity.course_id,
        "module": activity.module_id,
        "title": activity.title,
        "kind": activity.kind,
        "position": activity.position,
        "required": activity.required,
        "completion_rule": activity.completion_rule,
        "body_html": activity.body_html,
        "url": activity.get_absolute_url(),
    }
    if activity.kind == ActivityKind.MEDIA:
        data["media_kind"] = activity.media_kind
        data["media"] = activity.media_file.url if activity.media_file else activity.media_url
    elif activity.kind == ActivityKind.QUIZ:
        data.update(
            pass_mark=activity.pass_mark,
            attempt_limit=activity.attempt_limit,
            time_limit_seconds=activity.time_limit_seconds,
        )
    elif activity.kind in (ActivityKind.SESSION, ActivityKind.LIVE_CLASS):
        data.update(link_kind=activity.link_kind, link_id=activity.link_id)
    return data


def enrolment_payload(enrolment: Enrolment) -> dict[str, Any]:
    return {
        "id": enrolment.pk,
        "user": {"id": enrolment.user_id, "name": enrolment.user.name},
        "course": enrolment.course_id,
        "status": enrolment.status,
        "source": enrolment.source,
        "enrolled_by": enrolment.enrolled_by_id,
        "enrolled_at": enrolment.enrolled_at,
        "completed_at": enrolment.completed_at,
        "progress": enrolment.progress,
        "due_at": enrolment.due_at,
        "due_overridden": enrolment.due_overridden,
        "completed_late": enrolment.completed_late,
    }


def progress_event_payload(
    *, completion: Completion, enrolment: Enrolment, user: User, score: int | None = None
) -> dict[str, Any]:
    """The progress event: one learner's completion and their new progress (and, for a
    quiz, their best score: what the grid's cell shows)."""
    return {
        "user": {"id": user.pk, "name": user.name},
        "course": completion.course_id,
        "activity": completion.activity_id,
        "completion": completion.pk,
        "source": completion.source,
        "completed_at": completion.completed_at,
        "progress": enrolment.progress,
        "status": enrolment.status,
        "score": score,
    }


def recomputed_row(enrolment: Enrolment) -> dict[str, Any]:
    """One learner's row of ``progress.recomputed`` (the course's activities changed)."""
    return {
        "user": {"id": enrolment.user_id, "name": enrolment.user.name},
        "progress": enrolment.progress,
        "status": enrolment.status,
    }


def question_payload(question: Question, *, with_answers: bool = False) -> dict[str, Any]:
    """A question as a learner sees it; ``with_answers`` only for editors and results."""
    data: dict[str, Any] = {
        "id": question.pk,
        "kind": question.kind,
        "text": question.text,
        "choices": [{"id": c.pk, "text": c.text} for c in question.choices.all()],
    }
    if with_answers:
        data["explanation"] = question.explanation
        data["numeric_answer"] = question.numeric_answer
        data["tolerance"] = question.tolerance
        for c, out in zip(question.choices.all(), data["choices"], strict=True):
            out.update(is_correct=c.is_correct, feedback=c.feedback)
    return data


def attempt_payload(attempt: Attempt, *, questions: list[Question] | None = None) -> dict[str, Any]:
    """An attempt; before submission its questions carry no answer, after it the results."""
    data: dict[str, Any] = {
        "id": attempt.pk,
        "activity": attempt.activity_id,
        "number": attempt.number,
        "started_at": attempt.started_at,
        "deadline": attempt.deadline,
        "submitted_at": attempt.submitted_at,
        "score": attempt.score,
        "passed": attempt.passed,
        "late": attempt.late,
    }
    if questions is not None:
        if attempt.submitted_at is None:
            data["questions"] = [question_payload(q) for q in questions]
        else:
            data["results"] = (attempt.answers or {}).get("results", [])
    return data


# -- live classes ----------------------------------------------------------------------------
def manages_liveclass(user: Any, live_class: LiveClass) -> bool:
    """Those who run a class besides its own trainers: administrators, the coordinators of
    its space, and for a course's class (not a session's) the course's editors."""
    if user.has_role(Role.ADMIN):
        return True
    if user.has_role(Role.COORDINATOR) and is_space_member(user=user, space=live_class.space_id):
        return True
    course = live_class.course
    return (
        not live_class.session_key
        and course is not None
        and is_trainer_of(user=user, course=course)
    )


def liveclass_capacity_for_session(*, session_key: str) -> int:
    """How many people the live class of a scheduled virtual session holds (trainers
    included): its own capacity once it exists, else what a new class gets from the media
    backend in use."""
    from classrooms.models import default_liveclass_capacity

    capacity = (
        LiveClass.objects.filter(session_key=session_key).values_list("capacity", flat=True).first()
    )
    return int(capacity) if capacity is not None else default_liveclass_capacity()


def liveclass_role(user: Any, live_class: LiveClass) -> str | None:
    """``"trainer"`` (the room's controls: its trainers and ``manages_liveclass``),
    ``"learner"`` or ``None`` (may not come in).

    Learners are, for a session's class (``session_key``), its invitees and nobody else:
    the session keeps them equal to its confirmed registrants, so its waiting list, its
    cancelled and the course's other learners stay out; for a course's class, the
    course's enrolled learners and the invitees; for a class of neither, its invitees,
    or the members of its space when it has no invitee list (an open class of the space).
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if live_class.trainers.filter(pk=user.pk).exists() or manages_liveclass(user, live_class):
        return ParticipantRole.TRAINER
    if live_class.invitees.filter(pk=user.pk).exists():
        return ParticipantRole.LEARNER
    if live_class.session_key:
        return None
    course = live_class.course
    if course is not None:
        return ParticipantRole.LEARNER if is_enrolled(user=user, course=course) else None
    if not live_class.invitees.exists() and is_space_member(user=user, space=live_class.space_id):
        return ParticipantRole.LEARNER
    return None


def liveclass_expected_user_ids(live_class: LiveClass) -> set[int]:
    """Who the class is for, to be told it starts: its trainers, invitees and, for a
    course's class, the course's learners (as ``liveclass_role`` lets them in), less those
    a trainer removed. An open class of a whole space tells nobody: it is announced, not
    expected."""
    ids = set(live_class.trainers.values_list("pk", flat=True))
    ids |= set(live_class.invitees.values_list("pk", flat=True))
    if live_class.course_id is not None and not live_class.session_key:
        ids |= set(
            Enrolment.objects.filter(course_id=live_class.course_id).values_list(
                "user_id", flat=True
            )
        )
    barred = LiveClassParticipant.objects.filter(live_class=live_class, removed=True)
    return ids - set(barred.values_list("user_id", flat=True))


def is_liveclass_trainer(user: Any, live_class: LiveClass) -> bool:
    return liveclass_role(user, live_class) == ParticipantRole.TRAINER


def is_barred(user: Any, live_class: LiveClass) -> bool:
    """Removed by a trainer: may not come back."""
    return LiveClassParticipant.objects.filter(
        live_class=live_class, user_id=user.pk, removed=True
    ).exists()


def can_join_liveclass(user: Any, live_class: LiveClass) -> bool:
    """May ``user`` be in the room at all (role, not removed, class not over)?

    Lock and capacity are checked when someone joins (``liveclass_join``): they stop
    newcomers, not people already in.
    """
    if live_class.status == LiveClassStatus.ENDED:
        return False
    if liveclass_role(user, live_class) is None:
        return False
    return not is_barred(user, live_class)


def is_in_liveclass(user: Any, live_class: LiveClass) -> bool:
    """Joined (and not removed): what the room's topic requires of a subscriber."""
    return LiveClassParticipant.objects.filter(
        live_class=live_class, user_id=user.pk, removed=False
    ).exists()


def breakout_key(key: str) -> tuple[int, int] | None:
    """``"<class id>-<room>"`` (a breakout room's topic key and media room) -> (class id,
    room), or None when ``key`` is not one."""
    head, _sep, tail = key.partition("-")
    class_id, room = parse_id(head), parse_id(tail)
    if class_id is None or room is None or room < 1:
        return None
    return class_id, room


def participant_of(user: Any, live_class: LiveClass) -> LiveClassParticipant | None:
    return LiveClassParticipant.objects.filter(live_class=live_class, user_id=user.pk).first()


def may_be_in_breakout_room(
    participant: LiveClassParticipant | None, live_class: LiveClass, room: int
) -> bool:
    """Whether ``participant`` may be in breakout room ``room`` now (its topic, its media):
    the room is open, and they are placed in it or are a trainer (trainers visit any)."""
    return (
        participant is not None
        and not participant.removed
        and 1 <= room <= live_class.breakout_count
        and (participant.role == ParticipantRole.TRAINER or participant.breakout_room == room)
    )


def live_classes_of_course(*, course: Course) -> QuerySet[LiveClass]:
    return LiveClass.objects.filter(course=course).exclude(status=LiveClassStatus.ENDED)


def live_classes_open_to(*, user: Any, course: Course) -> list[LiveClass]:
    """The course's classes not ended that ``user`` may enter (the room's own rule): a
    course page links to these only."""
    return [lc for lc in live_classes_of_course(course=course) if liveclass_role(user, lc)]


def joinable_live_class_activities(*, user: Any, course: Course) -> set[int]:
    """Ids of the course's live-class activities whose join link leads somewhere for
    ``user``: their class lets them in or, with no class yet, they are enrolled (the
    link then says that none is planned)."""
    joinable = set()
    for activity in Activity.objects.filter(course=course, kind=ActivityKind.LIVE_CLASS):
        live_class = live_class_of_activity(activity=activity)
        if live_class is not None:
            if liveclass_role(user, live_class):
                joinable.add(activity.pk)
        elif is_enrolled(user=user, course=course):
            joinable.add(activity.pk)
    return joinable


def ended_live_classes_of_course(*, course: Course, limit: int = 5) -> list[LiveClass]:
    """The latest ended classes (their attendance reports), for the course's trainers."""
    return list(
        LiveClass.objects.filter(course=course, status=LiveClassStatus.ENDED).order_by("-ended_at")[
            :limit
        ]
    )


def live_class_of_activity(*, activity: Activity) -> LiveClass | None:
    """The class an activity of kind live_class points at (its latest one not ended)."""
    qs = LiveClass.objects.filter(activity=activity)
    return qs.exclude(status=LiveClassStatus.ENDED).order_by("-id").first() or qs.last()


def open_intervals(live_class: LiveClass) -> QuerySet[AttendanceInterval]:
    return AttendanceInterval.objects.filter(
        participant__live_class=live_class, left_at__isnull=True
    )


def present_participant_count(live_class: LiveClass, present: set[int] | None = None) -> int:
    """How many are in the room now (what capacity limits): once the class is live, those
    with an open attendance stretch; before the start (the lobby, where no attendance is
    recorded), the participants connected to its topic (``present``: the topic's present
    user ids, when the caller has them)."""
    if live_class.status == LiveClassStatus.LIVE:
        return open_intervals(live_class).values("participant_id").distinct().count()
    if present is None:
        present = present_user_ids(live_class.topic)
    return live_class.participants.filter(user_id__in=present, removed=False).count()


def hand_queue(live_class: LiveClass) -> list[dict[str, Any]]:
    """Raised hands, first raised first."""
    rows = (
        LiveClassParticipant.objects.filter(
            live_class=live_class, hand_raised_at__isnull=False, removed=False
        )
        .select_related("user")
        .order_by("hand_raised_at", "id")
    )
    return [
        {
            "user": p.user_id,
            "name": p.user.name,
            "raised_at": p.hand_raised_at,
            "breakout_room": p.breakout_room,
        }
        for p in rows
    ]


def display_roles(live_class: LiveClass, user_ids: set[int]) -> dict[int, str]:
    """What each of ``user_ids`` is shown as in the class: ``"trainer"`` (the class's or,
    for a course's class, the course's trainers), ``"admin"`` or ``"coordinator"`` (who
    run it without teaching it: the room gives them the trainers' controls, but they are
    not its trainers), else ``"learner"``. Three queries whatever the count."""
    teaching = set(live_class.trainers.filter(pk__in=user_ids).values_list("pk", flat=True))
    if live_class.course_id and not live_class.session_key:
        teaching |= set(
            Course.trainers.through.objects.filter(
                course_id=live_class.course_id, user_id__in=user_ids
            ).values_list("user_id", flat=True)
        )
    grants: dict[int, set[str]] = defaultdict(set)
    for user_id, role in RoleGrant.objects.filter(
        user_id__in=user_ids - teaching, role__in=STAFF_ROLES
    ).values_list("user_id", "role"):
        grants[user_id].add(role)
    shown = {}
    for user_id in user_ids:
        if user_id in teaching:
            shown[user_id] = ParticipantRole.TRAINER.value
        elif Role.ADMIN in grants[user_id]:
            shown[user_id] = Role.ADMIN.value
        elif Role.COORDINATOR in grants[user_id]:
            shown[user_id] = Role.COORDINATOR.value
        else:
            shown[user_id] = ParticipantRole.LEARNER.value
    return shown


def participant_payload(
    participant: LiveClassParticipant, *, present: bool, display_role: str | None = None
) -> dict[str, Any]:
    """``role`` is what the room lets them do (``trainer``: the controls); ``display_role``
    what they are shown as (see ``display_roles``)."""
    if display_role is None:
        display_role = display_roles(participant.live_class, {participant.user_id})[
            participant.user_id
        ]
    return {
        "id": participant.user_id,
        "name": participant.user.name,
        "role": participant.role,
        "display_role": display_role,
        "present": present,
        "hand_raised_at": participant.hand_raised_at,
        "breakout_room": participant.breakout_room,
    }


def participants_payload(live_class: LiveClass) -> list[dict[str, Any]]:
    present = set(open_intervals(live_class).values_list("participant_id", flat=True))
    rows = list(live_class.participants.filter(removed=False).select_related("user"))
    shown = display_roles(live_class, {p.user_id for p in rows})
    return [
        participant_payload(p, present=p.pk in present, display_role=shown[p.user_id]) for p in rows
    ]


def poll_results(poll: Poll) -> list[int]:
    counts = [0] * len(poll.choices)
    for row in poll.votes.values("choice").annotate(n=Count("id")):
        if row["choice"] < len(counts):
            counts[row["choice"]] = row["n"]
    return counts


def poll_payload(poll: Poll, *, viewer: Any = None) -> dict[str, Any]:
    """A poll with its live results. Voters are named only for a non-anonymous poll (and
    the viewer's own vote is theirs to see either way)."""
    data: dict[str, Any] = {
        "id": poll.pk,
        "question": poll.question,
        "choices": poll.choices,
        "anonymous": poll.anonymous,
        "is_open": poll.is_open,
        "results": poll_results(poll),
        "created_at": poll.created_at,
        "closed_at": poll.closed_at,
    }
    if not poll.anonymous:
        data["voters"] = [
            {"user": v.user_id, "name": v.user.name, "choice": v.choice}
            for v in poll.votes.select_related("user").order_by("id")
        ]
    if viewer is not None:
        mine = poll.votes.filter(user_id=viewer.pk).values_list("choice", flat=True).first()
        data["my_vote"] = mine
    return data


def stroke_payload(stroke: WhiteboardStroke) -> dict[str, Any]:
    return {"id": stroke.pk, "author": stroke.author_id, "room": stroke.room, **stroke.data}


def board_strokes(live_class: LiveClass, room: int = 0) -> list[dict[str, Any]]:
    return [
        stroke_payload(s)
        for s in WhiteboardStroke.objects.filter(live_class=live_class, room=room).order_by("id")
    ]


def liveclass_events_after(
    *, live_class_id: int, room: int, after_id: int, limit: int
) -> QuerySet[LiveClassEvent]:
    return LiveClassEvent.objects.filter(
        live_class_id=live_class_id, room=room, id__gt=after_id
    ).order_by("id")[:limit]


def last_event_id(live_class: LiveClass, room: int = 0) -> int:
    return (
        LiveClassEvent.objects.filter(live_class=live_class, room=room).aggregate(m=Max("id"))["m"]
        or 0
    )


def liveclass_payload(live_class: LiveClass) -> dict[str, Any]:
    return {
        "id": live_class.pk,
        "title": live_class.title,
        "space": live_class.space_id,
        "course": live_class.course_id,
        "activity": live_class.activity_id,
        "status": live_class.status,
        "scheduled_start": live_class.scheduled_start,
        "scheduled_end": live_class.scheduled_end,
        "started_at": live_class.started_at,
        "ended_at": live_class.ended_at,
        "locked": live_class.locked,
        "capacity": live_class.capacity,
        "min_presence_percent": live_class.min_presence_percent,
        "recording_on": live_class.recording_on,
        "has_recording": bool(live_class.recording),
        "spotlight": live_class.spotlight_id,
        "webinar": live_class.webinar,
        "speakers": list(
            live_class.participants.filter(speaker=True, removed=False).values_list(
                "user_id", flat=True
            )
        ),
        "breakout_count": live_class.breakout_count,
        "breakout_ends_at": live_class.breakout_ends_at,
        "session_key": live_class.session_key,
        "trainers": [t.pk for t in live_class.trainers.all()],
        "topic": live_class.topic,
        "url": live_class.get_absolute_url(),
    }


def liveclass_state(live_class: LiveClass, *, viewer: Any) -> dict[str, Any]:
    """Everything the room page needs at once (REST ``state`` and the page's initial data);
    the client then follows the topic from ``last_event_id``."""
    participant = participant_of(viewer, live_class)
    room = participant.breakout_room if participant and participant.breakout_room else 0
    return {
        "live_class": liveclass_payload(live_class),
        "role": liveclass_role(viewer, live_class),
        "me": viewer.pk,
        "joined": bool(participant and not participant.removed),
        "participants": participants_payload(live_class),
        "present_count": present_participant_count(live_class),
        "hands": hand_queue(live_class),
        "polls": [poll_payload(p, viewer=viewer) for p in live_class.polls.all()],
        "strokes": board_strokes(live_class, 0),
        "breakout_room": room or None,
        "breakout_strokes": board_strokes(live_class, room) if room else [],
        "last_event_id": last_event_id(live_class, 0),
        "breakout_last_event_id": last_event_id(live_class, room) if room else 0,
    }


def attendance_rows(live_class: LiveClass) -> list[dict[str, Any]]:
    """Per participant who attended (the class was live while they were in): intervals,
    total seconds present, seconds and percent of the class (between its start and end)
    they were there."""
    start = live_class.started_at
    # A class still running is measured up to now.
    end = live_class.ended_at or (timezone.now() if start else None)
    class_seconds = (end - start).total_seconds() if start and end and end > start else 0
    rows = []
    participants = list(
        live_class.participants.select_related("user").prefetch_related("intervals")
    )
    shown = display_roles(live_class, {p.user_id for p in participants})
    for p in participants:
        if not p.intervals.all():
            continue  # only ever in the lobby (or not yet in): they attended nothing
        total = 0.0
        in_class = 0.0
        intervals = []
        for it in p.intervals.all():
            left = it.left_at or it.last_seen_at
            total += max(0.0, (left - it.joined_at).total_seconds())
            if class_seconds:
                overlap = (min(left, end) - max(it.joined_at, start)).total_seconds()
                in_class += max(0.0, overlap)
            intervals.append({"joined_at": it.joined_at, "left_at": it.left_at})
        rows.append(
            {
                "user": p.user_id,
                "name": p.user.name,
                "role": p.role,
                "display_role": shown[p.user_id],
                "removed": p.removed,
                "intervals": intervals,
                "seconds_present": round(total),
                "seconds_in_class": round(in_class),
                "percent": round(100 * in_class / class_seconds) if class_seconds else 0,
            }
        )
    return rows


def present_user_ids(topic: str) -> set[int]:
    """Who is connected to ``topic`` now (the gateway's presence, every process)."""
    from hub.realtime import presence

    return {p["id"] for p in presence.store().present_now(topic)}


# -- home pages (issue 15, frontend/home.py): read-only ----------------------------------------
class ContinuePoint(NamedTuple):
    enrolment: Enrolment
    activity: Activity | None  # the first activity not done yet, in outline order


def continue_points(*, user: Any, limit: int = 4) -> list[ContinuePoint]:
    """The courses ``user`` is in the middle of, the one they touched last first, each with
    the next activity to do (outline order)."""
    enrolments = list(
        Enrolment.objects.filter(user=user, completed_at__isnull=True, course__published=True)
        .select_related("course")
        .annotate(
            last=Max("course__completions__completed_at", filter=Q(course__completions__user=user))
        )
        .order_by(F("last").desc(nulls_last=True), "-enrolled_at")[:limit]
    )
    if not enrolments:
        return []
    done = set(
        Completion.objects.filter(
            user=user, course__in=[e.course_id for e in enrolments]
        ).values_list("activity_id", flat=True)
    )
    activities: dict[int, list[Activity]] = defaultdict(list)
    for activity in Activity.objects.filter(course__in=[e.course_id for e in enrolments]).order_by(
        "module__position", "module_id", "position", "id"
    ):
        activities[activity.course_id].append(activity)
    return [
        ContinuePoint(e, next((a for a in activities[e.course_id] if a.pk not in done), None))
        for e in enrolments
    ]


def live_classes_ahead(*, user: Any, until: datetime, limit: int = 6) -> list[LiveClass]:
    """Live classes ``user`` may enter (``liveclass_role``) that are open now or scheduled
    to start before ``until``: the trainer's, the invitee's, the enrolled learner's."""
    mine = Q(trainers=user) | Q(invitees=user) | Q(session_key="", course__enrolments__user=user)
    candidates = (
        LiveClass.objects.filter(mine)
        .exclude(status=LiveClassStatus.ENDED)
        .filter(
            Q(status__in=(LiveClassStatus.LIVE, LiveClassStatus.LOBBY))
            | Q(
                scheduled_start__lt=until, scheduled_start__gte=timezone.now() - timedelta(hours=12)
            )
        )
        .select_related("course")
        .distinct()
        .order_by(F("scheduled_start").asc(nulls_first=True), "id")[: limit * 2]
    )
    return [lc for lc in candidates if liveclass_role(user, lc)][:limit]


def learners_behind(*, trainer: Any, idle_days: int = 14, limit: int = 8) -> list[Enrolment]:
    """Learners of the courses ``trainer`` trains who are not done and have completed
    nothing for ``idle_days`` days (nor since they enrolled, if later), least progress first."""
    since = timezone.now() - timedelta(days=idle_days)
    recent = Completion.objects.filter(
        user=OuterRef("user_id"), course=OuterRef("course_id"), completed_at__gte=since
    )
    return list(
        Enrolment.objects.filter(
            course__trainers=trainer, completed_at__isnull=True, enrolled_at__lt=since
        )
        .exclude(Exists(recent))
        .select_related("user", "course")
        .order_by("progress", "enrolled_at")[:limit]
    )


def team_progress_rows(*, manager: Any, overdue_days: int = 30) -> list[dict[str, Any]]:
    """One row per person ``manager`` manages: courses, completed, average progress, and
    how many courses have been in progress for more than ``overdue_days`` days."""
    late = timezone.now() - timedelta(days=overdue_days)
    people = (
        User.objects.filter(teams__manager=manager)
        .distinct()
        .annotate(
            courses=Count("enrolments", distinct=True),
            completed=Count(
                "enrolments", filter=Q(enrolments__completed_at__isnull=False), distinct=True
            ),
            overdue=Count(
                "enrolments",
                filter=Q(enrolments__completed_at__isnull=True, enrolments__enrolled_at__lt=late),
                distinct=True,
            ),
        )
        .order_by("-overdue", "display_name", "username")
    )
    progress = dict(
        Enrolment.objects.filter(user__teams__manager=manager)
        .values("user_id")
        .annotate(avg=Avg("progress"))
        .values_list("user_id", "avg")
    )
    return [
        {
            "user": p,
            "courses": p.courses,
            "completed": p.completed,
            "overdue": p.overdue,
            "progress": round(progress.get(p.pk) or 0),
        }
        for p in people
    ]


def overdue_enrolments(*, manager: Any, overdue_days: int = 30, limit: int = 8) -> list[Enrolment]:
    """The team's courses in progress for more than ``overdue_days`` days, oldest first."""
    late = timezone.now() - timedelta(days=overdue_days)
    return list(
        Enrolment.objects.filter(
            user__teams__manager=manager, completed_at__isnull=True, enrolled_at__lt=late
        )
        .select_related("user", "course")
        .distinct()
        .order_by("enrolled_at")[:limit]
    )


# Apps above classrooms that may ask for work to be done again (paths: a later cycle of a
# learning path): each answers the moment from which ``activity`` counts again for
# ``user``, or None. Registered in their ``AppConfig.ready``.
REDO_SINCE: list[Any] = []


def redo_since(*, user: Any, activity: Any) -> datetime | None:
    """The moment from which ``activity`` counts again for ``user`` (the latest start of an
    unfinished later cycle of a path holding it), or None when nothing asks it again."""
    starts = [s for s in (hook(user=user, activity=activity) for hook in REDO_SINCE) if s]
    return max(starts) if starts else None


def to_do_again(*, user: Any, activity: Any) -> bool:
    """Done before, and asked again since (a new cycle of a path holding it)?"""
    since = redo_since(user=user, activity=activity)
    if since is None:
        return False
    from classrooms.models import Completion

    last = (
        Completion.objects.filter(user=user, activity=activity)
        .values_list("last_completed_at", flat=True)
        .first()
    )
    return last is not None and last < since
