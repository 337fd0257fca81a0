"""Due dates of every kind in one place: learning path assignments (paths), course
enrolments and activities (classrooms). One sweep sends the reminders before the due date
and the overdue notice after it; one reader lists a person's due items (their home, agenda,
iCal feed, ``GET /api/v1/due/mine/``) and a manager's team's overdue items (their home's
Overdue card, the team page, ``GET /api/v1/paths/team/overdue/``).

Paths depend on classrooms (never the reverse), so this module, which reads both, lives
here; calendars and the home page read it through :func:`due_items_of` and
:func:`team_overdue`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from classrooms.models import ActivityDue, Enrolment
from hub import realtime
from hub.accounts.models import Role, Team
from paths import selectors
from paths.models import PathAssignment

BATCH = 500


def remind_before() -> timedelta:
    """How long before the due date the reminder goes (``LYCEUM_DUE_REMINDER_DAYS``)."""
    return timedelta(days=settings.LYCEUM_DUE_REMINDER_DAYS)


# -- what is due ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DueItem:
    """One person's due item of any kind, as lists, the agenda and feeds show it."""

    kind: str  # "path" | "enrolment" | "activity"
    id: int  # the row's id (assignment, enrolment, activity due): the UID's and events' key
    user_id: int
    user_name: str
    title: str
    context: str  # the course of an activity, else ""
    due_at: datetime
    completed_at: datetime | None
    late: bool
    progress: int | None
    url: str
    object_id: int  # the path, course or activity

    def overdue(self, now: datetime | None = None) -> bool:
        """Completed items are never overdue."""
        return self.completed_at is None and self.due_at < (now or timezone.now())

    def payload(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "user": self.user_id,
            "name": self.user_name,
            "title": self.title,
            "context": self.context,
            "object": self.object_id,
            "due_at": self.due_at.isoformat(),
            "completed": self.completed_at is not None,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "late": self.late,
            "overdue": self.overdue(now),
            "progress": self.progress,
            "url": self.url,
        }


def _path_item(a: PathAssignment) -> DueItem:
    return DueItem(
        kind="path",
        id=a.pk,
        user_id=a.user_id,
        user_name=a.user.name,
        title=a.path.title,
        context="",
        due_at=a.due_at,
        completed_at=a.completed_at,
        # A path is late when completed after its due date (not stored: paths keep none).
        late=bool(a.completed_at and a.due_at and a.completed_at > a.due_at),
        progress=a.progress,
        url=reverse("paths-detail", args=[a.path_id]),
        object_id=a.path_id,
    )


def _enrolment_item(e: Enrolment) -> DueItem:
    return DueItem(
        kind="enrolment",
        id=e.pk,
        user_id=e.user_id,
        user_name=e.user.name,
        title=e.course.title,
        context="",
        due_at=e.due_at,
        completed_at=e.completed_at,
        late=e.completed_late,
        progress=e.progress,
        url=e.course.get_absolute_url(),
        object_id=e.course_id,
    )


def _activity_item(d: ActivityDue) -> DueItem:
    return DueItem(
        kind="activity",
        id=d.pk,
        user_id=d.user_id,
        user_name=d.user.name,
        title=d.activity.title,
        context=d.activity.course.title,
        due_at=d.due_at,
        completed_at=d.completed_at,
        late=d.completed_late,
        progress=None,
        url=d.activity.get_absolute_url(),
        object_id=d.activity_id,
    )


@dataclass(frozen=True)
class DueKind:
    """How the sweep and the lists read one kind of due item."""

    name: str
    rows: Callable[[], QuerySet]  # every row with a due date, with what items need
    item: Callable[[Any], DueItem]
    notice_kind: str  # a registered notification kind
    url: Callable[[], str]  # where a notice of this kind leads


KINDS: tuple[DueKind, ...] = (
    DueKind(
        "path",
        lambda: PathAssignment.objects.filter(due_at__isnull=False).select_related("path", "user"),
        _path_item,
        "path_due",
        lambda: reverse("paths-mine"),
    ),
    DueKind(
        "enrolment",
        lambda: Enrolment.objects.filter(due_at__isnull=False).select_related("course", "user"),
        _enrolment_item,
        "enrolment_due",
        lambda: reverse("agenda"),
    ),
    DueKind(
        "activity",
        lambda: ActivityDue.objects.select_related("activity", "activity__course", "user"),
        _activity_item,
        "activity_due",
        lambda: reverse("agenda"),
    ),
)
KIND_NAMES = tuple(k.name for k in KINDS)


def due_items_of(
    *,
    user: Any,
    start: datetime | None = None,
    end: datetime | None = None,
    include_completed: bool = True,
    limit: int = 500,
) -> list[DueItem]:
    """``user``'s due items of every kind, by due date (three queries)."""
    found: list[DueItem] = []
    for kind in KINDS:
        rows = kind.rows().filter(user=user)
        if start is not None:
            rows = rows.filter(due_at__gte=start)
        if end is not None:
            rows = rows.filter(due_at__lt=end)
        if not include_completed:
            rows = rows.filter(completed_at__isnull=True)
        found += [kind.item(r) for r in rows.order_by("due_at", "pk")[:limit]]
    found.sort(key=lambda i: (i.due_at, KIND_NAMES.index(i.kind), i.id))
    return found[:limit]


