"""Every write of sessions: scheduling, registration, waiting list.

Race safety: each function that changes seats or waiting-list positions first locks the
session row (``_locked``: ``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite runs one writer
at a time), then counts and writes. So a session is never overbooked, nobody is promoted
twice and positions stay 1..n, whatever runs at the same time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub import realtime, sanitize
from hub.accounts.selectors import is_space_member, managers_of
from hub.notify import notify
from sessions.models import (
    ACTIVE_STATUSES,
    Approval,
    Registration,
    RegistrationStatus,
    Session,
    SessionEvent,
    SessionKind,
    SessionStatus,
)
from sessions.selectors import (
    active_registration,
    can_manage_session,
    can_register_for,
    can_schedule_in,
    registration_payload,
    seats_state,
    waitlist,
)

EDITABLE_FIELDS = (
    "kind",
    "title",
    "description",
    "starts_at",
    "ends_at",
    "time_zone",
    "location",
    "join_url",
    "capacity",
    "registration_opens_at",
    "registration_closes_at",
    "approval",
    "cancellation_deadline",
    "course",
    "activity",
)


# -- sessions ---------------------------------------------------------------------------------
def _validate(session: Session) -> None:
    errors: dict[str, str] = {}
    if session.kind not in SessionKind.values:
        errors["kind"] = _("Choose face-to-face, virtual class or coaching.")
    if session.approval not in Approval.values:
        errors["approval"] = _("Unknown approval rule.")
    if session.ends_at <= session.starts_at:
        errors["ends_at"] = _("The end must be after the start.")
    if session.capacity is None or session.capacity < 0:
        errors["capacity"] = _("The capacity cannot be negative.")
    if (
        session.registration_opens_at
        and session.registration_closes_at
        and session.registration_closes_at <= session.registration_opens_at
    ):
        errors["registration_closes_at"] = _("Registration must close after it opens.")
    try:
        ZoneInfo(session.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["time_zone"] = _("Unknown time zone.")
    if session.course_id and session.course.space_id != session.space_id:
        errors["course"] = _("The course belongs to another space.")
    if session.activity_id and session.activity.course_id != session.course_id:
        errors["activity"] = _("The activity must belong to the session's course.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def session_create(
    *,
    actor: Any,
    space: Any,
    kind: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    trainers: Iterable[Any] = (),
    **fields: Any,
) -> Session:
    """Schedule a session in ``space`` (coordinators of the space, administrators)."""
    if not can_schedule_in(user=actor, space=space):
        raise PermissionDenied(_("Only a coordinator of this space can schedule sessions."))
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({"fields": f"unknown: {', '.join(sorted(unknown))}"})
    session = Session(
        space=space,
        kind=kind,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        created_by=actor,
        **fields,
    )
    session.description_html = sanitize.markdown(session.description)
    _validate(session)
    session.save()
    session.trainers.set(trainers)
    return session


@transaction.atomic
def session_update(*, actor: Any, session: Session, **fields: Any) -> Session:
    """Change a session; raising the capacity promotes from the waiting list."""
    session = _locked(session)
    if not can_manage_session(user=actor, session=session):
        raise PermissionDenied(_("You cannot change this session."))
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError(_("This session is no longer scheduled."))
    trainers = fields.pop("trainers", None)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({"fields": f"unknown: {', '.join(sorted(unknown))}"})
    for name, value in fields.items():
        setattr(session, name, value)
    if "description" in fields:
        session.description_html = sanitize.markdown(session.description)
    _validate(session)
    session.save()
    if trainers is not None:
        session.trainers.set(trainers)
    if "capacity" in fields:
        _fill_seats(session, actor=actor)
    _publish_state(session)
    return session


@transaction.atomic
def session_set_capacity(*, actor: Any, session: Session, capacity: int) -> Session:
    return session_update(actor=actor, session=session, capacity=capacity)


@transaction.atomic
def session_cancel(*, actor: Any, session: Session) -> Session:
    """Cancel the session: every live registration is cancelled and told."""
    session = _locked(session)
    if not can_manage_session(user=actor, session=session):
        raise PermissionDenied(_("You cannot cancel this session."))
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError(_("This session is no longer scheduled."))
    session.status = SessionStatus.CANCELLED
    session.save(update_fields=["status"])
    live = list(session.registrations.filter(status__in=ACTIVE_STATUSES).select_related("user"))
    now = timezone.now()
    for registration in live:
        registration.status = RegistrationStatus.CANCELLED
        registration.position = None
        registration.cancelled_at = now
        registration.cancelled_by = actor
    Registration.objects.bulk_update(live, ["status", "position", "cancelled_at", "cancelled_by"])
    _log(session, "session.cancelled", {"session": session.pk})
    if live:
        notify(
            recipients=[r.user for r in live],
            kind="session_cancelled",
            verb=_("Session cancelled: %(title)s") % {"title": session.title},
            actor=actor,
            target=session,
            url=session_url(session),
        )
    _publish_state(session)
    return session


# -- registrations ----------------------------------------------------------------------------
@transaction.atomic
def registration_register(*, actor: Any, session: Session, user: Any | None = None) -> Registration:
    """Register ``user`` (default: ``actor``) — confirmed, waitlisted or pending approval.

    A manager may register a report, a coordinator anyone of the space. Registering twice,
    outside the registration window, for a cancelled or started session is refused.
    """
    user = user or actor
    session = _locked(session)
    if not can_register_for(actor=actor, user=user, session=session):
        raise PermissionDenied(_("You cannot register this person."))
    if not is_space_member(user=user, space=session.space_id):
        raise PermissionDenied(_("This person is not a member of the session's space."))
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError(_("This session is not open for registration."))
    now = timezone.now()
    if now >= session.starts_at:
        raise ValidationError(_("This session has already started."))
    if session.registration_opens_at and now < session.registration_opens_at:
        raise ValidationError(_("Registration has not opened yet."))
    if session.registration_closes_at and now >= session.registration_closes_at:
        raise ValidationError(_("Registration is closed."))
    if active_registration(session=session, user=user) is not None:
        raise ValidationError(_("Already registered for this session."))
    registration = Registration(session=session, user=user, registered_by=actor)
    if _needs_approval(session=session, actor=actor, user=user):
        registration.status = RegistrationStatus.PENDING
        realtime.hold_topic_order(session.topic)
        registration.save()
        _log(session, "registration.created", registration_payload(registration))
        _notify_approvers(session=session, registration=registration)
    else:
        _place(session, registration)
        _notify_placed(registration, actor=actor)
    _publish_state(session)
    return registration


@transaction.atomic
def registration_approve(*, actor: Any, registration: Registration) -> Registration:
    """Approve a pending registration: it gets a seat or joins the waiting list."""
    session = _locked(registration.session)
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if registration.status != RegistrationStatus.PENDING:
        raise ValidationError(_("This registration is not awaiting approval."))
    if not _may_approve(session=session, actor=actor, user=registration.user):
        raise PermissionDenied(_("You cannot approve this registration."))
    if session.has_started or session.status != SessionStatus.SCHEDULED:
        raise ValidationError(_("This session is not open for registration."))
    _place(session, registration)
    _notify_placed(registration, actor=actor)
    _publish_state(session)
    return registration


@transaction.atomic
def registration_cancel(*, actor: Any, registration: Registration) -> Registration:
    """Cancel a seat, withdraw from the waiting list or a pending request.

    The learner (or their manager) cancels a confirmed seat until the cancellation
    deadline and withdraws from the waiting list until the start; a coordinator removes
    anyone at any time. A freed seat goes to the head of the waiting list unless the
    session has started.
    """
    session = _locked(registration.session)
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    manages = can_manage_session(user=actor, session=session)
    if not manages and not (
        actor.pk == registration.user_id or _is_manager(actor, registration.user)
    ):
        raise PermissionDenied(_("You cannot cancel someone else's registration."))
    if registration.status == RegistrationStatus.CANCELLED:
        raise ValidationError(_("This registration is already cancelled."))
    now = timezone.now()
    if not manages:
        if now >= session.starts_at:
            raise ValidationError(_("The session has started."))
        if (
            registration.status == RegistrationStatus.CONFIRMED
            and session.cancellation_deadline
            and now >= session.cancellation_deadline
        ):
            raise ValidationError(_("The cancellation deadline has passed."))
    was = registration.status
    realtime.hold_topic_order(session.topic)
    registration.status = RegistrationStatus.CANCELLED
    registration.position = None
    registration.cancelled_at = now
    registration.cancelled_by = actor
    registration.save(update_fields=["status", "position", "cancelled_at", "cancelled_by"])
    _log(session, "registration.cancelled", registration_payload(registration))
    notify(
        recipients=[registration.user],
        kind="session_registration",
        verb=_("Registration cancelled: %(title)s") % {"title": session.title},
        actor=actor,
        target=session,
        url=session_url(session),
    )
    if was == RegistrationStatus.WAITLISTED:
        _renumber(session)
    elif was == RegistrationStatus.CONFIRMED:
        _fill_seats(session, actor=actor)
    _publish_state(session)
    return registration


# The same door, named for what coordinators and learners do.
def registration_remove(*, actor: Any, registration: Registration) -> Registration:
    if not can_manage_session(user=actor, session=registration.session):
        raise PermissionDenied(_("Only a coordinator can remove a registration."))
    return registration_cancel(actor=actor, registration=registration)


def waitlist_withdraw(*, actor: Any, registration: Registration) -> Registration:
    if registration.status != RegistrationStatus.WAITLISTED:
        raise ValidationError(_("This registration is not on the waiting list."))
    return registration_cancel(actor=actor, registration=registration)


@transaction.atomic
def waitlist_reorder(*, actor: Any, session: Session, registration_ids: list[int]) -> None:
    """Set the waiting-list order (coordinators): ``registration_ids`` lists all of it."""
    session = _locked(session)
    if not can_manage_session(user=actor, session=session):
        raise PermissionDenied(_("Only a coordinator can reorder the waiting list."))
    current = list(waitlist(session=session))
    if sorted(registration_ids) != sorted(r.pk for r in current) or len(
        set(registration_ids)
    ) != len(registration_ids):
        raise ValidationError({"ids": _("List every waitlisted registration exactly once.")})
    rank = {pk: i for i, pk in enumerate(registration_ids, start=1)}
    _renumber(session, order=sorted(current, key=lambda r: rank[r.pk]))
    _log(session, "waitlist.reordered", {"ids": registration_ids})
    _publish_state(session)


@transaction.atomic
def registration_move(*, actor: Any, registration: Registration, to: Session) -> Registration:
    """Move a learner to another session (coordinators): cancel here, register there."""
    if not (
        can_manage_session(user=actor, session=registration.session)
        and can_manage_session(user=actor, session=to)
    ):
        raise PermissionDenied(_("Only a coordinator of both sessions can move a learner."))
    if to.pk == registration.session_id:
        raise ValidationError(_("Choose another session."))
    moved = registration_register(actor=actor, session=to, user=registration.user)
    registration_cancel(actor=actor, registration=registration)
    return moved


@transaction.atomic
def promote_next_waitlisted(*, session: Session, actor: Any | None = None) -> Registration | None:
    """Give the first free seat to the head of the waiting list (none once started)."""
    session = _locked(session)
    promoted = _fill_seats(session, actor=actor, limit=1)
    _publish_state(session)
    return promoted[0] if promoted else None


# -- internals --------------------------------------------------------------------------------
def _locked(session: Session) -> Session:
    return Session.objects.select_for_update().select_related("space").get(pk=session.pk)


def _is_manager(actor: Any, user: Any) -> bool:
    from hub.accounts.selectors import is_manager_of

    return is_manager_of(manager=actor, user=user)


def _may_approve(*, session: Session, actor: Any, user: Any) -> bool:
    if session.approval == Approval.MANAGER:
        return _is_manager(actor, user) or can_manage_session(user=actor, session=session)
    return can_manage_session(user=actor, session=session)


def _needs_approval(*, session: Session, actor: Any, user: Any) -> bool:
    if session.approval == Approval.NONE:
        return False
    return not _may_approve(session=session, actor=actor, user=user)


def _place(session: Session, registration: Registration) -> None:
    """Confirm if a seat is free and nobody waits; otherwise join the end of the list."""
    state = seats_state(session=session)
    realtime.hold_topic_order(session.topic)
    if state["seats_left"] > 0 and state["waitlist_length"] == 0:
        registration.status = RegistrationStatus.CONFIRMED
        registration.position = None
    else:
        registration.status = RegistrationStatus.WAITLISTED
        registration.position = state["waitlist_length"] + 1
    registration.save()
    _log(session, "registration.created", registration_payload(registration))
    if registration.position:
        _push_position(registration)


def _fill_seats(
    session: Session, *, actor: Any | None, limit: int | None = None
) -> list[Registration]:
    """Promote heads of the waiting list into free seats; never once the session started."""
    if session.has_started or session.status != SessionStatus.SCHEDULED:
        return []
    free = seats_state(session=session)["seats_left"]
    if limit is not None:
        free = min(free, limit)
    if free <= 0:
        return []
    heads = list(waitlist(session=session).select_related("user")[:free])
    if not heads:
        return []
    realtime.hold_topic_order(session.topic)
    now = timezone.now()
    for registration in heads:
        registration.status = RegistrationStatus.CONFIRMED
        registration.position = None
        registration.promoted_at = now
        registration.save(update_fields=["status", "position", "promoted_at"])
        _log(session, "registration.promoted", registration_payload(registration))
        _push_position(registration)
    notify(
        recipients=[r.user for r in heads],
        kind="session_promoted",
        verb=_("A seat is yours: %(title)s") % {"title": session.title},
        actor=actor or session.space,
        target=session,
        url=session_url(session),
    )
    _renumber(session)
    return heads


def _renumber(session: Session, order: list[Registration] | None = None) -> None:
    """Make waiting-list positions 1..n again (FIFO order unless ``order`` is given)."""
    rows = order if order is not None else list(waitlist(session=session))
    changed = []
    for i, registration in enumerate(rows, start=1):
        if registration.position != i:
            registration.position = i
            changed.append(registration)
    if changed:
        Registration.objects.bulk_update(changed, ["position"])
        for registration in changed:
            _push_position(registration)


def _push_position(registration: Registration) -> None:
    realtime.publish(
        f"hub.user.{registration.user_id}",
        "sessions.position",
        {
            "session": registration.session_id,
            "registration": registration.pk,
            "status": registration.status,
            "position": registration.position,
        },
    )


def _log(session: Session, type_: str, data: dict[str, Any]) -> SessionEvent:
    """A durable event of the session's topic (callers hold the topic order first)."""
    realtime.hold_topic_order(session.topic)
    event = SessionEvent.objects.create(session=session, type=type_, data=data)
    realtime.publish(session.topic, type_, data, id=event.pk)
    return event


