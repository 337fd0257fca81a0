"""Reads of calendars: what a feed holds, what the agenda shows, and who may see which.

Every feed loads in a fixed number of queries whatever its size: the registrations, the
sessions, then their trainers and parts by prefetch.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from calendars.ics import FEED_SESSION_FIELDS, DueEntry, FeedEntry, FeedLiveClass, FeedSession
from classrooms.models import Enrolment, LiveClass, LiveClassStatus
from classrooms.selectors import can_view_course
from hub.accounts.models import Role
from hub.accounts.selectors import is_space_member, spaces_of
from sessions.models import Booking, Registration, RegistrationStatus, Room, Session, SessionPart
from sessions.selectors import can_manage_session, can_schedule_in

FEED_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Feeds keep a year of history; older sessions fall out of subscribed calendars.
FEED_HISTORY = timedelta(days=365)
# The agenda API answers for at most this many days at once.
AGENDA_MAX_DAYS = 62


def user_for_feed_token(token: str) -> Any | None:
    """The active user whose secret feed token this is (an empty token matches nobody)."""
    # Tokens are secrets.token_urlsafe(); anything else (a NUL byte would even make
    # PostgreSQL raise) is nobody's.
    if not FEED_TOKEN_SHAPE.fullmatch(token):
        return None
    return get_user_model().objects.filter(feed_token=token, is_active=True).first()


# What the agenda reads of a session (model instances: a page shows a few weeks).
SESSION_FIELDS = FEED_SESSION_FIELDS
# What ``User.name`` reads: organisers are loaded with these fields only.
PERSON_FIELDS = ("id", "username", "display_name", "first_name", "last_name", "email")


@dataclass(frozen=True, slots=True)
class SessionDetails:
    """What the .ics builder and the agenda need beyond the session row."""

    trainer_ids: frozenset[int]
    organizer: Any | None  # the first trainer, else the coordinator who scheduled it
    parts: tuple[SessionPart, ...]


def _feed_sessions(sessions: QuerySet[Session]) -> list[FeedSession]:
    rows = sessions.order_by("starts_at", "id").values_list(*FEED_SESSION_FIELDS)
    return [FeedSession._make(row) for row in rows]


def session_details(sessions: Sequence[Session | FeedSession]) -> dict[int, SessionDetails]:
    """Trainers, organiser and parts of many sessions in three queries.

    Not ``prefetch_related``: it clones a queryset per session, which for a feed of a
    thousand sessions costs more than building the calendar.
    """
    ids = [s.pk for s in sessions]
    trainers: dict[int, list[int]] = {}
    rows = (
        Session.trainers.through.objects.filter(session_id__in=ids)
        .order_by("session_id", "user_id")
        .values_list("session_id", "user_id")
    )
    for session_id, user_id in rows:
        trainers.setdefault(session_id, []).append(user_id)
    parts: dict[int, list[SessionPart]] = {}
    for part in SessionPart.objects.filter(session_id__in=ids).order_by("starts_at", "id"):
        parts.setdefault(part.session_id, []).append(part)
    organizer_ids = {
        trainers[s.pk][0] if s.pk in trainers else s.created_by_id for s in sessions
    } - {None}
    people = {
        person.pk: person
        for person in get_user_model().objects.filter(pk__in=organizer_ids).only(*PERSON_FIELDS)
    }
    return {
        s.pk: SessionDetails(
            trainer_ids=frozenset(trainers.get(s.pk, ())),
            organizer=people.get(trainers[s.pk][0] if s.pk in trainers else s.created_by_id),
            parts=tuple(parts.get(s.pk, ())),
        )
        for s in sessions
    }


class Mine(NamedTuple):
    """The user's registration at a session as calendars show it."""

    status: str
    # The highest revision of their registrations there (the latest one's: a new
    # registration starts above the cancelled ones), for the entry's SEQUENCE.
    revision: int


def _registrations_of(*, user: Any, sessions: Q | None = None) -> dict[int, Mine]:
    """Session id -> the user's registration there; a live one beats cancelled ones."""
    rows = Registration.objects.filter(user=user)
    if sessions is not None:
        rows = rows.filter(sessions)
    found: dict[int, Mine] = {}
    for session_id, status, revision in rows.values_list("session_id", "status", "revision"):
        before = found.get(session_id)
        if before is not None:
            if before.status != RegistrationStatus.CANCELLED:
                status = before.status
            revision = max(revision, before.revision)
        found[session_id] = Mine(status, revision)
    return found