def team_overdue(
    *, manager: Any, kinds: tuple[str, ...] = KIND_NAMES, limit: int = 1000
) -> list[DueItem]:
    """Overdue items of a manager's reports (admins: everyone's), oldest due first."""
    now = timezone.now()
    found: list[DueItem] = []
    for kind in KINDS:
        if kind.name not in kinds:
            continue
        rows = kind.rows().filter(completed_at__isnull=True, due_at__lt=now)
        if not manager.has_role(Role.ADMIN):
            rows = rows.filter(user__teams__manager=manager).distinct()
        found += [kind.item(r) for r in rows.order_by("due_at", "pk")[:limit]]
    found.sort(key=lambda i: (i.due_at, i.user_name, i.id))
    return found[:limit]


# -- the sweep ------------------------------------------------------------------------------
def _batches(queryset: QuerySet, batch: int) -> Iterator[list[int]]:
    """Ids of ``queryset`` in batches by increasing id (keyset: one query a batch)."""
    last = 0
    while True:
        ids = list(queryset.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return
        yield ids
        last = ids[-1]


def _claim(kind: DueKind, ids: list[int], flag: str, window: Q, now: datetime) -> list[DueItem]:
    """Lock the rows of a batch still unflagged and uncompleted, flag them, return them.

    Two workers at once: PostgreSQL's row locks make the second wait for the first and then
    find the rows flagged; SQLite's IMMEDIATE transactions run them one after the other."""
    model: type[Model] = kind.rows().model
    rows = list(
        kind.rows()
        .select_for_update(of=("self",))
        .filter(window, pk__in=ids, completed_at__isnull=True, **{f"{flag}__isnull": True})
    )
    if rows:
        model.objects.filter(pk__in=[r.pk for r in rows]).update(**{flag: now})
    return [kind.item(r) for r in rows]


def _team_ids(user_ids: set[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for team_id, user_id in Team.members.through.objects.filter(user_id__in=user_ids).values_list(
        "team_id", "user_id"
    ):
        found.setdefault(user_id, []).append(team_id)
    return found


def _remind(kind: DueKind, ids: list[int], now: datetime) -> int:
    from hub.notify import Notice, notify_many

    with transaction.atomic():
        window = Q(due_at__gt=now, due_at__lte=now + remind_before())
        items = _claim(kind, ids, "reminded_at", window, now)
        if not items:
            return 0
        notices = [
            Notice(
                i.user_id,
                _("%(title)s is due on %(date)s")
                % {"title": i.title, "date": i.due_at.date().isoformat()},
            )
            for i in items
        ]
        notify_many(notices, kind=kind.notice_kind, actor=_actor(kind, items), url=kind.url())
        return len(items)


def _overdue(kind: DueKind, ids: list[int], now: datetime) -> int:
    from hub.accounts.selectors import managers_by_user
    from hub.notify import Notice, notify_many

    with transaction.atomic():
        items = _claim(kind, ids, "overdue_notified_at", Q(due_at__lte=now), now)
        if not items:
            return 0
        people = {i.user_id for i in items}
        managers = managers_by_user(user_ids=people)
        notices = []
        for i in items:
            verb = _("%(name)s: %(title)s is overdue") % {"name": i.user_name, "title": i.title}
            for recipient in (i.user_id, *sorted(managers.get(i.user_id, ()))):
                notices.append(Notice(recipient, verb))
        notify_many(notices, kind=kind.notice_kind, actor=_actor(kind, items), url=kind.url())
        teams = _team_ids(people)
        for i in items:
            data = i.payload(now)
            for team_id in teams.get(i.user_id, ()):
                realtime.publish(selectors.team_topic(team_id), f"{i.kind}.overdue", data)
        return len(items)


def _actor(kind: DueKind, items: list[DueItem]) -> Model:
    """The notices' actor: the batch's first path, course or activity (one query)."""
    from classrooms.models import Activity, Course
    from paths.models import Path

    model = {"path": Path, "enrolment": Course, "activity": Activity}[kind.name]
    return model.objects.get(pk=items[0].object_id)


def sweep(*, now: datetime | None = None, batch: int = BATCH) -> dict[str, dict[str, int]]:
    """Reminders within the window before the due date, one overdue notice after it (to the
    person and their managers), for every kind, each at most once per due date (a changed
    due date clears its flags). Idempotent and set-based: a constant number of queries per
    batch of ``batch`` rows."""
    now = now or timezone.now()
    counts: dict[str, dict[str, int]] = {}
    for kind in KINDS:
        pending = kind.rows().filter(completed_at__isnull=True)
        soon = pending.filter(
            reminded_at__isnull=True, due_at__gt=now, due_at__lte=now + remind_before()
        )
        late = pending.filter(overdue_notified_at__isnull=True, due_at__lte=now)
        counts[kind.name] = {
            "reminded": sum(_remind(kind, ids, now) for ids in _batches(soon, batch)),
            "overdue": sum(_overdue(kind, ids, now) for ids in _batches(late, batch)),
        }
    return counts