def _publish_state(session: Session) -> None:
    realtime.publish(session.topic, "session.seats", seats_state(session=session))


def _notify_placed(registration: Registration, *, actor: Any) -> None:
    session = registration.session
    if registration.status == RegistrationStatus.CONFIRMED:
        verb = _("Registered: %(title)s") % {"title": session.title}
    else:
        verb = _("Waiting list, position %(n)s: %(title)s") % {
            "n": registration.position,
            "title": session.title,
        }
    notify(
        recipients=[registration.user, *managers_of(user=registration.user)],
        kind="session_registration",
        verb=verb,
        actor=actor,
        target=session,
        url=session_url(session),
    )


def _notify_approvers(*, session: Session, registration: Registration) -> None:
    if session.approval == Approval.MANAGER:
        approvers = list(managers_of(user=registration.user))
    else:
        approvers = []
    if not approvers:
        from hub.accounts.models import Role, User

        approvers = list(
            User.objects.filter(
                role_grants__role=Role.COORDINATOR, spaces=session.space_id
            ).distinct()
        )
    if approvers:
        notify(
            recipients=approvers,
            kind="session_approval",
            verb=_("Approval requested: %(title)s") % {"title": session.title},
            actor=registration.user,
            target=session,
            url=session_url(session),
        )


def session_url(session: Session) -> str:
    return f"/sessions/{session.pk}/"