def _trained_session_ids(*, user: Any) -> QuerySet:
    return Session.trainers.through.objects.filter(user_id=user.pk).values("session_id")


def _session_entries(
    *, user: Any, sessions: Q, since: datetime, space_ids: list[int]
) -> list[FeedEntry]:
    """The entries of the sessions matching ``sessions`` as ``user`` sees them: their own
    registration's status and revision, join links for those who may have them
    (``space_ids``: the spaces they coordinate)."""
    registrations = _registrations_of(user=user, sessions=Q(session__ends_at__gte=since))
    rows = _feed_sessions(Session.objects.filter(ends_at__gte=since).filter(sessions))
    details = session_details(rows)
    managed = set(space_ids)
    entries = []
    for session in rows:
        mine = registrations.get(session.pk)
        status = mine.status if mine else None
        more = details[session.pk]
        # A trainer's or coordinator's own session is theirs whatever a registration says.
        manages = user.pk in more.trainer_ids or session.space_id in managed
        entries.append(
            FeedEntry(
                session=session,
                registration_status=None if manages else status,
                show_join_link=manages or status == RegistrationStatus.CONFIRMED,
                organizer=more.organizer,
                parts=more.parts,
                revision=mine.revision if mine else 0,
            )
        )
    return entries


def _registered_or_trained(user: Any) -> Q:
    return Q(pk__in=Registration.objects.filter(user=user).values("session_id")) | Q(
        pk__in=_trained_session_ids(user=user)
    )


def personal_feed_entries(*, user: Any, now: datetime | None = None) -> list[FeedEntry]:
    """The user's subscription feed, what their agenda shows: what they are registered for
    (cancelled registrations and sessions included, so calendar apps remove them), the
    sessions they train, every session of the spaces they coordinate, and their live
    classes."""
    since = (now or timezone.now()) - FEED_HISTORY
    mine = _registered_or_trained(user)
    space_ids = coordinated_space_ids(user=user)
    if space_ids:
        mine |= Q(space_id__in=space_ids)
    entries = _session_entries(user=user, sessions=mine, since=since, space_ids=space_ids)
    return entries + live_class_entries(user=user, since=since, coordinated=space_ids)


def due_feed_entries(*, user: Any, now: datetime | None = None) -> list[DueEntry]:
    """The user's due dates not yet met (paths, courses, activities: paths/due.py), from
    the feed's history window on: completed ones leave the feed."""
    from paths.due import due_items_of

    now = now or timezone.now()
    return [
        DueEntry(
            kind=i.kind,
            id=i.id,
            title=i.title,
            context=i.context,
            due_at=i.due_at,
            url=settings.SITE_URL + i.url,
            overdue=i.overdue(now),
        )
        for i in due_items_of(user=user, start=now - FEED_HISTORY, include_completed=False)
    ]


def teaching_feed_entries(*, user: Any, now: datetime | None = None) -> list[FeedEntry]:
    """A trainer's feed: the sessions and live classes they teach, nothing else."""
    since = (now or timezone.now()) - FEED_HISTORY
    sessions = Q(pk__in=_trained_session_ids(user=user))
    entries = _session_entries(user=user, sessions=sessions, since=since, space_ids=[])
    return entries + live_class_entries(user=user, since=since, teaching=True)


def managed_feed_entries(*, user: Any, now: datetime | None = None) -> list[FeedEntry] | None:
    """A coordinator's feed: every session and live class of the spaces they coordinate;
    None for anyone who coordinates none."""
    space_ids = coordinated_space_ids(user=user)
    if not space_ids:
        return None
    since = (now or timezone.now()) - FEED_HISTORY
    sessions = Q(space_id__in=space_ids)
    entries = _session_entries(user=user, sessions=sessions, since=since, space_ids=space_ids)
    return entries + live_class_entries(user=user, since=since, spaces=space_ids)


def room_feed_entries(
    *, user: Any, room_id: int, now: datetime | None = None
) -> tuple[Any, list[FeedEntry]] | None:
    """A room's feed: the sessions holding it (every date of a session any of whose dates
    is booked there), for the coordinators of its space; None for anyone else."""
    room = Room.objects.filter(pk=room_id).select_related("space").first()
    if room is None or not can_schedule_in(user=user, space=room.space):
        return None
    since = (now or timezone.now()) - FEED_HISTORY
    booked = Booking.objects.filter(room_id=room.pk).values("session_id")
    entries = _session_entries(
        user=user, sessions=Q(pk__in=booked), since=since, space_ids=[room.space_id]
    )
    return room, entries


