"""``sessions.session.<id>``: seats left and waiting-list length (ephemeral ``session.seats``)
and the registration log (durable: ``SessionEvent`` ids, replayed after a reconnect), which
also says when the session was cancelled or completed (``session.completed``).

``session.changed`` (dates, parts, status, iCal sequence) and ``attendance.summary`` are
ephemeral. A learner's own waiting-list position arrives on ``hub.user.<id>``
(``sessions.position``).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from hub import realtime
from hub.params import parse_id
from sessions import services
from sessions.api import (
    AttendanceMarkSerializer,
    CancelSerializer,
    OfferSerializer,
    RegisterSerializer,
)
from sessions.models import Registration, Session
from sessions.selectors import (
    active_registration,
    attendance_row,
    can_manage_session,
    can_view_session,
    registration_in,
    registration_result,
    session_events_after,
    visible_session,
)


def _session(user: Any, key: str) -> Session:
    session_id = parse_id(key)
    session = visible_session(user=user, pk=session_id) if session_id is not None else None
    if session is None:
        raise Http404
    return session


def _registration(session: Session, user: Any, registration_id: int | None) -> Registration:
    """The named registration of the session, or the user's own live one."""
    if registration_id:
        registration = registration_in(session=session, pk=registration_id)
    else:
        registration = active_registration(session=session, user=user)
    if registration is None:
        raise Http404
    return registration


@realtime.topic("sessions.session")
class SessionTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        session_id = parse_id(key)
        if session_id is None:
            return False
        session = Session.objects.filter(pk=session_id).first()
        return session is not None and can_view_session(user=user, session=session)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return [
            realtime.Event(e.type, e.data, id=e.pk)
            for e in session_events_after(session_id=int(key), after_id=since, limit=limit)
        ]

    # The same services and serializers as REST (POST /api/v1/sessions/<id>/...).
    @realtime.action("register", serializer=RegisterSerializer)
    def register(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        session = _session(user, key)
        return registration_result(
            services.registration_register(actor=user, session=session, user=data.get("user"))
        )

    @realtime.action("cancel", serializer=CancelSerializer)
    def cancel(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        registration = _registration(_session(user, key), user, data.get("registration"))
        return registration_result(
            services.registration_cancel(actor=user, registration=registration)
        )

    @realtime.action("offer.accept", serializer=OfferSerializer)
    def offer_accept(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        registration = _registration(_session(user, key), user, data.get("registration"))
        return registration_result(services.offer_accept(actor=user, registration=registration))

    @realtime.action("offer.decline", serializer=OfferSerializer)
    def offer_decline(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        registration = _registration(_session(user, key), user, data.get("registration"))
        return registration_result(services.offer_decline(actor=user, registration=registration))


@realtime.topic("sessions.session.attendance")
class AttendanceTopic(realtime.Topic):
    """``sessions.session.<id>.attendance``: each mark of the sign-in sheet, for the session's
    trainers and coordinators only (the session topic carries the counts, no names)."""

    def authorize(self, user: Any, key: str) -> bool:
        session_id = parse_id(key)
        if session_id is None:
            return False
        session = Session.objects.filter(pk=session_id).first()
        return session is not None and can_manage_session(user=user, session=session)

    @realtime.action("mark", serializer=AttendanceMarkSerializer)
    def mark(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        registration = _registration(_session(user, key), user, data["registration"])
        registration = services.attendance_mark(
            actor=user, registration=registration, attendance=data["attendance"]
        )
        return attendance_row(registration)


@realtime.topic("sessions.conflicts")
class ConflictsTopic(realtime.Topic):
    """``sessions.conflicts.<space id>``: ``conflicts.changed`` (ephemeral) whenever a
    booking of the space changes; the coordinators' conflicts page refetches the list."""

    def authorize(self, user: Any, key: str) -> bool:
        from hub.accounts.models import Space
        from sessions.selectors import can_schedule_in

        space_id = parse_id(key)
        space = Space.objects.filter(pk=space_id).first() if space_id is not None else None
        return space is not None and can_schedule_in(user=user, space=space)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return []


@realtime.topic("sessions.reservations")
class ReservationsTopic(realtime.Topic):
    """``sessions.reservations.<session id>``: ``reservations.changed`` (ephemeral, with
    the whole list: managers, seats held, people named, deadlines) whenever a manager
    reserves, names or releases, or a deadline passes. For those who manage the session."""

    def authorize(self, user: Any, key: str) -> bool:
        session_id = parse_id(key)
        if session_id is None:
            return False
        session = Session.objects.filter(pk=session_id).first()
        return session is not None and can_manage_session(user=user, session=session)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return []


@realtime.topic("sessions.coaching")
class CoachingTopic(realtime.Topic):
    """``sessions.coaching.<space id>``: ``slots.changed`` ``{"slot", "taken"}`` (ephemeral)
    when a coaching slot of the space is published, booked or freed; members only."""

    def authorize(self, user: Any, key: str) -> bool:
        from hub.accounts.selectors import is_space_member

        space_id = parse_id(key)
        return space_id is not None and is_space_member(user=user, space=space_id)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return []
