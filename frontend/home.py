"""The home page by role (issue 15, docs/HOME.md): what each person should do now.

Each role's section is built from the selectors of the apps (read-only, a few queries
each) and rendered on the server; the page's script (``js/home.js``) subscribes to the
topics a section lists and redraws that section from ``/home/<role>/`` when they change.
Charts are not in the page: they come from ``/home/charts/<name>/`` when scrolled into view.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from hub.accounts.models import Role

SECTIONS = (Role.LEARNER, Role.TRAINER, Role.COORDINATOR, Role.MANAGER, Role.ADMIN)
# A section subscribes to at most this many topics (the gateway limits a socket's).
MAX_TOPICS = 12
OFFER_LAPSE_WINDOW = timedelta(hours=24)


def sections_of(user: Any) -> list[str]:
    """The sections ``user`` sees, one per role they hold, in a fixed order."""
    return [role.value for role in SECTIONS if user.has_role(role)]


def _day_bounds(days_ahead: int) -> tuple[datetime, datetime]:
    """Midnight today and midnight ``days_ahead`` days later, in the viewer's zone."""
    today = timezone.localdate()
    zone = timezone.get_current_timezone()
    start = datetime.combine(today, time.min, tzinfo=zone)
    return start, start + timedelta(days=days_ahead)


def _week_bounds() -> tuple[datetime, datetime]:
    """This week, Monday to Monday, in the viewer's zone."""
    start, _ = _day_bounds(0)
    start -= timedelta(days=start.weekday())
    return start, start + timedelta(days=7)


def _space_ids(user: Any) -> list[int]:
    from hub.accounts.selectors import spaces_of

    return list(spaces_of(user=user).values_list("pk", flat=True))


def learner(request: Any) -> dict[str, Any]:
    from classrooms import selectors as classrooms
    from leaderboards import selectors as leaderboards
    from messaging import selectors as messaging
    from paths import due
    from paths import selectors as paths
    from sessions import selectors as sessions

    user = request.user
    now = timezone.now()
    _, end_of_tomorrow = _day_bounds(2)
    registrations = sessions.registrations_ahead(user=user, until=end_of_tomorrow)
    live_classes = classrooms.live_classes_ahead(user=user, until=end_of_tomorrow)
    next_up = sorted(
        [{"kind": "session", "at": r.session.starts_at, "registration": r} for r in registrations]
        + [
            {"kind": "live", "at": lc.scheduled_start or now, "live_class": lc}
            for lc in live_classes
        ],
        key=lambda item: item["at"],
    )
    waiting = sessions.waiting_of(user=user)
    deadlines = sessions.cancellation_deadlines_of(user=user, until=now + timedelta(days=7))
    # Learning paths due within two weeks, or already late (paths/).
    paths_due = [
        {"assignment": a, "overdue": paths.is_overdue(a, now)}
        for a in paths.assignments_of(user=user).filter(
            completed_at__isnull=True, due_at__isnull=False, due_at__lte=now + timedelta(days=14)
        )[:5]
    ]
    # Courses and activities due within two weeks, or already late (paths/due.py).
    soon = [
        i
        for i in due.due_items_of(user=user, end=now + timedelta(days=14), include_completed=False)
        if i.kind != "path"
    ][:5]
    courses_due = [{"item": i, "overdue": i.overdue(now)} for i in soon]
    space = getattr(request, "space", None)  # lazy: test it by truth
    standing = leaderboards.standing_of(user=user, space_id=space.pk) if space else None
    unread = [
        {
            "id": m.conversation_id,
            "title": messaging.conversation_payload(m, viewer=user)["title"],
            "unread": m.unread,
        }
        for m in [m for m in messaging.conversations_for(user=user)[:20] if m.unread][:5]
    ]
    session_ids = {r.session_id for r in registrations} | {r.session_id for r in waiting}
    topics = [f"sessions.session.{pk}" for pk in sorted(session_ids)][: MAX_TOPICS - 1]
    topics.append(f"hub.user.{user.pk}")
    return {
        "next_up": next_up,
        "continue": classrooms.continue_points(user=user),
        "waiting": waiting,
        "deadlines": deadlines,
        "paths_due": paths_due,
        "courses_due": courses_due,
        "standing": standing,
        "unread": unread,
        "topics": topics,
    }