# -- live classes --------------------------------------------------------------------------------
def _live_classes_of(
    *,
    user: Any,
    teaching: bool = False,
    spaces: list[int] | None = None,
    coordinated: list[int] | None = None,
) -> Q:
    """Which live classes: ``spaces``' (a coordinator's feed), those the user teaches
    (``teaching``), else theirs: taught, invited to, of a course they are enrolled in, and
    of the spaces they coordinate (``coordinated``, when the caller already knows them)."""
    if spaces is not None:
        return Q(space_id__in=spaces)
    trains = Q(
        pk__in=LiveClass.trainers.through.objects.filter(user_id=user.pk).values("liveclass_id")
    )
    if teaching:
        return trains
    invited = Q(
        pk__in=LiveClass.invitees.through.objects.filter(user_id=user.pk).values("liveclass_id")
    )
    enrolled = Q(course_id__in=Enrolment.objects.filter(user=user).values("course_id"))
    found = trains | invited | enrolled
    space_ids = coordinated if coordinated is not None else coordinated_space_ids(user=user)
    if space_ids:
        found |= Q(space_id__in=space_ids)
    return found


def live_classes(
    *, user: Any, start: datetime, end: datetime | None = None, **scope: Any
) -> list[tuple[FeedLiveClass, Any, bool]]:
    """(row, organiser, teaches) of the user's scheduled live classes ending after
    ``start`` (and starting before ``end``)."""
    rows = LiveClass.objects.filter(
        session_key="", scheduled_start__isnull=False, scheduled_end__gt=F("scheduled_start")
    ).filter(scheduled_end__gte=start)
    if end is not None:
        rows = rows.filter(scheduled_start__lt=end)
    rows = rows.filter(_live_classes_of(user=user, **scope)).order_by("scheduled_start", "id")
    values = list(
        rows.values_list(
            "id",
            "space_id",
            "course_id",
            "created_by_id",
            "title",
            "scheduled_start",
            "scheduled_end",
            "status",
        )
    )
    if not values:
        return []
    ids = [v[0] for v in values]
    trainers: dict[int, list[int]] = {}
    for class_id, user_id in (
        LiveClass.trainers.through.objects.filter(liveclass_id__in=ids)
        .order_by("liveclass_id", "user_id")
        .values_list("liveclass_id", "user_id")
    ):
        trainers.setdefault(class_id, []).append(user_id)
    organizer_ids = {(trainers.get(v[0]) or [v[3]])[0] for v in values} - {None}
    people = {
        p.pk: p for p in get_user_model().objects.filter(pk__in=organizer_ids).only(*PERSON_FIELDS)
    }
    found = []
    for class_id, space_id, course_id, creator, title, starts_at, ends_at, status in values:
        row = FeedLiveClass(
            id=class_id,
            space_id=space_id,
            course_id=course_id,
            created_by_id=creator,
            kind="virtual",
            title=title,
            description_html="",
            starts_at=starts_at,
            ends_at=ends_at,
            time_zone="UTC",
            location="",
            join_url=settings.SITE_URL + reverse("liveclass", args=[class_id]),
            status="completed" if status == LiveClassStatus.ENDED else "scheduled",
            # A live class keeps no revision: subscribed calendars replace it by UID.
            sequence=0,
            reminder_hours=0,
        )
        organizer = people.get((trainers.get(class_id) or [creator])[0])
        found.append((row, organizer, user.pk in trainers.get(class_id, ())))
    return found


def live_class_entries(*, user: Any, since: datetime, **scope: Any) -> list[FeedEntry]:
    return [
        FeedEntry(session=row, organizer=organizer, show_join_link=True)
        for row, organizer, _teaches in live_classes(user=user, start=since, **scope)
    ]


def may_follow_course(*, user: Any, course: Any) -> bool:
    """May ``user`` subscribe to ``course``'s sessions calendar? Those who may see the course
    (classrooms' rule) or its sessions (members of its space: what the feed lists they see
    on the sessions pages anyway). Nobody anonymous: no course is public."""
    if user is None or not user.is_authenticated:
        return False
    return is_space_member(user=user, space=course.space_id) or can_view_course(
        user=user, course=course
    )


