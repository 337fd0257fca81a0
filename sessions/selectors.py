"""Reads and permission predicates of sessions, and the payloads REST, topics and pages share."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from hub.accounts.models import Role, User
from hub.accounts.selectors import is_manager_of, is_space_member, reports_of, spaces_of
from sessions.models import (
    SEAT_STATUSES,
    Asset,
    Attendance,
    Availability,
    Booking,
    CoachingSlot,
    Registration,
    RegistrationStatus,
    Room,
    SeatReservation,
    Session,
    SessionEvent,
    SessionPart,
    SessionStatus,
    SlotAudience,
    SurveyResponse,
    SurveyTemplate,
)

# The sign-in sheet opens this long before the start.
ATTENDANCE_OPENS_BEFORE = timedelta(minutes=15)


def can_manage_session(*, user: Any, session: Session) -> bool:
    """Coordinators of the session's space, administrators and the session's trainers."""
    return session.pk in sessions_managed_by(user=user, sessions=[session])


def sessions_managed_by(*, user: Any, sessions: list[Session]) -> set[int | None]:
    """The ids of those of ``sessions`` that ``user`` manages (``can_manage_session``'s
    rule), in at most two queries however many sessions there are."""
    if not user.is_authenticated:
        return set()
    if user.has_role(Role.ADMIN):
        return {s.pk for s in sessions}
    managed: set[int | None] = set()
    if user.has_role(Role.COORDINATOR):
        spaces = set(
            spaces_of(user=user)
            .filter(pk__in={s.space_id for s in sessions})
            .values_list("pk", flat=True)
        )
        managed = {s.pk for s in sessions if s.space_id in spaces}
    rest = [s.pk for s in sessions if s.pk is not None and s.pk not in managed]
    if rest:
        managed |= set(
            Session.trainers.through.objects.filter(
                session_id__in=rest, user_id=user.pk
            ).values_list("session_id", flat=True)
        )
    return managed


def can_schedule_in(*, user: Any, space: Any) -> bool:
    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.COORDINATOR) and is_space_member(user=user, space=space)


def can_view_session(*, user: Any, session: Session) -> bool:
    return user.is_authenticated and is_space_member(user=user, space=session.space_id)


def can_register_for(*, actor: Any, user: Any, session: Session) -> bool:
    """Oneself, a report (their manager) or anyone (a coordinator of the session)."""
    if actor.pk == user.pk:
        return True
    return is_manager_of(manager=actor, user=user) or can_manage_session(
        user=actor, session=session
    )


def visible_session(*, user: Any, pk: int) -> Session | None:
    """The session ``pk`` if ``user`` may see it (pages, REST and the topic answer 404 else)."""
    session = Session.objects.select_related("space", "course", "series").filter(pk=pk).first()
    if session is None or not can_view_session(user=user, session=session):
        return None
    return session


def registration_in(*, session: Session, pk: int) -> Registration | None:
    """The registration ``pk`` of ``session`` (whether the caller may act on it is the
    service's to say)."""
    return session.registrations.select_related("user", "session").filter(pk=pk).first()


def registration_result(registration: Registration) -> dict[str, Any]:
    """What REST and the topic's actions answer about a registration after a change."""
    return {
        "status": registration.status,
        "position": registration.position,
        "registration": registration.pk,
        "offer_expires_at": registration.offer_expires_at,
    }


# Choices offered on a session's page; REST registers anyone allowed, whatever the size.
REGISTRABLE_LIMIT = 300


def registrable_others(*, user: Any, session: Session, manages: bool) -> list[Any]:
    """Whom ``user`` may register besides themself, for the session's page: their reports
    (a manager), anyone of the space (those who manage the session); not those already
    registered. The first ``REGISTRABLE_LIMIT`` by name."""
    if session.status != SessionStatus.SCHEDULED:
        return []
    people = User.objects.filter(spaces=session.space_id) if manages else reports_of(manager=user)
    taken = session.registrations.exclude(status=RegistrationStatus.CANCELLED).values("user_id")
    return list(
        people.filter(spaces=session.space_id, is_active=True)
        .exclude(pk__in=taken)
        .exclude(pk=user.pk)
        .distinct()
        .order_by("display_name", "username")[:REGISTRABLE_LIMIT]
    )


def dashboard_sessions(
    *, spaces: Iterable[Any], trainer: Any, past: bool, limit: int
) -> list[Session]:
    """The sessions of a coordinator's ``spaces`` and those ``trainer`` trains: those not
    over yet, soonest first, or (``past``) those that have ended, latest first."""
    mine = Session.objects.filter(space__in=spaces) | Session.objects.filter(trainers=trainer)
    mine = mine.select_related("space", "series")
    now = timezone.now()
    if past:
        mine = mine.filter(ends_at__lt=now).order_by("-starts_at", "-id")
    else:
        mine = mine.filter(ends_at__gte=now).order_by("starts_at", "id")
    return list(mine.distinct()[:limit])


def sessions_for(*, user: Any) -> QuerySet[Session]:
    return (
        Session.objects.filter(space__in=spaces_of(user=user))
        .select_related("space", "course")
        .order_by("starts_at", "id")
    )


def last_end(*, session: Session) -> datetime:
    """When the session is over: the end of its last part (its own dates are the first)."""
    later = session.parts.aggregate(last=Max("ends_at"))["last"]
    return max(session.ends_at, later) if later else session.ends_at


def confirmed_count(*, session: Session) -> int:
    return session.registrations.filter(status=RegistrationStatus.CONFIRMED).count()


def waitlist(*, session: Session) -> QuerySet[Registration]:
    return session.registrations.filter(status=RegistrationStatus.WAITLISTED).order_by(
        "position", "created_at", "id"
    )


def seats_state(*, session: Session) -> dict[str, int]:
    """Seats and waiting list in one query; an offered seat counts as taken."""
    counts = session.registrations.aggregate(
        confirmed=Count("pk", filter=Q(status=RegistrationStatus.CONFIRMED)),
        offered=Count("pk", filter=Q(status=RegistrationStatus.OFFERED)),
        waiting=Count("pk", filter=Q(status=RegistrationStatus.WAITLISTED)),
    )
    # Seats managers reserved and have not named anyone to yet are taken too.
    taken = counts["confirmed"] + counts["offered"] + session.reserved_seats
    return {
        "capacity": session.capacity,
        "confirmed": counts["confirmed"],
        "offered": counts["offered"],
        "reserved": session.reserved_seats,
        "seats_left": max(session.capacity - taken, 0),
        "waitlist_length": counts["waiting"],
    }


def seats_states(*, sessions: list[Session]) -> dict[int, dict[str, int]]:
    """``seats_state`` of many sessions in one query (lists and the dashboard)."""
    rows = (
        Registration.objects.filter(session__in=sessions)
        .values("session_id")
        .annotate(
            confirmed=Count("pk", filter=Q(status=RegistrationStatus.CONFIRMED)),
            offered=Count("pk", filter=Q(status=RegistrationStatus.OFFERED)),
            waiting=Count("pk", filter=Q(status=RegistrationStatus.WAITLISTED)),
        )
    )
    by_id = {r["session_id"]: r for r in rows}
    out = {}
    for session in sessions:
        r = by_id.get(session.pk, {"confirmed": 0, "offered": 0, "waiting": 0})
        out[session.pk] = {
            "capacity": session.capacity,
            "confirmed": r["confirmed"],
            "offered": r["offered"],
            "reserved": session.reserved_seats,
            "seats_left": max(
                session.capacity - r["confirmed"] - r["offered"] - session.reserved_seats, 0
            ),
            "waitlist_length": r["waiting"],
        }
    return out


def seat_holders(*, session: Session) -> QuerySet[Registration]:
    return session.registrations.filter(status__in=SEAT_STATUSES)


def attendance_sheet(*, session: Session) -> QuerySet[Registration]:
    """Confirmed attendees, by name: the rows of the sign-in sheet."""
    return (
        session.registrations.filter(status=RegistrationStatus.CONFIRMED)
        .select_related("user")
        .order_by("user__display_name", "user__username", "id")
    )


def attendance_summary(*, session: Session) -> dict[str, int]:
    """How many of each mark (and unmarked) on the sheet: no names, for the session topic."""
    counts = dict.fromkeys([*Attendance.values, "unmarked"], 0)
    for mark in attendance_sheet(session=session).values_list("attendance", flat=True):
        counts[mark or "unmarked"] += 1
    return counts


def attendance_row(registration: Registration) -> dict[str, Any]:
    return {
        "registration": registration.pk,
        "user": registration.user_id,
        "name": str(registration.user),
        "attendance": registration.attendance,
        "marked_at": _iso(registration.attendance_marked_at),
    }


def attendance_payload(*, session: Session) -> dict[str, Any]:
    """The sign-in sheet as REST and the page's script see it."""
    from django.utils import timezone

    opens_at = session.starts_at - ATTENDANCE_OPENS_BEFORE
    return {
        "open": timezone.now() >= opens_at,
        "opens_at": opens_at.isoformat(),
        "summary": attendance_summary(session=session),
        "rows": [attendance_row(r) for r in attendance_sheet(session=session)],
    }


def part_payload(part: SessionPart) -> dict[str, Any]:
    return {
        "id": part.pk,
        "starts_at": part.starts_at.isoformat(),
        "ends_at": part.ends_at.isoformat(),
        "location": part.location,
    }


def active_registration(*, session: Session, user: Any) -> Registration | None:
    return (
        session.registrations.exclude(status=RegistrationStatus.CANCELLED).filter(user=user).first()
    )


def registration_payload(registration: Registration) -> dict[str, Any]:
    return {
        "id": registration.pk,
        "session": registration.session_id,
        "user": registration.user_id,
        "registered_by": registration.registered_by_id,
        "status": registration.status,
        "position": registration.position,
        "offer_expires_at": _iso(registration.offer_expires_at),
        "created_at": registration.created_at.isoformat(),
    }


def session_payload(session: Session, *, user: Any | None = None) -> dict[str, Any]:
    return session_payloads([session], user=user)[0]


def session_payloads(
    sessions: Iterable[Session], *, user: Any | None = None
) -> list[dict[str, Any]]:
    """The API's view of many sessions in a fixed number of queries (not a few per row):
    trainers, parts, seat counts and the reader's own registrations are read for all."""
    sessions = list(sessions)
    if not sessions:
        return []
    ids = [s.pk for s in sessions]
    trainers: dict[int, list[int]] = {pk: [] for pk in ids}
    for session_id, trainer_id in (
        Session.trainers.through.objects.filter(session_id__in=ids)
        .values_list("session_id", "user_id")
        .order_by("id")
    ):
        trainers[session_id].append(trainer_id)
    parts: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    for part in SessionPart.objects.filter(session_id__in=ids):  # in starts_at order
        parts[part.session_id].append(part_payload(part))
    seats = seats_states(sessions=sessions)
    mine: dict[int, Registration] = {}
    manages: set[int | None] = set()
    if user is not None:
        mine = {
            r.session_id: r
            for r in Registration.objects.filter(session_id__in=ids, user=user).exclude(
                status=RegistrationStatus.CANCELLED
            )
        }
        manages = sessions_managed_by(user=user, sessions=sessions)
    out = []
    for session in sessions:
        data: dict[str, Any] = {
            "id": session.pk,
            "space": session.space_id,
            "kind": session.kind,
            "title": session.title,
            "description_html": session.description_html,
            "course": session.course_id,
            "activity": session.activity_id,
            "starts_at": session.starts_at.isoformat(),
            "ends_at": session.ends_at.isoformat(),
            "time_zone": session.time_zone,
            "location": session.location,
            "join_url": None,  # below: only for who may join
            "approval": session.approval,
            "registration_opens_at": _iso(session.registration_opens_at),
            "registration_closes_at": _iso(session.registration_closes_at),
            "cancellation_deadline": _iso(session.cancellation_deadline),
            "status": session.status,
            "trainers": trainers[session.pk],
            "topic": session.topic,
            "sequence": session.sequence,
            "reminder_hours": session.reminder_hours,
            "claim_hours": session.claim_hours,
            "series": session.series_id,
            "series_index": session.series_index,
            "parts": parts[session.pk],
            **seats[session.pk],
        }
        if user is not None:
            registration = mine.get(session.pk)
            data["my_registration"] = registration_payload(registration) if registration else None
            # The join link (the live classroom, or another tool's meeting link) is for the
            # confirmed attendees and the people who run the session, as on the session page.
            if session.join_url and (
                (registration and registration.status == RegistrationStatus.CONFIRMED)
                or session.pk in manages
            ):
                data["join_url"] = session.join_url
        out.append(data)
    return out


def session_events_after(*, session_id: int, after_id: int, limit: int) -> list[SessionEvent]:
    return list(
        SessionEvent.objects.filter(session_id=session_id, id__gt=after_id).order_by("id")[:limit]
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


# -- what a change moved (the notice and the updated invitation say it) -----------------------
def schedule_of(*, session: Session) -> list[tuple[str, datetime, datetime, str]]:
    """The session's dates as attendees see them: its own, then each part's."""
    dates = [("session", session.starts_at, session.ends_at, session.location)]
    dates += [
        (f"part-{p.pk}", p.starts_at, p.ends_at, p.location or session.location)
        for p in session.parts.order_by("starts_at", "id")
    ]
    return dates


def format_span(starts_at: datetime, ends_at: datetime, time_zone: str) -> str:
    """``2026-05-12 14:00–17:00 (Europe/Paris)`` in the session's own time zone."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    end_text = (
        end.strftime("%H:%M") if end.date() == start.date() else end.strftime("%Y-%m-%d %H:%M")
    )
    return f"{start:%Y-%m-%d %H:%M}–{end_text} ({zone.key})"


def schedule_changes(
    *,
    before: list[tuple[str, datetime, datetime, str]],
    after: list[tuple[str, datetime, datetime, str]],
    time_zone: str,
) -> list[str]:
    """One line per date whose time or place changed, was added or was removed; [] when
    neither a time nor a place moved (a new title or capacity is no move)."""
    old = {key: rest for key, *rest in before}
    new = {key: rest for key, *rest in after}
    lines: list[str] = []
    for index, (key, starts_at, ends_at, location) in enumerate(after, start=1):
        label = _("Date %(n)s") % {"n": index} if len(after) > 1 else _("Date")
        span = format_span(starts_at, ends_at, time_zone)
        if key not in old:
            lines.append(_("New date: %(span)s") % {"span": span} + _place(location))
            continue
        was_start, was_end, was_location = old[key]
        if (was_start, was_end) != (starts_at, ends_at):
            lines.append(
                _("%(label)s: %(before)s → %(after)s")
                % {
                    "label": label,
                    "before": format_span(was_start, was_end, time_zone),
                    "after": span,
                }
            )
        if was_location != location:
            lines.append(
                _("%(label)s, place: %(before)s → %(after)s")
                % {"label": label, "before": was_location or "—", "after": location or "—"}
            )
    for key, starts_at, ends_at, _location in before:
        if key not in new:
            lines.append(
                _("Date removed: %(span)s") % {"span": format_span(starts_at, ends_at, time_zone)}
            )
    return lines


def _place(location: str) -> str:
    return f", {location}" if location else ""


# -- rooms, assets, bookings, conflicts ---------------------------------------------------------
# No booking is longer than this (services refuse longer ones), so a conflict check reads a
# bounded slice of the (resource, starts_at) index: constant, whatever the history.
MAX_BOOKING = timedelta(days=31)


def room_key(room_id: int) -> str:
    return f"room:{room_id}"


def asset_key(asset_id: int) -> str:
    return f"asset:{asset_id}"


def trainer_key(user_id: int) -> str:
    return f"trainer:{user_id}"


def overlapping_bookings(
    *, keys: Iterable[str], starts_at: datetime, ends_at: datetime, exclude: Q | None = None
) -> QuerySet[Booking]:
    """Bookings of any of ``keys`` overlapping [starts_at, ends_at): one index range scan
    per key (``booking_overlap_idx``)."""
    rows = Booking.objects.filter(
        resource__in=list(keys),
        starts_at__lt=ends_at,
        starts_at__gt=starts_at - MAX_BOOKING,
        ends_at__gt=starts_at,
    )
    if exclude is not None:
        rows = rows.exclude(exclude)
    return rows.select_related("session", "room", "asset", "trainer").order_by("starts_at", "id")


def booking_label(booking: Booking) -> str:
    if booking.room_id:
        return str(booking.room)
    if booking.asset_id:
        return str(booking.asset)
    if booking.trainer_id:
        return booking.trainer.name
    return booking.resource


def booking_payload(booking: Booking) -> dict[str, Any]:
    return {
        "id": booking.pk,
        "kind": booking.kind,
        "resource": booking.resource,
        "label": booking_label(booking),
        "session": booking.session_id,
        "title": booking.session.title if booking.session_id else booking.note,
        "part": booking.part_id,
        "starts_at": booking.starts_at.isoformat(),
        "ends_at": booking.ends_at.isoformat(),
        "override_reason": booking.override_reason,
    }


def conflict_message(booking: Booking) -> str:
    what = booking.session.title if booking.session_id else _("time off")
    return _("%(resource)s is taken by “%(what)s” from %(start)s") % {
        "resource": booking_label(booking),
        "what": what,
        "start": booking.starts_at.strftime("%Y-%m-%d %H:%M UTC"),
    }


def space_conflicts(*, space_ids: list[int], now: datetime | None = None) -> list[dict[str, Any]]:
    """Every upcoming booking accepted over a conflict (its reason) with what it overlaps,
    and every learner holding two overlapping confirmed seats, in the given spaces."""
    now = now or timezone.now()
    found: list[dict[str, Any]] = []
    overridden = (
        Booking.objects.filter(space_id__in=space_ids, ends_at__gt=now)
        .exclude(override_reason="")
        .select_related("session", "room", "asset", "trainer", "overridden_by")
        .order_by("starts_at", "id")[:200]
    )
    for booking in overridden:
        others = overlapping_bookings(
            keys=[booking.resource],
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            exclude=Q(pk=booking.pk),
        )
        outside = bool(
            booking.trainer_id
            and outside_availability(
                trainer_ids=[booking.trainer_id],
                starts_at=booking.starts_at,
                ends_at=booking.ends_at,
            )
        )
        found.append(
            {
                "type": "resource",
                "booking": booking_payload(booking),
                "by": booking.overridden_by.name if booking.overridden_by_id else "",
                "with": [booking_payload(o) for o in others],
                # A trainer booked outside their working hours (over no other booking).
                "outside_hours": outside,
            }
        )
    found += learners_booked_twice(space_ids=space_ids, now=now)
    return found


def learners_booked_twice(*, space_ids: list[int], now: datetime) -> list[dict[str, Any]]:
    """Learners with confirmed seats at two upcoming sessions of these spaces that overlap
    (a warning: it is their choice, or their manager's)."""
    seats = list(
        Registration.objects.filter(
            status=RegistrationStatus.CONFIRMED,
            session__space_id__in=space_ids,
            session__status=SessionStatus.SCHEDULED,
            session__ends_at__gt=now,
        )
        .select_related("user", "session")
        .order_by("user_id", "session__starts_at")[:5000]
    )
    found = []
    by_user: dict[int, list[Registration]] = {}
    for seat in seats:
        by_user.setdefault(seat.user_id, []).append(seat)
    for rows in by_user.values():
        for a, b in pairwise(rows):
            if b.session.starts_at < a.session.ends_at:
                found.append(
                    {
                        "type": "learner",
                        "user": a.user.name,
                        "sessions": [
                            {"id": s.session_id, "title": s.session.title} for s in (a, b)
                        ],
                        "starts_at": b.session.starts_at.isoformat(),
                    }
                )
    return found


def overlapping_seats(*, user: Any, session: Session) -> list[Session]:
    """The user's other confirmed seats whose session overlaps this one (a warning)."""
    return list(
        Session.objects.filter(
            registrations__user=user,
            registrations__status=RegistrationStatus.CONFIRMED,
            status=SessionStatus.SCHEDULED,
            starts_at__lt=session.ends_at,
            ends_at__gt=session.starts_at,
        )
        .exclude(pk=session.pk)
        .distinct()
    )


def rooms_of(*, space: Any) -> QuerySet[Room]:
    return Room.objects.filter(space=space)


def assets_of(*, space: Any) -> QuerySet[Asset]:
    return Asset.objects.filter(space=space)


def room_payload(room: Room) -> dict[str, Any]:
    return {
        "id": room.pk,
        "space": room.space_id,
        "name": room.name,
        "site": room.site,
        "address": room.address,
        "capacity": room.capacity,
        "equipment": room.equipment,
        "active": room.active,
    }


def asset_payload(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.pk,
        "space": asset.space_id,
        "name": asset.name,
        "description": asset.description,
        "active": asset.active,
    }


def occurrence_bookings(*, session: Session) -> dict[int | None, list[Booking]]:
    """The bookings of each occurrence of a session (None: its own dates)."""
    found: dict[int | None, list[Booking]] = {}
    for booking in session.bookings.select_related("room", "asset", "trainer"):
        found.setdefault(booking.part_id, []).append(booking)
    return found


# -- self check-in ------------------------------------------------------------------------------
def checkin_code(*, session: Session, part: SessionPart | None = None) -> str:
    """The short code of one dated occurrence: 6 letters and digits derived from the site's
    secret, the session, the part and its start (a moved date gets a new code). Knowing it
    is not enough to check in: one must also hold a confirmed seat, inside the window."""
    starts_at = part.starts_at if part else session.starts_at
    message = f"checkin:{session.pk}:{part.pk if part else 0}:{starts_at.isoformat()}"
    digest = hmac.new(settings.SECRET_KEY.encode(), message.encode(), hashlib.sha256).digest()
    # Base32 without the letters and digits people confuse (0/O, 1/I/L) is longer to
    # explain than it saves: plain base32 (A-Z, 2-7), 6 characters, ~1e9 codes.
    return base64.b32encode(digest).decode()[:6]


def checkin_occurrences(
    *, session: Session
) -> list[tuple[SessionPart | None, datetime, datetime, str]]:
    """(part, start, end, code) of each dated occurrence of the session."""
    found: list[tuple[SessionPart | None, datetime, datetime, str]] = [
        (None, session.starts_at, session.ends_at, checkin_code(session=session))
    ]
    for part in session.parts.order_by("starts_at", "id"):
        found.append((part, part.starts_at, part.ends_at, checkin_code(session=session, part=part)))
    return found


def checkin_occurrence(
    *, session: Session, code: str
) -> tuple[SessionPart | None, datetime, datetime] | None:
    """The occurrence whose code this is (compared in constant time), or None."""
    given = (code or "").strip().upper()[:16]
    for part, starts_at, ends_at, expected in checkin_occurrences(session=session):
        if hmac.compare_digest(given.encode(), expected.encode()):
            return part, starts_at, ends_at
    return None


# -- feedback surveys ---------------------------------------------------------------------------
def survey_of(*, session: Session) -> SurveyTemplate | None:
    """The session's survey: its own template, else its space's default."""
    if session.survey_template_id:
        return session.survey_template
    return (
        SurveyTemplate.objects.filter(space_id=session.space_id, is_default=True)
        .order_by("-id")
        .first()
    )


def may_answer_survey(*, user: Any, session: Session) -> bool:
    """Confirmed attendees of a completed session who have not answered yet."""
    return (
        session.status == SessionStatus.COMPLETED
        and session.registrations.filter(user=user, status=RegistrationStatus.CONFIRMED).exists()
        and not session.respondents.filter(user=user).exists()
    )


def survey_results(*, sessions: QuerySet[Session] | list[Session]) -> dict[str, Any]:
    """Per question of the surveys of ``sessions``: ratings (count, average, 1-5
    distribution) and the open answers; the number of responses."""
    responses = list(SurveyResponse.objects.filter(session__in=sessions).select_related("template"))
    questions: dict[str, dict[str, Any]] = {}
    for response in responses:
        for question in response.template.questions:
            entry = questions.setdefault(
                question["id"],
                {
                    "id": question["id"],
                    "label": question["label"],
                    "kind": question["kind"],
                    "ratings": [0, 0, 0, 0, 0],
                    "texts": [],
                },
            )
            value = response.answers.get(question["id"])
            if question["kind"] == "rating" and isinstance(value, int) and 1 <= value <= 5:
                entry["ratings"][value - 1] += 1
            elif question["kind"] == "text" and value:
                entry["texts"].append(value)
    for entry in questions.values():
        count = sum(entry["ratings"])
        entry["count"] = count
        entry["average"] = (
            round(sum((i + 1) * n for i, n in enumerate(entry["ratings"])) / count, 2)
            if count
            else None
        )
        peak = max(entry["ratings"]) or 1
        # Bar widths (percent of the most chosen rating) for the page's chart.
        entry["bars"] = [
            {"rating": i + 1, "count": n, "width": round(100 * n / peak), "y": 12 * i}
            for i, n in enumerate(entry["ratings"])
        ]
    return {"responses": len(responses), "questions": list(questions.values())}


def can_see_trainer_feedback(*, user: Any, trainer: Any) -> bool:
    """The trainer themself, coordinators of a space they share, administrators."""
    if user.pk == trainer.pk or user.has_role(Role.ADMIN):
        return True
    if not user.has_role(Role.COORDINATOR):
        return False
    shared = set(spaces_of(user=user).values_list("pk", flat=True)) & set(
        spaces_of(user=trainer).values_list("pk", flat=True)
    )
    return bool(shared)


# -- manager seat reservations ------------------------------------------------------------------
def may_reserve_for_team(*, user: Any, session: Session) -> bool:
    """A manager with at least one report in the session's space."""
    if not user.is_authenticated or not user.has_role(Role.MANAGER, Role.ADMIN):
        return False
    return reports_of(manager=user).filter(spaces=session.space_id).exists()


def reservations_of(*, session: Session) -> QuerySet[SeatReservation]:
    return session.reservations.select_related("manager").order_by("created_at", "id")


def reservation_payload(reservation: SeatReservation, *, named: list[Any] | None = None) -> dict:
    """A reservation as REST, the reservations topic and the session page show it."""
    if named is None:
        named = list(
            reservation.registrations.exclude(status=RegistrationStatus.CANCELLED)
            .select_related("user")
            .order_by("created_at", "id")
        )
    return {
        "id": reservation.pk,
        "session": reservation.session_id,
        "manager": {"id": reservation.manager_id, "name": reservation.manager.name},
        "seats": reservation.seats,
        "held": reservation.held,
        # The people named (registrations); awaiting approval where the session asks for it.
        "named": [
            {
                "id": r.user_id,
                "name": r.user.name,
                "awaiting_approval": r.status == RegistrationStatus.PENDING,
            }
            for r in named
        ],
        "deadline": reservation.deadline.isoformat(),
        "released_at": _iso(reservation.released_at),
    }


def reservations_payload(*, session: Session) -> list[dict[str, Any]]:
    """Every reservation of a session with the people named (two queries)."""
    rows = list(reservations_of(session=session))
    named: dict[int, list[Any]] = {r.pk: [] for r in rows}
    for registration in (
        Registration.objects.filter(reservation__in=rows)
        .exclude(status=RegistrationStatus.CANCELLED)
        .select_related("user")
        .order_by("created_at", "id")
    ):
        named[registration.reservation_id].append(registration)
    return [reservation_payload(r, named=named[r.pk]) for r in rows]


def nameable_reports(*, reservation: SeatReservation) -> list[Any]:
    """The manager's reports of the session's space who hold no live registration there."""
    session = reservation.session
    taken = session.registrations.exclude(status=RegistrationStatus.CANCELLED).filter(
        status__in=SEAT_STATUSES
    )
    return list(
        reports_of(manager=reservation.manager)
        .filter(spaces=session.space_id, is_active=True)
        .exclude(pk__in=taken.values("user_id"))
        .distinct()
        .order_by("display_name", "username")[:REGISTRABLE_LIMIT]
    )


# -- one-to-one coaching slots ------------------------------------------------------------------
def slot_of(*, session: Session) -> CoachingSlot | None:
    return CoachingSlot.objects.filter(session_id=session.pk).select_related("coach").first()


def is_coaching_slot(*, session_id: int) -> bool:
    return CoachingSlot.objects.filter(session_id=session_id).exists()


def may_publish_slots(*, user: Any) -> bool:
    return user.is_authenticated and user.has_role(Role.TRAINER, Role.MANAGER, Role.ADMIN)


def may_book_slot(*, user: Any, slot: CoachingSlot) -> bool:
    """Anyone of the space (a trainer's slots) or the coach's reports (a manager's), not
    the coach."""
    if user.pk == slot.coach_id or not is_space_member(user=user, space=slot.session.space_id):
        return False
    if slot.audience == SlotAudience.TEAM:
        return is_manager_of(manager=slot.coach, user=user)
    return True


def coaching_slots(
    *, user: Any, now: datetime | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Upcoming slots ``user`` may book, with whether each is taken (and by them)."""
    now = now or timezone.now()
    slots = list(
        CoachingSlot.objects.filter(
            session__space__in=spaces_of(user=user),
            session__status=SessionStatus.SCHEDULED,
            session__starts_at__gt=now,
        )
        .exclude(coach=user)
        .select_related("session", "coach")
        .order_by("session__starts_at", "id")[: limit * 2]
    )
    team = {s.coach_id for s in slots if s.audience == SlotAudience.TEAM}
    my_managers = (
        set(
            User.objects.filter(pk__in=team, managed_teams__members=user).values_list(
                "pk", flat=True
            )
        )
        if team
        else set()
    )
    holders = dict(
        Registration.objects.filter(
            session__in=[s.session_id for s in slots], status__in=SEAT_STATUSES
        ).values_list("session_id", "user_id")
    )
    out = []
    for slot in slots:
        if slot.audience == SlotAudience.TEAM and slot.coach_id not in my_managers:
            continue
        holder = holders.get(slot.session_id)
        out.append(slot_payload(slot, taken=holder is not None, mine=holder == user.pk))
    return out[:limit]


def slot_payload(slot: CoachingSlot, *, taken: bool, mine: bool = False) -> dict[str, Any]:
    session = slot.session
    return {
        "id": session.pk,
        "coach": {"id": slot.coach_id, "name": slot.coach.name},
        "title": session.title,
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat(),
        "time_zone": session.time_zone,
        "location": session.location,
        "audience": slot.audience,
        "taken": taken,
        "mine": mine,
    }


def slots_published_by(*, user: Any, now: datetime | None = None) -> list[dict[str, Any]]:
    """The coach's upcoming slots with who booked each (for the coach only)."""
    now = now or timezone.now()
    slots = list(
        CoachingSlot.objects.filter(
            coach=user, session__status=SessionStatus.SCHEDULED, session__ends_at__gt=now
        )
        .select_related("session", "coach")
        .order_by("session__starts_at", "id")[:200]
    )
    holders = {
        r.session_id: r.user
        for r in Registration.objects.filter(
            session__in=[s.session_id for s in slots], status__in=SEAT_STATUSES
        ).select_related("user")
    }
    out = []
    for slot in slots:
        holder = holders.get(slot.session_id)
        data = slot_payload(slot, taken=holder is not None)
        data["booked_by"] = {"id": holder.pk, "name": holder.name} if holder else None
        out.append(data)
    return out


# -- facilitators' weekly availability -----------------------------------------------------------
def availability_of(*, trainer: Any) -> QuerySet[Availability]:
    return Availability.objects.filter(trainer=trainer).order_by("weekday", "starts", "id")


def availability_payload(window: Availability) -> dict[str, Any]:
    return {
        "weekday": window.weekday,
        "starts": window.starts.strftime("%H:%M"),
        "ends": window.ends.strftime("%H:%M"),
        "time_zone": window.time_zone,
    }


def within_availability(
    windows: list[Availability], starts_at: datetime, ends_at: datetime
) -> bool:
    """Does [starts_at, ends_at) fit inside one window (on its own local day)? No windows:
    the trainer's hours are not given, so any time is fine."""
    if not windows:
        return True
    for window in windows:
        try:
            zone = ZoneInfo(window.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
        if start.weekday() != window.weekday:
            continue
        same_day = end.date() == start.date() or (
            end.time() == datetime.min.time() and (end - start) <= timedelta(days=1)
        )
        end_time = end.time() if end.date() == start.date() else datetime.max.time()
        if same_day and window.starts <= start.time() and end_time <= window.ends:
            return True
    return False


def outside_availability(
    *, trainer_ids: Iterable[int], starts_at: datetime, ends_at: datetime
) -> list[Any]:
    """The trainers (of ``trainer_ids``) whose working hours do not cover the time."""
    ids = list(trainer_ids)
    if not ids:
        return []
    windows: dict[int, list[Availability]] = {}
    for window in Availability.objects.filter(trainer_id__in=ids):
        windows.setdefault(window.trainer_id, []).append(window)
    outside = [
        pk for pk, rows in windows.items() if not within_availability(rows, starts_at, ends_at)
    ]
    return list(User.objects.filter(pk__in=outside).order_by("pk")) if outside else []


def availability_message(trainer: Any) -> str:
    return _("%(name)s does not work at that time (outside their working hours)") % {
        "name": trainer.name
    }


def conflicts_count(*, space_ids: list[int]) -> int:
    """How many conflicts the coordinator's dashboard card shows."""
    return len(space_conflicts(space_ids=space_ids))


# -- home pages (issue 15, frontend/home.py): read-only, each in a query or two --------------
def registrations_ahead(*, user: Any, until: datetime, limit: int = 8) -> list[Registration]:
    """``user``'s live registrations (seat, offer, waiting list, approval) of sessions not
    over yet that start before ``until``, soonest first."""
    now = timezone.now()
    return list(
        Registration.objects.filter(
            user=user,
            status__in=(
                RegistrationStatus.CONFIRMED,
                RegistrationStatus.OFFERED,
                RegistrationStatus.WAITLISTED,
                RegistrationStatus.PENDING,
            ),
            session__status=SessionStatus.SCHEDULED,
            session__ends_at__gte=now,
            session__starts_at__lt=until,
        )
        .select_related("session", "session__space")
        .order_by("session__starts_at", "session_id")[:limit]
    )


def waiting_of(*, user: Any, limit: int = 8) -> list[Registration]:
    """``user``'s places on waiting lists and seat offers of upcoming sessions: offers
    first (soonest to lapse), then positions."""
    now = timezone.now()
    rows = list(
        Registration.objects.filter(
            user=user,
            status__in=(RegistrationStatus.OFFERED, RegistrationStatus.WAITLISTED),
            session__status=SessionStatus.SCHEDULED,
            session__ends_at__gte=now,
        )
        .select_related("session")
        .order_by("session__starts_at", "id")[:limit]
    )
    rows.sort(key=lambda r: (r.status != RegistrationStatus.OFFERED, r.position or 0))
    return rows


def cancellation_deadlines_of(*, user: Any, until: datetime, limit: int = 5) -> list[Registration]:
    """Seats ``user`` holds whose free-cancellation deadline falls before ``until``."""
    now = timezone.now()
    return list(
        Registration.objects.filter(
            user=user,
            status=RegistrationStatus.CONFIRMED,
            session__status=SessionStatus.SCHEDULED,
            session__cancellation_deadline__gt=now,
            session__cancellation_deadline__lt=until,
        )
        .select_related("session")
        .order_by("session__cancellation_deadline")[:limit]
    )


def sessions_between(
    *, space_ids: Iterable[int], start: datetime, end: datetime, limit: int = 20
) -> list[Session]:
    """Scheduled sessions of these spaces that start in [start, end), soonest first."""
    return list(
        Session.objects.filter(
            space_id__in=list(space_ids),
            status=SessionStatus.SCHEDULED,
            starts_at__gte=start,
            starts_at__lt=end,
        )
        .select_related("space")
        .order_by("starts_at", "id")[:limit]
    )


def sessions_trained_between(
    *, user: Any, start: datetime, end: datetime, limit: int = 10
) -> list[Session]:
    """The sessions ``user`` trains that are on between ``start`` and ``end``."""
    return list(
        Session.objects.filter(
            trainers=user,
            status=SessionStatus.SCHEDULED,
            ends_at__gte=start,
            starts_at__lt=end,
        )
        .select_related("space")
        .order_by("starts_at", "id")[:limit]
    )


def waitlisted_sessions(*, space_ids: Iterable[int], limit: int = 8) -> list[tuple[Session, int]]:
    """Upcoming sessions of these spaces with people waiting, longest list first."""
    now = timezone.now()
    rows = (
        Session.objects.filter(
            space_id__in=list(space_ids), status=SessionStatus.SCHEDULED, ends_at__gte=now
        )
        .annotate(waiting=Count("registrations", filter=Q(registrations__status="waitlisted")))
        .filter(waiting__gt=0)
        .order_by("-waiting", "starts_at")[:limit]
    )
    return [(s, s.waiting) for s in rows]


def approvals_awaiting(*, user: Any, limit: int = 8) -> tuple[list[Registration], int]:
    """Pending registrations ``user`` may approve (``services._may_approve``'s rule): those
    of sessions they manage, and their reports' where a manager approves. With the count."""
    now = timezone.now()
    pending = Registration.objects.filter(
        status=RegistrationStatus.PENDING,
        session__status=SessionStatus.SCHEDULED,
        session__starts_at__gt=now,
    )
    mine = Q(pk__in=[])
    if user.has_role(Role.ADMIN):
        mine = Q()
    else:
        if user.has_role(Role.COORDINATOR):
            mine |= Q(session__space__in=spaces_of(user=user))
        mine |= Q(session__trainers=user)
        mine |= Q(session__approval="manager", user__in=reports_of(manager=user))
    found = pending.filter(mine).distinct()
    return (
        list(found.select_related("session", "user").order_by("created_at", "id")[:limit]),
        found.count(),
    )


def offers_lapsing(
    *, space_ids: Iterable[int], within: timedelta, limit: int = 8
) -> list[Registration]:
    """Seat offers of these spaces that lapse within ``within``, soonest first."""
    now = timezone.now()
    return list(
        Registration.objects.filter(
            session__space_id__in=list(space_ids),
            status=RegistrationStatus.OFFERED,
            offer_expires_at__gt=now,
            offer_expires_at__lte=now + within,
        )
        .select_related("session", "user")
        .order_by("offer_expires_at", "id")[:limit]
    )


def team_sessions_ahead(*, manager: Any, until: datetime, limit: int = 10) -> list[Registration]:
    """Live registrations of ``manager``'s reports for sessions starting before ``until``."""
    now = timezone.now()
    return list(
        Registration.objects.filter(
            user__in=reports_of(manager=manager),
            status__in=(
                RegistrationStatus.CONFIRMED,
                RegistrationStatus.OFFERED,
                RegistrationStatus.WAITLISTED,
                RegistrationStatus.PENDING,
            ),
            session__status=SessionStatus.SCHEDULED,
            session__ends_at__gte=now,
            session__starts_at__lt=until,
        )
        .select_related("session", "user")
        .order_by("session__starts_at", "user__display_name")[:limit]
    )
