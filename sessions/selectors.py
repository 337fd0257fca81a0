"""Reads and permission predicates of sessions, and the payloads REST, topics and pages share."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from hub.accounts.models import Role
from hub.accounts.selectors import is_manager_of, is_space_member, spaces_of
from sessions.models import Registration, RegistrationStatus, Session, SessionEvent


def can_manage_session(*, user: Any, session: Session) -> bool:
    """Coordinators of the session's space, administrators and the session's trainers."""
    if not user.is_authenticated:
        return False
    if user.has_role(Role.ADMIN):
        return True
    if user.has_role(Role.COORDINATOR) and is_space_member(user=user, space=session.space_id):
        return True
    return session.pk is not None and session.trainers.filter(pk=user.pk).exists()


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


def sessions_for(*, user: Any) -> QuerySet[Session]:
    return (
        Session.objects.filter(space__in=spaces_of(user=user))
        .select_related("space", "course")
        .order_by("starts_at", "id")
    )


def confirmed_count(*, session: Session) -> int:
    return session.registrations.filter(status=RegistrationStatus.CONFIRMED).count()


def waitlist(*, session: Session) -> QuerySet[Registration]:
    return session.registrations.filter(status=RegistrationStatus.WAITLISTED).order_by(
        "position", "created_at", "id"
    )


def seats_state(*, session: Session) -> dict[str, int]:
    confirmed = confirmed_count(session=session)
    return {
        "capacity": session.capacity,
        "confirmed": confirmed,
        "seats_left": max(session.capacity - confirmed, 0),
        "waitlist_length": waitlist(session=session).count(),
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
        "created_at": registration.created_at.isoformat(),
    }


def session_payload(session: Session, *, user: Any | None = None) -> dict[str, Any]:
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
        "join_url": session.join_url,
        "approval": session.approval,
        "registration_opens_at": _iso(session.registration_opens_at),
        "registration_closes_at": _iso(session.registration_closes_at),
        "cancellation_deadline": _iso(session.cancellation_deadline),
        "status": session.status,
        "trainers": list(session.trainers.values_list("pk", flat=True)),
        "topic": session.topic,
        **seats_state(session=session),
    }
    if user is not None:
        mine = active_registration(session=session, user=user)
        data["my_registration"] = registration_payload(mine) if mine else None
    return data


def session_events_after(*, session_id: int, after_id: int, limit: int) -> list[SessionEvent]:
    return list(
        SessionEvent.objects.filter(session_id=session_id, id__gt=after_id).order_by("id")[:limit]
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