def course_feed_entries(
    *, course_id: int, user: Any, now: datetime | None = None
) -> tuple[Any, list[FeedEntry]] | None:
    """A published course ``user`` may follow and its feed (no join links, no personal
    details); None for anyone else, or when there is no such published course."""
    # The course model through the session's foreign key.
    course_model = Session._meta.get_field("course").related_model
    course = (
        course_model.objects.filter(pk=course_id, published=True)
        .only("id", "title", "space_id")
        .first()
    )
    if course is None or not may_follow_course(user=user, course=course):
        return None
    since = (now or timezone.now()) - FEED_HISTORY
    sessions = _feed_sessions(Session.objects.filter(course_id=course_id, ends_at__gte=since))
    details = session_details(sessions)
    return course, [
        FeedEntry(
            session=s, public=True, organizer=details[s.pk].organizer, parts=details[s.pk].parts
        )
        for s in sessions
    ]


def session_entry(*, user: Any, session: Session) -> FeedEntry:
    """One session as ``user`` (who may view it) downloads it."""
    mine = _registrations_of(user=user, sessions=Q(session=session)).get(session.pk)
    status = mine.status if mine else None
    manages = can_manage_session(user=user, session=session)
    more = session_details([session])[session.pk]
    return FeedEntry(
        session=session,
        registration_status=None if manages else status,
        show_join_link=manages or status == RegistrationStatus.CONFIRMED,
        organizer=more.organizer,
        parts=more.parts,
        # The same SEQUENCE as in their feed and their e-mailed invitation (one entry).
        revision=mine.revision if mine else 0,
    )


def coordinated_space_ids(*, user: Any) -> list[int]:
    """Spaces whose every session the user sees on the agenda (coordinators, admins)."""
    if not user.has_role(Role.COORDINATOR, Role.ADMIN):
        return []
    return list(spaces_of(user=user).values_list("pk", flat=True))


# -- the agenda --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AgendaItem:
    """One dated occurrence on the agenda: a session's own dates or one of its parts."""

    session: Session
    starts_at: datetime
    ends_at: datetime
    location: str
    part: int  # 1 = the session's own dates
    parts: int
    my_status: str | None  # confirmed / waitlisted / ... / "trainer" / None (coordinator view)
    live_class: bool = False

    @property
    def url(self) -> str:
        if self.live_class:
            return reverse("liveclass", args=[self.session.pk])
        return reverse("session-detail", args=[self.session.pk])

    @property
    def ics_url(self) -> str | None:
        """The .ics download (sessions; a live class is in the feeds)."""
        if self.live_class:
            return None
        return reverse("calendars-session-ics", args=[self.session.pk])

    @property
    def cancelled(self) -> bool:
        return self.session.status == "cancelled" or self.my_status == "cancelled"


def agenda_items(*, user: Any, start: datetime, end: datetime) -> list[AgendaItem]:
    """Occurrences overlapping [start, end) of the user's sessions: registered (cancelled
    registrations too, marked), trained, and for coordinators every session of their spaces."""
    in_range = Q(starts_at__lt=end, ends_at__gt=start) | Q(
        parts__starts_at__lt=end, parts__ends_at__gt=start
    )
    mine = Q(pk__in=Registration.objects.filter(user=user).values("session_id")) | Q(
        pk__in=_trained_session_ids(user=user)
    )
    space_ids = coordinated_space_ids(user=user)
    if space_ids:
        mine |= Q(space_id__in=space_ids)
    sessions = list(
        Session.objects.filter(mine)
        .filter(in_range)
        .distinct()
        .only(*SESSION_FIELDS)
        .order_by("starts_at", "id")
    )
    details = session_details(sessions)
    registrations = _registrations_of(
        user=user, sessions=Q(session_id__in=[s.pk for s in sessions])
    )
    items: list[AgendaItem] = []
    for session in sessions:
        more = details[session.pk]
        if user.pk in more.trainer_ids:
            my_status: str | None = "trainer"
        else:
            mine = registrations.get(session.pk)
            my_status = mine.status if mine else None
        dates = [(session.starts_at, session.ends_at, session.location)]
        dates += [(p.starts_at, p.ends_at, p.location or session.location) for p in more.parts]
        for index, (starts_at, ends_at, location) in enumerate(dates, start=1):
            if starts_at < end and ends_at > start:
                items.append(
                    AgendaItem(
                        session=session,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        location=location,
                        part=index,
                        parts=len(dates),
                        my_status=my_status,
                    )
                )
    for row, _organizer, teaches in live_classes(user=user, start=start, end=end):
        items.append(
            AgendaItem(
                session=row,  # type: ignore[arg-type]  # the same columns as a session
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                location="",
                part=1,
                parts=1,
                my_status="trainer" if teaches else None,
                live_class=True,
            )
        )
    items.sort(key=lambda item: (item.starts_at, item.live_class, item.session.pk, item.part))
    return items