def trainer(request: Any) -> dict[str, Any]:
    from classrooms import selectors as classrooms
    from forums import selectors as forums
    from grading import selectors as grading
    from sessions import selectors as sessions

    user = request.user
    start, end = _day_bounds(1)
    today_sessions = sessions.sessions_trained_between(user=user, start=start, end=end)
    today_classes = [
        lc
        for lc in classrooms.live_classes_ahead(user=user, until=end)
        if classrooms.is_liveclass_trainer(user, lc)
    ]
    # The grading queue (grading/): work handed in and not graded yet, the oldest first.
    to_grade = grading.queue_for(user=user)
    courses = list(classrooms.courses_trained_by(user=user).order_by("title")[:6])
    flags = forums.open_flags_for(user=user)
    topics = (
        [f"classrooms.course.{c.pk}.progress" for c in courses]
        + [grading.course_topic(c.pk) for c in courses]
    )[:MAX_TOPICS]
    return {
        "today": sorted(
            [{"kind": "session", "at": s.starts_at, "session": s} for s in today_sessions]
            + [
                {"kind": "live", "at": lc.scheduled_start or timezone.now(), "live_class": lc}
                for lc in today_classes
            ],
            key=lambda item: item["at"],
        ),
        "behind": classrooms.learners_behind(trainer=user),
        "submissions": list(to_grade[:6]),
        "submission_count": to_grade.count(),
        "courses": courses,
        "community": _community(user),
        "flag_count": flags.count(),
        "flags": list(flags[:3]),
        "topics": topics,
    }


def _community(user: Any) -> list[Any]:
    """The latest threads of the forums ``user`` may read (last 7 days)."""
    from forums.models import Thread
    from forums.selectors import forums_for

    since = timezone.now() - timedelta(days=7)
    return list(
        Thread.objects.filter(
            forum__in=forums_for(user=user), created_at__gte=since, is_deleted=False
        )
        .select_related("forum", "author")
        .order_by("-created_at")[:5]
    )


def coordinator(request: Any) -> dict[str, Any]:
    from sessions import selectors as sessions

    user = request.user
    space_ids = _space_ids(user)
    start, end = _week_bounds()
    week = sessions.sessions_between(space_ids=space_ids, start=start, end=end)
    states = sessions.seats_states(sessions=week)
    approvals, approval_count = sessions.approvals_awaiting(user=user)
    return {
        "week": [
            {"session": s, "seats": states.get(s.pk) or sessions.seats_state(session=s)}
            for s in week
        ],
        "week_start": start,
        "waitlists": sessions.waitlisted_sessions(space_ids=space_ids),
        "approvals": approvals,
        "approval_count": approval_count,
        "lapsing": sessions.offers_lapsing(space_ids=space_ids, within=OFFER_LAPSE_WINDOW),
        "topics": (
            [f"sessions.session.{s.pk}" for s in week][: MAX_TOPICS - len(space_ids[:4])]
            + [f"sessions.conflicts.{pk}" for pk in space_ids[:4]]
        ),
    }


def manager(request: Any) -> dict[str, Any]:
    from classrooms import selectors as classrooms
    from hub.accounts.selectors import teams_managed_by
    from leaderboards import selectors as leaderboards
    from paths import due
    from paths import selectors as paths
    from sessions import selectors as sessions

    user = request.user
    teams = list(teams_managed_by(user=user).order_by("name")[:5])
    boards = [
        leaderboards.board_payload(user=user, key=_team_key(team.pk), n=5, around=0)
        for team in teams[:2]
    ]
    for team, board in zip(teams, boards, strict=False):
        board["name"] = team.name
    approvals, approval_count = sessions.approvals_awaiting(user=user)
    return {
        "teams": teams,
        "rows": classrooms.team_progress_rows(manager=user),
        # Past a due date (learning paths, courses, activities: paths/due.py), then courses
        # in progress for long.
        "overdue_due": due.team_overdue(manager=user, limit=8),
        "overdue": classrooms.overdue_enrolments(manager=user),
        "upcoming": sessions.team_sessions_ahead(
            manager=user, until=timezone.now() + timedelta(days=14)
        ),
        "approvals": approvals,
        "approval_count": approval_count,
        "boards": boards,
        "topics": (
            classrooms.team_progress_topics(manager=user)
            + [paths.team_topic(team.pk) for team in teams]
        )[:MAX_TOPICS],
    }