def agenda_due_items(*, user: Any, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The user's due dates in [start, end) of every kind (paths/due.py), for the agenda:
    the item's fields, ``due_at`` as a datetime and ``is_overdue``."""
    from paths.due import due_items_of

    now = timezone.now()
    return [
        {
            **i.payload(now),
            "due_at": i.due_at,
            "completed_at": i.completed_at,
            "is_overdue": i.overdue(now),
        }
        for i in due_items_of(user=user, start=start, end=end)
    ]


def agenda_item_payload(item: AgendaItem) -> dict[str, Any]:
    """What the agenda API returns per occurrence (and the page's script reads)."""
    session = item.session
    return {
        "session": session.pk,
        "title": session.title,
        "kind": session.kind,
        "status": session.status,
        "my_status": item.my_status,
        "starts_at": item.starts_at.isoformat(),
        "ends_at": item.ends_at.isoformat(),
        "time_zone": session.time_zone,
        "location": item.location,
        "part": item.part,
        "parts": item.parts,
        "live_class": item.live_class,
        "url": item.url,
        "ics_url": item.ics_url,
    }


def course_feeds_of(items: list[AgendaItem], *, user: Any) -> list[dict[str, Any]]:
    """The feeds of the published courses the agenda's sessions belong to, at ``user``'s
    secret addresses (their feed token: calendar apps cannot log in)."""
    course_ids = {item.session.course_id for item in items} - {None}
    if not course_ids or not user.feed_token:
        return []
    course_model = Session._meta.get_field("course").related_model
    courses = course_model.objects.filter(pk__in=course_ids, published=True).order_by("title")
    return [
        {
            "title": course.title,
            **_feed_addresses(course_feed_path(user=user, course_id=course.pk)),
        }
        for course in courses.only("id", "title", "space_id")
        if may_follow_course(user=user, course=course)
    ]


def course_feed_path(*, user: Any, course_id: int) -> str:
    """The path of a course's feed at ``user``'s secret address."""
    return reverse("calendars-course-token-feed", args=[user.feed_token, course_id])


def feed_links(*, user: Any) -> dict[str, str]:
    """The https and webcal:// addresses of the user's personal feed; none for an account
    never issued a token (made without a password): it asks for one with a POST."""
    if not user.feed_token:
        return {}
    return _feed_addresses(reverse("calendars-personal-feed", args=[user.feed_token]))


def role_feeds(*, user: Any) -> list[dict[str, str]]:
    """The feeds of what the user teaches (trainers) and of their spaces (coordinators), at
    their secret addresses; none before a token is issued."""
    if not user.feed_token:
        return []
    feeds = []
    if (
        user.has_role(Role.TRAINER)
        or Session.trainers.through.objects.filter(user_id=user.pk).exists()
    ):
        feeds.append(
            {
                "kind": "teaching",
                "title": _("Sessions I teach"),
                **_feed_addresses(reverse("calendars-teaching-feed", args=[user.feed_token])),
            }
        )
    if coordinated_space_ids(user=user):
        feeds.append(
            {
                "kind": "managed",
                "title": _("Every session of my spaces"),
                **_feed_addresses(reverse("calendars-managed-feed", args=[user.feed_token])),
            }
        )
    return feeds


def room_feeds(*, user: Any) -> list[dict[str, str]]:
    """The feeds of the rooms of the spaces the user coordinates, at their secret address
    (none before a token is issued)."""
    space_ids = coordinated_space_ids(user=user)
    if not user.feed_token or not space_ids:
        return []
    rooms = Room.objects.filter(space_id__in=space_ids, active=True).order_by("site", "name")
    return [
        {
            "title": str(room),
            **_feed_addresses(reverse("calendars-room-feed", args=[user.feed_token, room.pk])),
        }
        for room in rooms[:500]
    ]


def _feed_addresses(path: str) -> dict[str, str]:
    """A feed's address on the site, and the same as ``webcal://`` (calendar apps subscribe)."""
    https_url = f"{settings.SITE_URL}{path}"
    return {"feed_url": https_url, "webcal_url": "webcal://" + https_url.split("://", 1)[1]}