def _team_key(team_id: int) -> str:
    from leaderboards import ranks

    return ranks.board_key("team", team_id, "week")


def admin(request: Any) -> dict[str, Any]:
    from django.db.models import Count, Q

    from hub.accounts.models import Space, User

    week_ago = timezone.now() - timedelta(days=7)
    people = User.objects.aggregate(
        active=Count("pk", filter=Q(is_active=True)),
        inactive=Count("pk", filter=Q(is_active=False)),
        joined=Count("pk", filter=Q(date_joined__gte=week_ago)),
        seen=Count("pk", filter=Q(last_login__gte=week_ago)),
    )
    spaces = list(Space.objects.annotate(people=Count("members", distinct=True)).order_by("name"))
    return {"people": people, "spaces": spaces[:8], "space_count": len(spaces), "jobs": _jobs()}


def _jobs() -> dict[str, Any] | None:
    """The background job queue (django-tasks' database backend): counts per state, and
    the latest failures. None when another backend keeps the queue."""
    from django.conf import settings
    from django.db.models import Count

    backend = settings.TASKS.get("default", {}).get("BACKEND", "")
    if not backend.startswith("django_tasks_db."):
        return None
    from django_tasks_db.models import DBTaskResult

    counts = dict(
        DBTaskResult.objects.values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    failed = list(
        DBTaskResult.objects.filter(status="FAILED")
        .only("task_path", "finished_at", "exception_class_path")
        .order_by("-enqueued_at")[:3]
    )
    return {"counts": counts, "failed": failed}


def blog_feed(request: Any) -> dict[str, Any]:
    """The space's latest blog posts (blogs/), below the role sections; live on the
    space's ``blogs.space.<id>`` feed topic."""
    from blogs.selectors import home_feed

    space = getattr(request, "space", None)  # lazy: test it by truth
    return home_feed(user=request.user, space_id=space.pk if space else None)


BUILDERS = {
    Role.LEARNER.value: learner,
    Role.TRAINER.value: trainer,
    Role.COORDINATOR.value: coordinator,
    Role.MANAGER.value: manager,
    Role.ADMIN.value: admin,
}


# -- charts: fetched when scrolled into view (``/home/charts/<name>/``) ------------------------
CHART_ROLES = {
    "trainer-completions": Role.TRAINER,
    "trainer-scores": Role.TRAINER,
    "manager-progress": Role.MANAGER,
    "manager-completions": Role.MANAGER,
}


def chart(request: Any, name: str) -> str | None:
    """The SVG of chart ``name`` (``classrooms/charts.py``, every text escaped there), a
    sentence when there is nothing to draw yet, or None when ``name`` is not one of the
    person's (404)."""
    from django.utils.translation import gettext as _

    from classrooms import charts, reports
    from classrooms import selectors as classrooms
    from classrooms.models import Enrolment

    user = request.user
    role = CHART_ROLES.get(name)
    if role is None or not user.has_role(role):
        return None
    phone = {"width": 320, "font": 13}
    if name.startswith("trainer-"):
        enrolments = Enrolment.objects.filter(course__trainers=user)
    else:
        enrolments = Enrolment.objects.filter(
            pk__in=classrooms.team_enrolments(manager=user).values("pk")
        )
    if name.endswith("-completions"):
        svg = charts.line_chart(
            reports.completions_over_time(enrolments=enrolments),
            label=_("Completed enrolments over time"),
            x_title=_("Day"),
            y_title=_("Completed"),
            **phone,
        )
    elif name == "trainer-scores":
        svg = charts.histogram(
            reports.best_scores_of(enrolments=enrolments),
            label=_("Quiz score distribution"),
            x_title=_("Best score (%)"),
            y_title=_("Learners"),
            **phone,
        )
    else:
        rows = classrooms.team_progress_rows(manager=user)[:12]
        svg = charts.bars_chart(
            [(row["user"].name, row["progress"]) for row in rows],
            label=_("Average course progress per person"),
            x_title=_("Average progress (%)"),
        )
    if not svg:
        from django.utils.html import escape

        return '<p class="muted">' + escape(_("Nothing to chart yet.")) + "</p>"
    return svg
