"""Every write of sessions: scheduling, registration, waiting list.

Race safety: each function that changes seats or waiting-list positions first locks the
session row (``_locked``: ``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite runs one writer
at a time), then counts and writes. So a session is never overbooked, nobody is promoted
twice and positions stay 1..n, whatever runs at the same time.

Locks are taken in one order everywhere, so two writers queue instead of deadlocking:
session row, registration row, the session's topic (``hold_topic_order``), then people's
notification topics (``notify``). The notice job has no session lock and starts at the
registration row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from classrooms.selectors import liveclass_capacity_for_session
from classrooms.services import (
    activity_complete,
    liveclass_close_for_session,
    liveclass_for_session,
)
from hub import events, realtime, sanitize
from hub.accounts.models import Role
from hub.accounts.selectors import is_space_member, managers_of
from hub.dates import format_for
from hub.notify import notify
from sessions.models import (
    ACTIVE_STATUSES,
    ATTENDED,
    SEAT_STATUSES,
    Approval,
    Asset,
    Attendance,
    Availability,
    Booking,
    BookingKind,
    CheckIn,
    CoachingSlot,
    NoticeKind,
    NoticeSent,
    Registration,
    RegistrationStatus,
    Response,
    Room,
    SeatReservation,
    Session,
    SessionEvent,
    SessionKind,
    SessionPart,
    SessionSeries,
    SessionStatus,
    SlotAudience,
    SurveyRespondent,
    SurveyResponse,
    SurveyTemplate,
)
from sessions.selectors import (
    ATTENDANCE_OPENS_BEFORE,
    MAX_BOOKING,
    active_registration,
    asset_key,
    attendance_summary,
    availability_message,
    can_manage_session,
    can_register_for,
    can_schedule_in,
    can_see_trainer_feedback,
    checkin_occurrence,
    conflict_message,
    is_coaching_slot,
    last_end,
    may_book_slot,
    may_publish_slots,
    may_reserve_for_team,
    occurrence_bookings,
    outside_availability,
    overlapping_bookings,
    part_payload,
    registration_payload,
    reservations_payload,
    room_key,
    schedule_changes,
    schedule_of,
    seat_holders,
    seats_state,
    slot_of,
    survey_of,
    trainer_key,
    waitlist,
    within_availability,
)

# Bounds of the per-session settings (a reminder two weeks ahead at most, an offer a week).
MAX_REMINDER_HOURS = 14 * 24
MAX_CLAIM_HOURS = 7 * 24
MAX_SERIES_OCCURRENCES = 52
# A description longer than this (the REST serializer says the same) is refused unrendered.
DESCRIPTION_MAX_CHARS = 20_000
# How long before an offer expires its holder is reminded (at most half the window).
OFFER_EXPIRING_LEAD = timedelta(hours=1)

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
    "reminder_hours",
    "claim_hours",
)
# Fields that move when an occurrence of a series moves (shifted by the same amount).
TIME_FIELDS = (
    "starts_at",
    "ends_at",
    "registration_opens_at",
    "registration_closes_at",
    "cancellation_deadline",
)


# -- sessions ---------------------------------------------------------------------------------
def _validate(session: Session, *, trainer_count: int | None = None) -> None:
    errors: dict[str, str] = {}
    _validate_room_capacity(session, errors, trainer_count)
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
    if session.reminder_hours is None or not 0 <= session.reminder_hours <= MAX_REMINDER_HOURS:
        errors["reminder_hours"] = _("A reminder goes out 0 to %(n)s hours before the start.") % {
            "n": MAX_REMINDER_HOURS
        }
    if session.claim_hours is not None and not 1 <= session.claim_hours <= MAX_CLAIM_HOURS:
        errors["claim_hours"] = _("A claim window lasts 1 to %(n)s hours.") % {"n": MAX_CLAIM_HOURS}
    if session.course_id and session.course.space_id != session.space_id:
        errors["course"] = _("The course belongs to another space.")
    if session.activity_id and session.activity.course_id != session.course_id:
        errors["activity"] = _("The activity must belong to the session's course.")
    if errors:
        raise ValidationError(errors)


def _validate_room_capacity(
    session: Session, errors: dict[str, str], trainer_count: int | None
) -> None:
    """A virtual class's seats fit in its live classroom, trainers included: every confirmed
    attendee gets in (the room's capacity comes from the media backend in use)."""
    if session.kind != SessionKind.VIRTUAL or session.capacity is None:
        return
    if trainer_count is None:
        trainer_count = session.trainers.count() if session.pk else 0
    room = liveclass_capacity_for_session(session_key=f"sessions.session.{session.pk}")
    seats = max(room - max(trainer_count, 1), 0)
    if session.capacity > seats:
        errors["capacity"] = _(
            "A virtual class holds at most %(seats)s attendees: its live classroom takes "
            "%(room)s people, trainers included."
        ) % {"seats": seats, "room": room}


def _render_description(description: str | None) -> str:
    """The description's HTML; over the API's limit it is refused before it is rendered."""
    return sanitize.markdown(
        description or "", max_chars=DESCRIPTION_MAX_CHARS, field="description"
    )


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
    # Rendered before the transaction: never while holding its locks (SQLite's write lock).
    description_html = _render_description(fields.get("description"))
    return _session_create(
        actor=actor,
        space=space,
        kind=kind,
        title=title,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        trainers=trainers,
        description_html=description_html,
        **fields,
    )


@transaction.atomic
def _session_create(
    *,
    actor: Any,
    space: Any,
    kind: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    trainers: Iterable[Any],
    description_html: str,
    **fields: Any,
) -> Session:
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
    session.description_html = description_html
    trainers = list(trainers)
    _validate(session, trainer_count=len(trainers))
    session.save()
    session.trainers.set(trainers)
    _schedule_reminders(session)
    _schedule_completion(session)
    _sync_live_class(session)
    return session


def session_update(*, actor: Any, session: Session, **fields: Any) -> Session:
    """Change a session; raising the capacity promotes from the waiting list."""
    # Rendered before the transaction: never while holding the session's row lock.
    description_html = (
        _render_description(fields["description"]) if "description" in fields else None
    )
    return _session_update(
        actor=actor, session=session, description_html=description_html, **fields
    )


@transaction.atomic
def _session_update(
    *, actor: Any, session: Session, description_html: str | None, **fields: Any
) -> Session:
    session = _locked(session)
    if not can_manage_session(user=actor, session=session):
        raise PermissionDenied(_("You cannot change this session."))
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError(_("This session is no longer scheduled."))
    trainers = fields.pop("trainers", None)
    # Why a move (or new trainers) into a conflict is accepted anyway, as when booking.
    override_reason = fields.pop("override_reason", "") or ""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({"fields": f"unknown: {', '.join(sorted(unknown))}"})
    old_start, old_reminder = session.starts_at, session.reminder_hours
    old_end = last_end(session=session)
    before = schedule_of(session=session)
    for name, value in fields.items():
        setattr(session, name, value)
    if description_html is not None:
        session.description_html = description_html
    if trainers is not None:
        trainers = list(trainers)
    _validate(session, trainer_count=None if trainers is None else len(trainers))
    session.save()
    if trainers is not None:
        session.trainers.set(trainers)
        # Trainers changed: their bookings change (a dates change is synced below).
        _sync_bookings(session, override_reason=override_reason, actor=actor)
    _bump_sequence(session)
    if session.kind != SessionKind.VIRTUAL:
        _close_live_class(session)
    if session.starts_at != old_start or session.reminder_hours != old_reminder:
        # A new date means a new reminder: forget the ones sent for the old date.
        NoticeSent.objects.filter(registration__session=session, kind=NoticeKind.REMINDER).delete()
        _schedule_reminders(session)
    if last_end(session=session) != old_end:
        _schedule_completion(session)
    if "capacity" in fields or "claim_hours" in fields:
        _fill_seats(session, actor=actor)
    _rescheduled(session, before=before, actor=actor, override_reason=override_reason)
    _publish_state(session)
    _publish_changed(session)
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
    _bump_sequence(session)
    # Reserved seats go with it.
    if session.reserved_seats or session.reservations.filter(released_at__isnull=True).exists():
        session.reservations.filter(released_at__isnull=True).update(
            held=0, released_at=timezone.now()
        )
        session.reserved_seats = 0
        Session.objects.filter(pk=session.pk).update(reserved_seats=0)
        _reservations_changed(session)
    # Its rooms, assets and trainers are free again.
    if session.bookings.exists():
        session.bookings.all().delete()
        _publish_conflicts(session.space_id)
    live = list(session.registrations.filter(status__in=ACTIVE_STATUSES).select_related("user"))
    now = timezone.now()
    for registration in live:
        registration.status = RegistrationStatus.CANCELLED
        registration.position = None
        registration.cancelled_at = now
        registration.cancelled_by = actor
        registration.offer_expires_at = None
        registration.revision += 1
    Registration.objects.bulk_update(
        live,
        ["status", "position", "cancelled_at", "cancelled_by", "offer_expires_at", "revision"],
    )
    _log(session, "session.cancelled", {"session": session.pk})
    for registration in live:
        _push_position(registration)
        # calendars/ cancels the invitation it sent (it listens; sessions does not know it).
        events.emit("sessions.registration_cancelled", registration_id=registration.pk)
    _enqueue_notices([r.pk for r in live], NoticeKind.CANCELLED)
    _close_live_class(session)
    _publish_state(session)
    _publish_changed(session)
    return session


@transaction.atomic
def session_complete(*, session_id: int, now: datetime | None = None) -> bool:
    """Mark a scheduled session completed once its last part has ended (the job queued for
    that time, or the sweep). Idempotent: False when nothing was due (cancelled, completed,
    or moved later: the job queued for the new end does it)."""
    now = now or timezone.now()
    session = (
        Session.objects.select_for_update(of=("self",))
        .select_related("space")
        .filter(pk=session_id)
        .first()
    )
    if session is None or session.status != SessionStatus.SCHEDULED:
        return False
    if now < last_end(session=session):
        return False
    session.status = SessionStatus.COMPLETED
    session.save(update_fields=["status"])
    _log(session, "session.completed", {"session": session.pk, "status": session.status})
    _send_survey(session)
    _publish_state(session)
    _publish_changed(session)
    return True


def completions_sweep(*, now: datetime | None = None) -> int:
    """Complete every scheduled session whose last part has ended (lost or late jobs)."""
    now = now or timezone.now()
    due = (
        Session.objects.filter(status=SessionStatus.SCHEDULED, ends_at__lte=now)
        .exclude(parts__ends_at__gt=now)
        .values_list("pk", flat=True)
    )
    return sum(session_complete(session_id=pk, now=now) for pk in list(due))


def _refuse_if_over(session: Session) -> None:
    """Registrations of a completed session are its record: nobody changes them."""
    if session.status == SessionStatus.COMPLETED:
        raise ValidationError(_("This session is over: its registrations can no longer change."))


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
    _refuse_if_over(session)
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError(_("This session is not open for registration."))
    if session.kind == SessionKind.COACHING and is_coaching_slot(session_id=session.pk):
        raise ValidationError(_("Book a coaching slot on the coaching page."))
    now = timezone.now()
    if now >= session.starts_at:
        raise ValidationError(_("This session has already started."))
    if session.registration_opens_at and now < session.registration_opens_at:
        raise ValidationError(_("Registration has not opened yet."))
    if session.registration_closes_at and now >= session.registration_closes_at:
        raise ValidationError(_("Registration is closed."))
    if active_registration(session=session, user=user) is not None:
        raise ValidationError(_("Already registered for this session."))
    registration = Registration(
        session=session,
        user=user,
        registered_by=actor,
        revision=_next_revision(session=session, user=user),
    )
    if _needs_approval(session=session, actor=actor, user=user):
        registration.status = RegistrationStatus.PENDING
        realtime.hold_topic_order(session.topic)
        registration.save()
        _log(session, "registration.created", registration_payload(registration))
        _notify_approvers(session=session, registration=registration)
    else:
        _place(session, registration)
    _publish_state(session)
    if actor.pk != user.pk:  # the audit log (issue 16): registrations made for someone else
        from hub import audit

        audit.record(
            action="sessions.registered_for",
            actor=actor,
            target=user,
            details={"session": session.pk, "status": registration.status},
        )
    return registration


@transaction.atomic
def registration_approve(*, actor: Any, registration: Registration) -> Registration:
    """Approve a pending registration: it gets a seat or joins the waiting list."""
    session = _locked(registration.session)
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    # Who may approve first: someone who may not learns nothing of the registration.
    if not _may_approve(session=session, actor=actor, user=registration.user):
        raise PermissionDenied(_("You cannot approve this registration."))
    if registration.status != RegistrationStatus.PENDING:
        raise ValidationError(_("This registration is not awaiting approval."))
    _refuse_if_over(session)
    if session.has_started or session.status != SessionStatus.SCHEDULED:
        raise ValidationError(_("This session is not open for registration."))
    registration.revision += 1  # pending -> confirmed or waitlisted
    if registration.reservation_id:
        # Named from a manager's reservation: the seat it held for them is theirs.
        realtime.hold_topic_order(session.topic)
        registration.status = RegistrationStatus.CONFIRMED
        registration.position = None
        registration.save(update_fields=["status", "position", "revision"])
        session.reserved_seats = max(session.reserved_seats - 1, 0)
        Session.objects.filter(pk=session.pk).update(reserved_seats=session.reserved_seats)
        _log(session, "registration.promoted", registration_payload(registration))
        _push_position(registration)
        _enqueue_notices([registration.pk], NoticeKind.CONFIRMED)
        _learners_changed(session, [registration.user_id])
        _reservations_changed(session)
    else:
        _place(session, registration)
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
    _refuse_if_over(session)
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
    was = _drop(session, registration, actor=actor)
    if was == RegistrationStatus.WAITLISTED:
        _renumber(session)
    elif was in (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED):
        _fill_seats(session, actor=actor)
    elif was == RegistrationStatus.PENDING and registration.reservation_id:
        _reserved_seat_back(session, registration, actor=actor)
    # Told last: every registration row this changes is locked before anyone's
    # notification topic (the module's lock order; the notice job holds a waiting learner's
    # row while it takes their manager's topic).
    if actor.pk == registration.user_id:
        notify(
            recipients=[registration.user],
            kind="session_registration",
            verb=_("Registration cancelled: %(title)s") % {"title": session.title},
            actor=actor,
            target=session,
            url=session_url(session),
        )
    elif manages:
        # Removed by the organiser: told by the notice job.
        _enqueue_notices([registration.pk], NoticeKind.CANCELLED)
    else:
        # Their manager cancelled for them: told so, by name (not "by the organiser").
        _enqueue_notices([registration.pk], NoticeKind.MANAGER_CANCELLED)
    _publish_state(session)
    return registration


def _drop(session: Session, registration: Registration, *, actor: Any | None) -> str:
    """Cancel ``registration`` (locked by the caller) and log it; returns its former status."""
    was = registration.status
    realtime.hold_topic_order(session.topic)
    registration.status = RegistrationStatus.CANCELLED
    registration.position = None
    registration.cancelled_at = timezone.now()
    registration.cancelled_by = actor
    registration.revision += 1
    registration.save(
        update_fields=["status", "position", "cancelled_at", "cancelled_by", "revision"]
    )
    _log(session, "registration.cancelled", registration_payload(registration))
    _push_position(registration)
    # A seat lost: calendars/ cancels the invitation it sent, if it sent one.
    events.emit("sessions.registration_cancelled", registration_id=registration.pk)
    if was == RegistrationStatus.CONFIRMED:
        _learners_changed(session, [registration.user_id])
    return was


# -- claim window: offers -------------------------------------------------------------------
@transaction.atomic
def offer_accept(*, actor: Any, registration: Registration) -> Registration:
    """Take the offered seat (the learner or their manager) before the offer expires."""
    session = _locked(registration.session)
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if not (actor.pk == registration.user_id or _is_manager(actor, registration.user)):
        raise PermissionDenied(_("This offer is someone else's."))
    _refuse_if_over(session)
    if registration.status != RegistrationStatus.OFFERED:
        raise ValidationError(_("No seat is offered to you for this session."))
    if registration.offer_expires_at and timezone.now() >= registration.offer_expires_at:
        raise ValidationError(_("This offer has expired."))
    realtime.hold_topic_order(session.topic)
    registration.status = RegistrationStatus.CONFIRMED
    registration.promoted_at = timezone.now()
    registration.offer_expires_at = None
    registration.revision += 1
    registration.save(update_fields=["status", "promoted_at", "offer_expires_at", "revision"])
    _log(session, "registration.promoted", registration_payload(registration))
    _push_position(registration)
    _enqueue_notices([registration.pk], NoticeKind.PROMOTED)
    _learners_changed(session, [registration.user_id])
    _publish_state(session)
    return registration


@transaction.atomic
def offer_decline(*, actor: Any, registration: Registration) -> Registration:
    """Turn the offered seat down: it leaves the list and the seat goes to the next in line."""
    session = _locked(registration.session)
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if not (actor.pk == registration.user_id or _is_manager(actor, registration.user)):
        raise PermissionDenied(_("This offer is someone else's."))
    _refuse_if_over(session)
    if registration.status != RegistrationStatus.OFFERED:
        raise ValidationError(_("No seat is offered to you for this session."))
    _drop(session, registration, actor=actor)
    _fill_seats(session, actor=actor)
    _publish_state(session)
    return registration


@transaction.atomic
def offer_expire(*, registration_id: int, now: datetime | None = None) -> bool:
    """Pass an expired offer to the next in line. Idempotent: False if nothing was due."""
    now = now or timezone.now()
    registration = Registration.objects.filter(pk=registration_id).first()
    if registration is None:
        return False
    session = _locked(registration.session)
    registration = Registration.objects.select_for_update().get(pk=registration_id)
    if registration.status != RegistrationStatus.OFFERED or (
        registration.offer_expires_at and now < registration.offer_expires_at
    ):
        return False
    _drop(session, registration, actor=None)
    _fill_seats(session, actor=None)
    _publish_state(session)
    return True


def offers_sweep(*, now: datetime | None = None) -> int:
    """Expire every offer past its time (the safety net if an expiry job was lost)."""
    now = now or timezone.now()
    due = Registration.objects.filter(
        status=RegistrationStatus.OFFERED, offer_expires_at__lte=now
    ).values_list("pk", flat=True)
    return sum(offer_expire(registration_id=pk, now=now) for pk in list(due))


# The same door, named for what coordinators and learners do.
def registration_remove(*, actor: Any, registration: Registration) -> Registration:
    if not can_manage_session(user=actor, session=registration.session):
        raise PermissionDenied(_("Only a coordinator can remove a registration."))
    from hub import audit

    audit.record(
        action="sessions.registration_removed",
        actor=actor,
        target=registration.user,
        details={"session": registration.session_id},
    )
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
    _refuse_if_over(session)
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
def waitlist_shift(*, actor: Any, registration: Registration, by: int) -> None:
    """Move a waitlisted registration ``by`` places (negative: towards the head)."""
    session = _locked(registration.session)
    if not can_manage_session(user=actor, session=session):
        raise PermissionDenied(_("Only a coordinator can reorder the waiting list."))
    _refuse_if_over(session)
    order = list(waitlist(session=session).values_list("pk", flat=True))
    if registration.pk not in order:
        raise ValidationError(_("This registration is not on the waiting list."))
    if by == 0:
        return
    index = order.index(registration.pk)
    order.remove(registration.pk)
    order.insert(max(0, min(len(order), index + by)), registration.pk)
    waitlist_reorder(actor=actor, session=session, registration_ids=order)


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
    # Both session rows, lowest id first, before either is written: two coordinators
    # moving people in opposite directions at once then queue instead of deadlocking (each
    # holding one row and waiting for the other). The services below lock them again,
    # which a transaction that holds the locks passes straight through.
    for pk in sorted((registration.session_id, to.pk)):
        _locked(Session(pk=pk))
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


# -- the invitation's answer --------------------------------------------------------------------
def registration_respond(*, actor: Any, registration: Registration, answer: str) -> Registration:
    """The attendee answers the calendar invitation: accept keeps the seat (and says so in
    later invitations), decline gives it up (the cancellation rules apply: after the
    deadline only the organiser can free it)."""
    if answer not in (Response.ACCEPTED, Response.DECLINED):
        raise ValidationError({"answer": _("Answer accepted or declined.")})
    if actor.pk != registration.user_id:
        raise PermissionDenied(_("Only the invited person can answer the invitation."))
    return _respond(actor=actor, registration=registration, answer=answer)


@transaction.atomic
def _respond(*, actor: Any, registration: Registration, answer: str) -> Registration:
    if answer == Response.DECLINED:
        registration = registration_cancel(actor=actor, registration=registration)
    else:
        _locked(registration.session)
        registration = Registration.objects.select_for_update().get(pk=registration.pk)
        if registration.status != RegistrationStatus.CONFIRMED:
            raise ValidationError(_("Only a confirmed seat can be accepted."))
    registration.response = answer
    registration.responded_at = timezone.now()
    registration.save(update_fields=["response", "responded_at"])
    return registration


# -- attendance -------------------------------------------------------------------------------
def attendance_is_open(*, session: Session, now: datetime | None = None) -> bool:
    """The sign-in sheet opens 15 minutes before the start (and stays open for corrections)."""
    now = now or timezone.now()
    return now >= session.starts_at - ATTENDANCE_OPENS_BEFORE


@transaction.atomic
def attendance_mark(
    *,
    actor: Any,
    registration: Registration,
    attendance: str,
    marked_at: datetime | None = None,
) -> Registration:
    """Mark a confirmed attendee present / absent / late / excused (trainers, coordinators).

    Present or late completes the session's course activity (classrooms) and emits
    ``sessions.attended``, once, when the attendee first counts as attended.

    ``marked_at``: when a mark made offline was made (the sign-in sheet in a room with no
    network, synced later; issue 21). The latest mark wins: one older than the mark the
    row has (a replay of itself, or overtaken by another trainer's) changes nothing; a time
    in the future is taken as now; one before the sheet opened is refused.
    """
    session = _locked(registration.session)
    if not can_manage_session(user=actor, session=session):
        raise PermissionDenied(_("Only the session's trainers and coordinators take attendance."))
    if attendance not in Attendance.values:
        raise ValidationError({"attendance": _("Choose present, absent, late or excused.")})
    if session.status == SessionStatus.CANCELLED:
        raise ValidationError(_("This session is cancelled."))
    now = timezone.now()
    if marked_at is not None:
        marked_at = min(marked_at, now)
    if not attendance_is_open(session=session, now=marked_at or now):
        raise ValidationError(_("The sign-in sheet opens 15 minutes before the start."))
    registration = (
        Registration.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(pk=registration.pk)
    )
    if registration.status != RegistrationStatus.CONFIRMED:
        raise ValidationError(_("Only confirmed attendees are on the sign-in sheet."))
    return _record_attendance(session, registration, attendance, by=actor, marked_at=marked_at)


def _record_attendance(
    session: Session,
    registration: Registration,
    attendance: str,
    *,
    by: Any,
    marked_at: datetime | None = None,
) -> Registration:
    """Write a sign-in sheet mark (the registration row locked by the caller), complete the
    course activity once, and update every open sign-in sheet live. A mark made offline
    (``marked_at``) older than the one kept changes nothing: the latest mark wins."""
    last = registration.attendance_marked_at
    if marked_at is not None and last is not None and marked_at <= last:
        return registration  # a newer mark (or this very one, replayed) is kept
    attended_before = registration.attendance in ATTENDED
    registration.attendance = attendance
    registration.attendance_marked_at = marked_at or timezone.now()
    registration.attendance_marked_by = by
    registration.save(update_fields=["attendance", "attendance_marked_at", "attendance_marked_by"])
    if attendance in ATTENDED and not attended_before:
        if session.activity_id:
            activity_complete(
                user=registration.user, activity=session.activity, source="session_attendance"
            )
        events.emit("sessions.attended", user=registration.user, session=session)
    realtime.publish(
        f"{session.topic}.attendance",
        "attendance.marked",
        {
            "registration": registration.pk,
            "user": registration.user_id,
            "attendance": registration.attendance,
            "marked_at": registration.attendance_marked_at.isoformat(),
        },
    )
    realtime.publish(session.topic, "attendance.summary", attendance_summary(session=session))
    return registration


# -- self check-in ----------------------------------------------------------------------------
# Checking in this long after the start marks the learner late, not present.
CHECKIN_LATE_AFTER = timedelta(minutes=15)


@transaction.atomic
def checkin(*, actor: Any, session: Session, code: str, now: datetime | None = None) -> CheckIn:
    """The learner checks in themself with the code (or QR code) their trainer shows.

    Only someone with a confirmed seat, with the code of one of the session's dates, from
    15 minutes before that date's start to its end. The first check-in fills their line of
    the sign-in sheet (present, or late 15 minutes after the start) unless a trainer
    already marked it; every open sign-in sheet updates live. Checking in again changes
    nothing.
    """
    session = _locked(session)
    now = now or timezone.now()
    registration = (
        Registration.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(session=session, user_id=actor.pk, status=RegistrationStatus.CONFIRMED)
        .first()
    )
    if registration is None:
        raise PermissionDenied(_("Only learners with a confirmed seat can check in."))
    if session.status == SessionStatus.CANCELLED:
        raise ValidationError(_("This session is cancelled."))
    occurrence = checkin_occurrence(session=session, code=code)
    if occurrence is None:
        raise ValidationError({"code": _("This is not the code of this session.")})
    part, starts_at, ends_at = occurrence
    opens_at = starts_at - ATTENDANCE_OPENS_BEFORE
    if not opens_at <= now < ends_at:
        raise ValidationError(
            {"code": _("Check-in is open from 15 minutes before the start to the end.")}
        )
    existing = registration.check_ins.filter(part=part).first()
    if existing is not None:
        return existing
    check_in = CheckIn.objects.create(registration=registration, part=part, checked_in_at=now)
    if not registration.attendance:
        late = now > starts_at + CHECKIN_LATE_AFTER
        mark = Attendance.LATE if late else Attendance.PRESENT
        _record_attendance(session, registration, mark, by=actor)
    return check_in


# -- parts ------------------------------------------------------------------------------------
def _validate_part(part: SessionPart) -> None:
    if part.ends_at <= part.starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})


def _editable(actor: Any, session: Session) -> Session:
    session = _locked(session)
    if not can_manage_session(user=actor, session=session):
        raise PermissionDenied(_("You cannot change this session."))
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError(_("This session is no longer scheduled."))
    return session


@transaction.atomic
def part_add(
    *, actor: Any, session: Session, starts_at: datetime, ends_at: datetime, location: str = ""
) -> SessionPart:
    """Add a dated part to a multi-part session."""
    session = _editable(actor, session)
    before = schedule_of(session=session)
    part = SessionPart(session=session, starts_at=starts_at, ends_at=ends_at, location=location)
    _validate_part(part)
    part.save()
    _bump_sequence(session)
    _schedule_completion(session)
    _rescheduled(session, before=before, actor=actor)
    _publish_changed(session)
    return part


@transaction.atomic
def part_update(*, actor: Any, part: SessionPart, **fields: Any) -> SessionPart:
    """Move or relocate a part; ``override_reason`` accepts a move into a conflict."""
    session = _editable(actor, part.session)
    override_reason = fields.pop("override_reason", "") or ""
    unknown = set(fields) - {"starts_at", "ends_at", "location"}
    if unknown:
        raise ValidationError({"fields": f"unknown: {', '.join(sorted(unknown))}"})
    part = SessionPart.objects.select_for_update().get(pk=part.pk)
    before = schedule_of(session=session)
    for name, value in fields.items():
        setattr(part, name, value)
    _validate_part(part)
    part.save()
    _bump_sequence(session)
    _schedule_completion(session)
    _rescheduled(session, before=before, actor=actor, override_reason=override_reason)
    _publish_changed(session)
    return part


@transaction.atomic
def part_remove(*, actor: Any, part: SessionPart) -> None:
    session = _editable(actor, part.session)
    before = schedule_of(session=session)
    part.delete()
    _bump_sequence(session)
    _schedule_completion(session)
    _rescheduled(session, before=before, actor=actor)
    _publish_changed(session)


# -- recurring series -------------------------------------------------------------------------
def _shifted(value: datetime | None, days: int, tz: ZoneInfo) -> datetime | None:
    """``value`` moved ``days`` days on the wall clock of ``tz`` (09:00 stays 09:00 over DST)."""
    if value is None:
        return None
    local = value.astimezone(tz)
    return (local + timedelta(days=days)).astimezone(ZoneInfo("UTC"))


@transaction.atomic
def series_create(
    *,
    actor: Any,
    space: Any,
    count: int,
    interval_days: int = 7,
    kind: str,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    trainers: Iterable[Any] = (),
    **fields: Any,
) -> SessionSeries:
    """Schedule ``count`` occurrences, one every ``interval_days`` days (7: weekly).

    Each occurrence is a Session with its own registrations; times repeat on the session's
    own time zone wall clock.
    """
    if not can_schedule_in(user=actor, space=space):
        raise PermissionDenied(_("Only a coordinator of this space can schedule sessions."))
    errors = {}
    if not 1 <= count <= MAX_SERIES_OCCURRENCES:
        errors["count"] = _("A series has 1 to %(n)s occurrences.") % {"n": MAX_SERIES_OCCURRENCES}
    if not 1 <= interval_days <= 366:
        errors["interval_days"] = _("Repeat every 1 to 366 days.")
    if errors:
        raise ValidationError(errors)
    try:
        tz = ZoneInfo(fields.get("time_zone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError({"time_zone": _("Unknown time zone.")}) from None
    trainers = list(trainers)
    series = SessionSeries.objects.create(
        space=space, title=title, interval_days=interval_days, count=count, created_by=actor
    )
    for index in range(count):
        days = index * interval_days
        moved = {
            name: _shifted(fields[name], days, tz)
            for name in TIME_FIELDS
            if name in fields and name not in ("starts_at", "ends_at")
        }
        session = session_create(
            actor=actor,
            space=space,
            kind=kind,
            title=title,
            starts_at=_shifted(starts_at, days, tz),
            ends_at=_shifted(ends_at, days, tz),
            capacity=capacity,
            trainers=trainers,
            **{**fields, **moved},
        )
        Session.objects.filter(pk=session.pk).update(series=series, series_index=index + 1)
    return series


def _scope(session: Session, scope: str) -> list[Session]:
    """The occurrence alone (``one``) or it and every later one of its series (``following``)."""
    if scope not in ("one", "following"):
        raise ValidationError({"scope": _("Choose this occurrence or the following ones.")})
    if scope == "one" or session.series_id is None:
        return [session]
    return list(
        Session.objects.filter(
            series_id=session.series_id,
            starts_at__gte=session.starts_at,
            status=SessionStatus.SCHEDULED,
        ).order_by("starts_at", "id")
    )


@transaction.atomic
def series_update(
    *, actor: Any, session: Session, scope: str = "one", **fields: Any
) -> list[Session]:
    """Change one occurrence or it and the following ones of its series.

    Times move every chosen occurrence by the change made to this one (each keeps its own
    date); other fields are set as given.
    """
    targets = _scope(session, scope)
    shifts = {
        name: fields[name] - getattr(session, name)
        for name in TIME_FIELDS
        if fields.get(name) is not None and getattr(session, name) is not None
    }
    updated = []
    for target in targets:
        own = dict(fields)
        if target.pk != session.pk:
            for name, delta in shifts.items():
                own[name] = getattr(target, name) + delta
        updated.append(session_update(actor=actor, session=target, **own))
    return updated


@transaction.atomic
def series_cancel(*, actor: Any, session: Session, scope: str = "one") -> list[Session]:
    """Cancel one occurrence or it and the following ones of its series."""
    return [session_cancel(actor=actor, session=s) for s in _scope(session, scope)]


# -- notices and reminders (jobs in sessions/tasks.py) ----------------------------------------
NOTICE_VERBS = {
    NoticeKind.CONFIRMED: gettext_lazy("Registered: %(title)s"),
    NoticeKind.WAITLISTED: gettext_lazy("Waiting list, position %(n)s: %(title)s"),
    NoticeKind.PROMOTED: gettext_lazy("A seat is yours: %(title)s"),
    NoticeKind.OFFERED: gettext_lazy("A seat is offered to you until %(until)s: %(title)s"),
    NoticeKind.OFFER_EXPIRING: gettext_lazy("Your seat offer expires at %(until)s: %(title)s"),
    NoticeKind.CANCELLED: gettext_lazy("Cancelled by the organiser: %(title)s"),
    NoticeKind.MANAGER_CANCELLED: gettext_lazy("%(by)s cancelled your registration: %(title)s"),
    NoticeKind.REMINDER: gettext_lazy("Reminder: %(title)s starts at %(start)s"),
}
NOTIFICATION_KIND = {
    NoticeKind.CONFIRMED: "session_registration",
    NoticeKind.WAITLISTED: "session_registration",
    NoticeKind.PROMOTED: "session_promoted",
    NoticeKind.OFFERED: "session_promoted",
    NoticeKind.OFFER_EXPIRING: "session_promoted",
    NoticeKind.CANCELLED: "session_cancelled",
    NoticeKind.MANAGER_CANCELLED: "session_registration",
    NoticeKind.REMINDER: "session_reminder",
}


def _notice_due(registration: Registration, kind: str, now: datetime) -> bool:
    """Is the notice still true? (A job may run late: an offer taken is not 'expiring'.)"""
    session = registration.session
    status = registration.status
    if kind == NoticeKind.CONFIRMED or kind == NoticeKind.PROMOTED:
        return status == RegistrationStatus.CONFIRMED
    if kind == NoticeKind.WAITLISTED:
        return status == RegistrationStatus.WAITLISTED
    if kind == NoticeKind.OFFERED:
        return status == RegistrationStatus.OFFERED
    if kind == NoticeKind.OFFER_EXPIRING:
        return status == RegistrationStatus.OFFERED and (
            registration.offer_expires_at is not None and now < registration.offer_expires_at
        )
    if kind in (NoticeKind.CANCELLED, NoticeKind.MANAGER_CANCELLED):
        return status == RegistrationStatus.CANCELLED
    if kind == NoticeKind.REMINDER:
        return (
            status == RegistrationStatus.CONFIRMED
            and session.status == SessionStatus.SCHEDULED
            and session.reminder_hours > 0
            and session.starts_at - timedelta(hours=session.reminder_hours) <= now
            and now < session.starts_at
        )
    return False


def notice_send(*, registration_id: int, kind: str) -> bool:
    """Send one notice once: a ``NoticeSent`` row is claimed in the same transaction.

    Of two runs of the same job (or two workers), one sends; a notice no longer true when
    the job runs (a seat taken before 'offer expiring') is not sent. True if sent.

    Lock order: the registration row first, then the recipients' notification topics
    (``notify``), as every registration service does (session row, registration row, the
    session's topic, then people's topics). Taking the topic first deadlocked with a
    cancellation: the NoticeSent row's foreign key is checked at commit, so the job then
    waited for the registration row that the cancellation held while waiting for the topic.
    Locked, the registration is also read as it is now, not as before a cancellation that
    was committing meanwhile.
    """
    if kind not in NoticeKind.values:
        raise ValueError(kind)
    now = timezone.now()
    try:
        with transaction.atomic():
            registration = (
                Registration.objects.select_for_update(of=("self",))
                .select_related("session", "user", "cancelled_by")
                .filter(pk=registration_id)
                .first()
            )
            if registration is None or not _notice_due(registration, kind, now):
                return False
            NoticeSent.objects.create(registration=registration, kind=kind)
            session = registration.session
            # In the learner's own zone (else the session's), named: the toast, the page and
            # the e-mail then agree on the hour (the one date policy, hub/dates.py).
            zone = registration.user.time_zone or session.time_zone
            until = registration.offer_expires_at
            by = registration.cancelled_by
            verb = NOTICE_VERBS[NoticeKind(kind)] % {
                "by": by.name if by else "",
                "title": session.title,
                "n": registration.position,
                "until": format_for(until, zone=zone) if until else "",
                "start": format_for(session.starts_at, zone=zone),
            }
            recipients = [registration.user]
            if kind in (NoticeKind.CONFIRMED, NoticeKind.WAITLISTED):
                recipients += list(managers_of(user=registration.user))
            if kind == NoticeKind.MANAGER_CANCELLED and by is not None:
                actor = by
            else:
                actor = registration.registered_by or session.space
            notify(
                recipients=recipients,
                kind=NOTIFICATION_KIND[NoticeKind(kind)],
                verb=verb,
                actor=actor,
                target=session,
                url=session_url(session),
            )
            if kind in (NoticeKind.CONFIRMED, NoticeKind.PROMOTED):
                # A seat is theirs: calendars/ sends the calendar invitation (it listens;
                # sessions does not depend on it). Once, as this notice.
                events.emit("sessions.seat_confirmed", registration_id=registration.pk)
    except IntegrityError:
        return False  # already sent by another run
    return True


def reminders_send(*, session_id: int) -> int:
    """Remind every confirmed attendee of a session whose reminder time has come."""
    ids = Registration.objects.filter(
        session_id=session_id, status=RegistrationStatus.CONFIRMED
    ).exclude(notices__kind=NoticeKind.REMINDER)
    return sum(
        notice_send(registration_id=pk, kind=NoticeKind.REMINDER)
        for pk in list(ids.values_list("pk", flat=True))
    )


def reminders_sweep(*, now: datetime | None = None) -> int:
    """Send every reminder that is due and not sent yet (run by ``manage.py sessions_sweep``)."""
    now = now or timezone.now()
    soon = Session.objects.filter(
        status=SessionStatus.SCHEDULED,
        reminder_hours__gt=0,
        starts_at__gt=now,
        starts_at__lte=now + timedelta(hours=MAX_REMINDER_HOURS),
    ).only("pk", "starts_at", "reminder_hours")
    due = [s.pk for s in soon if s.starts_at - timedelta(hours=s.reminder_hours) <= now]
    return sum(reminders_send(session_id=pk) for pk in due)


def offer_reminders_sweep(*, now: datetime | None = None) -> int:
    """'Offer expiring' notices whose time has come and that no job sent (the safety net)."""
    now = now or timezone.now()
    offers = Registration.objects.filter(
        status=RegistrationStatus.OFFERED, offer_expires_at__gt=now
    ).exclude(notices__kind=NoticeKind.OFFER_EXPIRING)
    sent = 0
    for registration in offers:
        if _offer_expiring_at(registration) <= now:
            sent += notice_send(registration_id=registration.pk, kind=NoticeKind.OFFER_EXPIRING)
    return sent


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Everything time-driven that a lost job could leave hanging."""
    return {
        "offers_expired": offers_sweep(now=now),
        "offer_reminders": offer_reminders_sweep(now=now),
        "reminders": reminders_sweep(now=now),
        "completed": completions_sweep(now=now),
        "reservations_released": reservations_sweep(now=now),
    }


def _offer_expiring_at(registration: Registration) -> datetime:
    assert registration.offered_at and registration.offer_expires_at
    window = registration.offer_expires_at - registration.offered_at
    return registration.offer_expires_at - min(OFFER_EXPIRING_LEAD, window / 2)


def _enqueue_notices(
    registration_ids: list[int], kind: str, run_after: datetime | None = None
) -> None:
    if not registration_ids:
        return
    from sessions.tasks import send_notices

    job = send_notices.using(run_after=run_after) if run_after else send_notices
    transaction.on_commit(lambda: job.enqueue(registration_ids, str(kind)))


def _schedule_reminders(session: Session) -> None:
    """Queue the reminder job for its time (it checks the time again when it runs)."""
    if session.reminder_hours <= 0:
        return
    remind_at = session.starts_at - timedelta(hours=session.reminder_hours)
    if remind_at <= timezone.now():
        return  # too late to schedule: the sweep sends it
    from sessions.tasks import send_reminders

    session_id = session.pk
    transaction.on_commit(lambda: send_reminders.using(run_after=remind_at).enqueue(session_id))


def _schedule_completion(session: Session) -> None:
    """Queue the job that marks the session completed at its last part's end (it checks
    the time again when it runs: a session moved later is done by the job of its new end)."""
    from sessions.tasks import complete_session

    session_id, ends_at = session.pk, last_end(session=session)
    transaction.on_commit(lambda: complete_session.using(run_after=ends_at).enqueue(session_id))


def _schedule_offer(registration: Registration) -> None:
    from sessions.tasks import expire_offer

    registration_id, expires_at = registration.pk, registration.offer_expires_at
    transaction.on_commit(lambda: expire_offer.using(run_after=expires_at).enqueue(registration_id))
    _enqueue_notices([registration.pk], NoticeKind.OFFERED)
    _enqueue_notices(
        [registration.pk], NoticeKind.OFFER_EXPIRING, run_after=_offer_expiring_at(registration)
    )


# -- internals --------------------------------------------------------------------------------
def _locked(session: Session) -> Session:
    """The session row, locked; its space comes along unlocked (``of=self``: a lock on the
    space row would queue every session of the space behind each other)."""
    return (
        Session.objects.select_for_update(of=("self",)).select_related("space").get(pk=session.pk)
    )


def _next_revision(*, session: Session, user: Any) -> int:
    """A new registration starts above the attendee's earlier ones of the session, so the
    SEQUENCE of their calendar entry keeps rising across cancel and re-register."""
    last = session.registrations.filter(user=user).aggregate(last=Max("revision"))["last"]
    return 0 if last is None else last + 1


def _bump_sequence(session: Session) -> None:
    """iCal SEQUENCE: calendars see that the event changed."""
    Session.objects.filter(pk=session.pk).update(sequence=F("sequence") + 1)
    session.sequence += 1


def _rescheduled(
    session: Session, *, before: list, actor: Any, sync: bool = True, override_reason: str = ""
) -> None:
    """After a change of a session or its parts: if a date or a place moved, every
    confirmed attendee gets an in-app notice saying what changed, and calendars/ (which
    listens) e-mails the updated invitation (REQUEST, higher SEQUENCE). Its bookings
    follow first (unless the caller just wrote them: ``sync=False``): a move into a
    conflict is refused (nothing changes)."""
    if sync:
        _sync_bookings(session, override_reason=override_reason, actor=actor)
    after = schedule_of(session=session)
    changes = schedule_changes(before=before, after=after, time_zone=session.time_zone)
    if not changes:
        return
    attendees = list(
        session.registrations.filter(status=RegistrationStatus.CONFIRMED).select_related("user")
    )
    if attendees:
        notify(
            recipients=[r.user for r in attendees],
            kind="session_changed",
            verb=_("Schedule changed: %(title)s") % {"title": session.title},
            actor=actor,
            target=session,
            description="\n".join(changes),
            url=session_url(session),
        )
    events.emit("sessions.rescheduled", session_id=session.pk, changes=changes)


def _publish_changed(session: Session) -> None:
    realtime.publish(
        session.topic,
        "session.changed",
        {
            "id": session.pk,
            "sequence": session.sequence,
            "status": session.status,
            "starts_at": session.starts_at.isoformat(),
            "ends_at": session.ends_at.isoformat(),
            "parts": [part_payload(p) for p in session.parts.all()],
        },
    )


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
    events.emit(
        "sessions.waitlisted" if registration.position else "sessions.registered",
        user=registration.user,
        session=session,
        registration=registration,
    )
    _enqueue_notices(
        [registration.pk],
        NoticeKind.CONFIRMED
        if registration.status == RegistrationStatus.CONFIRMED
        else NoticeKind.WAITLISTED,
    )
    if registration.status == RegistrationStatus.CONFIRMED:
        _learners_changed(session, [registration.user_id])


def _fill_seats(
    session: Session, *, actor: Any | None, limit: int | None = None
) -> list[Registration]:
    """Give free seats to the heads of the waiting list; never once the session started.

    With a claim window the seat is offered (it counts as taken until the offer is accepted,
    declined or expires); without one the head is promoted at once.
    """
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
        registration.position = None
        registration.revision += 1  # the attendee's calendar entry changes (TENTATIVE...)
        if session.claim_hours:
            registration.status = RegistrationStatus.OFFERED
            registration.offered_at = now
            registration.offer_expires_at = min(
                now + timedelta(hours=session.claim_hours), session.starts_at
            )
            registration.save(
                update_fields=["status", "position", "offered_at", "offer_expires_at", "revision"]
            )
            _log(session, "registration.offered", registration_payload(registration))
            _schedule_offer(registration)
        else:
            registration.status = RegistrationStatus.CONFIRMED
            registration.promoted_at = now
            registration.save(update_fields=["status", "position", "promoted_at", "revision"])
            _log(session, "registration.promoted", registration_payload(registration))
            events.emit(
                "sessions.promoted",
                user=registration.user,
                session=session,
                registration=registration,
            )
        _push_position(registration)
    promoted = [r.pk for r in heads if r.status == RegistrationStatus.CONFIRMED]
    _enqueue_notices(promoted, NoticeKind.PROMOTED)
    _learners_changed(
        session, [r.user_id for r in heads if r.status == RegistrationStatus.CONFIRMED]
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
            "offer_expires_at": _iso(registration.offer_expires_at),
        },
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _log(session: Session, type_: str, data: dict[str, Any]) -> SessionEvent:
    """A durable event of the session's topic (callers hold the topic order first)."""
    realtime.hold_topic_order(session.topic)
    event = SessionEvent.objects.create(session=session, type=type_, data=data)
    realtime.publish(session.topic, type_, data, id=event.pk)
    return event


def _publish_state(session: Session) -> None:
    _sync_live_class(session)
    realtime.publish(session.topic, "session.seats", seats_state(session=session))


def _sync_live_class(session: Session) -> None:
    """A virtual class is held in Lyceum's live classroom (classrooms): its trainers, dates
    and confirmed attendees follow the session, and the session's join link points at the
    room unless the coordinator gave the link of another tool."""
    if session.kind != SessionKind.VIRTUAL or session.status != SessionStatus.SCHEDULED:
        return
    live_class = liveclass_for_session(
        session_key=f"sessions.session.{session.pk}",
        space=session.space,
        title=session.title,
        trainers=session.trainers.all(),
        attendees=[
            r.user
            for r in session.registrations.filter(
                status=RegistrationStatus.CONFIRMED
            ).select_related("user")
        ],
        course=session.course,
        scheduled_start=session.starts_at,
        scheduled_end=session.ends_at,
    )
    if not session.join_url:
        session.join_url = settings.SITE_URL + live_class.get_absolute_url()
        Session.objects.filter(pk=session.pk).update(join_url=session.join_url)


def _close_live_class(session: Session) -> None:
    """The session was cancelled or is no longer a virtual class: its live class (if it had
    one) ends and lets nobody in, and the join link that pointed at it goes."""
    live_class = liveclass_close_for_session(session_key=f"sessions.session.{session.pk}")
    if live_class is None:
        return
    if session.join_url == settings.SITE_URL + live_class.get_absolute_url():
        session.join_url = ""
        Session.objects.filter(pk=session.pk).update(join_url="")


def _notify_approvers(*, session: Session, registration: Registration) -> None:
    if session.approval == Approval.MANAGER:
        approvers = list(managers_of(user=registration.user))
    else:
        approvers = []
    if not approvers:
        from hub.accounts.models import User

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


# -- rooms, assets, bookings --------------------------------------------------------------------
class BookingConflict(ValidationError):
    """A resource is taken at that time (REST: 409 ``conflict``; pages: an error message
    with the override field)."""


def _require_scheduler(actor: Any, space: Any) -> None:
    if not can_schedule_in(user=actor, space=space):
        raise PermissionDenied(_("Only a coordinator of this space can manage its rooms."))


@transaction.atomic
def room_create(
    *,
    actor: Any,
    space: Any,
    name: str,
    capacity: int,
    site: str = "",
    address: str = "",
    equipment: str = "",
) -> Room:
    """A room of the space (coordinators)."""
    _require_scheduler(actor, space)
    if not name.strip():
        raise ValidationError({"name": _("Name the room.")})
    if capacity is None or capacity < 1:
        raise ValidationError({"capacity": _("A room seats at least one person.")})
    if Room.objects.filter(space=space, site=site.strip(), name=name.strip()).exists():
        raise ValidationError({"name": _("This site already has a room of that name.")})
    return Room.objects.create(
        space=space,
        name=name.strip(),
        capacity=capacity,
        site=site.strip(),
        address=address.strip(),
        equipment=equipment.strip(),
    )


@transaction.atomic
def asset_create(*, actor: Any, space: Any, name: str, description: str = "") -> Asset:
    """A bookable asset of the space (coordinators)."""
    _require_scheduler(actor, space)
    if not name.strip():
        raise ValidationError({"name": _("Name the asset.")})
    return Asset.objects.create(space=space, name=name.strip(), description=description.strip())


def _occurrence(session: Session, part: SessionPart | None) -> tuple[datetime, datetime]:
    return (part.starts_at, part.ends_at) if part else (session.starts_at, session.ends_at)


def _refuse_or_accept(
    conflicts: list[Booking], override_reason: str, unavailable: list[Any] = ()
) -> set[str]:
    """The resources in conflict (bookings that overlap, and trainers booked outside their
    working hours); refused (``conflict``) unless a reason is given."""
    if (conflicts or unavailable) and not override_reason.strip():
        raise BookingConflict(
            {
                "conflicts": [conflict_message(b) for b in conflicts]
                + [availability_message(t) for t in unavailable]
            }
        )
    return {b.resource for b in conflicts} | {trainer_key(t.pk) for t in unavailable}


def _insert_bookings(rows: list[Booking]) -> None:
    """Insert; PostgreSQL's exclusion constraint refuses a clean booking that overlaps one
    committed meanwhile by someone else (both checks saw a free room): a clear conflict."""
    try:
        with transaction.atomic():
            Booking.objects.bulk_create(rows)
    except IntegrityError:
        raise BookingConflict(
            {"conflicts": [_("Someone booked the same resource at the same time: try again.")]}
        ) from None


@transaction.atomic
def occurrence_book(
    *,
    actor: Any,
    session: Session,
    part: SessionPart | None = None,
    room: Room | None = None,
    assets: Iterable[Asset] = (),
    override_reason: str = "",
) -> list[Booking]:
    """Hold a room, assets and the session's trainers for one dated occurrence (the
    session's own dates, or ``part``), replacing what it held.

    A resource already held at an overlapping time (or a trainer's time off) is refused
    with a ``conflict`` listing them, unless ``override_reason`` says why it is accepted
    anyway (recorded with who accepted it, and shown on the conflicts page). The room's
    capacity bounds the session's seats; its place becomes the occurrence's location, so
    attendees get the updated invitation.
    """
    session = _editable(actor, session)
    if part is not None and part.session_id != session.pk:
        raise ValidationError({"part": _("This part belongs to another session.")})
    assets = list(assets)
    errors: dict[str, str] = {}
    if room is not None and (room.space_id != session.space_id or not room.active):
        errors["room"] = _("Choose a bookable room of this space.")
    if any(a.space_id != session.space_id or not a.active for a in assets):
        errors["assets"] = _("Choose bookable assets of this space.")
    if room is not None and room.capacity < session.capacity:
        errors["room"] = _("%(room)s seats %(n)s: lower the session's capacity first.") % {
            "room": room.name,
            "n": room.capacity,
        }
    starts_at, ends_at = _occurrence(session, part)
    if ends_at - starts_at > MAX_BOOKING:
        errors["ends_at"] = _("A booking lasts 31 days at most.")
    if errors:
        raise ValidationError(errors)
    before = schedule_of(session=session)
    Booking.objects.filter(session=session, part=part).delete()
    keys = [room_key(room.pk)] if room else []
    keys += [asset_key(a.pk) for a in assets]
    trainer_ids = list(session.trainers.values_list("pk", flat=True))
    keys += [trainer_key(pk) for pk in trainer_ids]
    conflicts = list(overlapping_bookings(keys=keys, starts_at=starts_at, ends_at=ends_at))
    unavailable = outside_availability(
        trainer_ids=trainer_ids, starts_at=starts_at, ends_at=ends_at
    )
    contested = _refuse_or_accept(conflicts, override_reason, unavailable)
    reason = override_reason.strip()[:255]
    rows = [
        Booking(
            space_id=session.space_id,
            kind=BookingKind.SESSION,
            resource=key,
            session=session,
            part=part,
            room=room if key.startswith("room:") else None,
            asset=next((a for a in assets if asset_key(a.pk) == key), None),
            trainer_id=int(key.split(":")[1]) if key.startswith("trainer:") else None,
            starts_at=starts_at,
            ends_at=ends_at,
            override_reason=reason if key in contested else "",
            overridden_by=actor if key in contested else None,
        )
        for key in keys
    ]
    _insert_bookings(rows)
    if room is not None:
        target = part or session
        if target.location != room.place:
            target.location = room.place
            target.save(update_fields=["location"])
            _bump_sequence(session)
            _rescheduled(session, before=before, actor=actor, sync=False)
            _publish_changed(session)
    _publish_conflicts(session.space_id)
    return rows


def _sync_bookings(session: Session, *, override_reason: str = "", actor: Any = None) -> None:
    """After a session or a part moved (or its trainers changed): its bookings follow, and
    a move into a conflict (an overlapping booking, or a trainer outside their working
    hours) is refused unless the booking was accepted over one or ``override_reason`` says
    why it is accepted now (recorded with ``actor`` on the resources in conflict)."""
    booked = occurrence_bookings(session=session)
    if not booked:
        return
    parts = {p.pk: p for p in session.parts.all()}
    trainer_ids = sorted(session.trainers.values_list("pk", flat=True))
    trainer_keys = {trainer_key(pk) for pk in trainer_ids}
    reason_now = override_reason.strip()[:255]
    rows: list[Booking] = []
    conflicts: list[Booking] = []
    unavailable: dict[int, Any] = {}
    for part_id, bookings in booked.items():
        part = parts.get(part_id) if part_id else None
        starts_at, ends_at = _occurrence(session, part)
        kept = [b for b in bookings if not b.resource.startswith("trainer:")]
        reasons = {b.resource: (b.override_reason, b.overridden_by_id) for b in bookings}
        keys = [b.resource for b in kept] + sorted(trainer_keys)
        mine = Q(session=session)
        found = overlapping_bookings(keys=keys, starts_at=starts_at, ends_at=ends_at, exclude=mine)
        contested = set()
        for other in found:
            if not reasons.get(other.resource, ("", None))[0]:
                conflicts.append(other)
                contested.add(other.resource)
        for trainer in outside_availability(
            trainer_ids=trainer_ids, starts_at=starts_at, ends_at=ends_at
        ):
            if not reasons.get(trainer_key(trainer.pk), ("", None))[0]:
                unavailable[trainer.pk] = trainer
                contested.add(trainer_key(trainer.pk))
        for key in keys:
            old = next((b for b in kept if b.resource == key), None)
            reason, by = reasons.get(key, ("", None))
            if key in contested and reason_now:
                reason, by = reason_now, getattr(actor, "pk", None)
            rows.append(
                Booking(
                    space_id=session.space_id,
                    kind=BookingKind.SESSION,
                    resource=key,
                    session=session,
                    part_id=part_id,
                    room_id=old.room_id if old else None,
                    asset_id=old.asset_id if old else None,
                    trainer_id=int(key.split(":")[1]) if key.startswith("trainer:") else None,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    override_reason=reason,
                    overridden_by_id=by,
                )
            )
    _refuse_or_accept(conflicts, override_reason, list(unavailable.values()))
    session.bookings.all().delete()
    _insert_bookings(rows)
    _publish_conflicts(session.space_id)


@transaction.atomic
def time_off_add(
    *,
    actor: Any,
    trainer: Any,
    space: Any,
    starts_at: datetime,
    ends_at: datetime,
    note: str = "",
    override_reason: str = "",
) -> Booking:
    """A trainer's time off (themself, or a coordinator of the space): their sessions then
    conflict with it; time off over a session they teach is refused unless a reason is
    given."""
    if actor.pk != trainer.pk:
        _require_scheduler(actor, space)
    elif not is_space_member(user=actor, space=space):
        raise PermissionDenied(_("You are not a member of this space."))
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    if ends_at - starts_at > MAX_BOOKING:
        raise ValidationError({"ends_at": _("A booking lasts 31 days at most.")})
    key = trainer_key(trainer.pk)
    conflicts = list(overlapping_bookings(keys=[key], starts_at=starts_at, ends_at=ends_at))
    contested = _refuse_or_accept(conflicts, override_reason)
    row = Booking(
        space=space,
        kind=BookingKind.TIME_OFF,
        resource=key,
        trainer=trainer,
        starts_at=starts_at,
        ends_at=ends_at,
        note=note.strip()[:255],
        override_reason=override_reason.strip()[:255] if contested else "",
        overridden_by=actor if contested else None,
    )
    _insert_bookings([row])
    _publish_conflicts(space.pk)
    return row


def _publish_conflicts(space_id: int) -> None:
    """The coordinators' conflicts page refetches (ephemeral: the list is the state)."""
    realtime.publish(f"sessions.conflicts.{space_id}", "conflicts.changed", {"space": space_id})


def _learners_changed(session: Session, user_ids: Iterable[int]) -> None:
    """A seat of ``session`` was confirmed or lost for these learners: where one of them
    holds another confirmed seat at an overlapping scheduled session, who is booked twice
    changed, so the conflicts card and page of both sessions' spaces refetch (one query;
    nothing is published for a learner with no overlapping seat)."""
    ids = [pk for pk in user_ids if pk]
    if not ids:
        return
    spaces = set(
        Session.objects.filter(
            registrations__user_id__in=ids,
            registrations__status=RegistrationStatus.CONFIRMED,
            status=SessionStatus.SCHEDULED,
            starts_at__lt=session.ends_at,
            ends_at__gt=session.starts_at,
        )
        .exclude(pk=session.pk)
        .values_list("space_id", flat=True)
        .distinct()
    )
    if spaces:
        spaces.add(session.space_id)
    for space_id in sorted(spaces):
        _publish_conflicts(space_id)


# -- feedback surveys ---------------------------------------------------------------------------
MAX_QUESTIONS = 20


def _clean_questions(questions: Any) -> list[dict[str, str]]:
    if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_QUESTIONS:
        raise ValidationError(
            {"questions": _("A survey has 1 to %(n)s questions.") % {"n": MAX_QUESTIONS}}
        )
    cleaned = []
    for index, question in enumerate(questions, start=1):
        kind = question.get("kind") if isinstance(question, dict) else None
        label = str(question.get("label", "")).strip()[:300] if isinstance(question, dict) else ""
        if kind not in ("rating", "text") or not label:
            raise ValidationError(
                {"questions": _("Each question is a rating or a text, with a label.")}
            )
        cleaned.append({"id": f"q{index}", "kind": kind, "label": label})
    return cleaned


@transaction.atomic
def survey_template_create(
    *,
    actor: Any,
    space: Any,
    title: str,
    questions: list[dict[str, str]],
    anonymous: bool = False,
    is_default: bool = False,
) -> SurveyTemplate:
    """A feedback survey of the space (coordinators); the default goes to every session of
    the space that names no other."""
    _require_scheduler(actor, space)
    if not title.strip():
        raise ValidationError({"title": _("Name the survey.")})
    cleaned = _clean_questions(questions)
    if is_default:
        SurveyTemplate.objects.filter(space=space, is_default=True).update(is_default=False)
    return SurveyTemplate.objects.create(
        space=space,
        title=title.strip()[:200],
        questions=cleaned,
        anonymous=anonymous,
        is_default=is_default,
        created_by=actor,
    )


@transaction.atomic
def session_set_survey(*, actor: Any, session: Session, template: SurveyTemplate | None) -> None:
    session = _editable(actor, session)
    if template is not None and template.space_id != session.space_id:
        raise ValidationError({"template": _("Choose a survey of this space.")})
    session.survey_template = template
    session.save(update_fields=["survey_template"])


def _send_survey(session: Session) -> None:
    """At the end (``session_complete``): ask each confirmed attendee for feedback."""
    if survey_of(session=session) is None:
        return
    attendees = [
        r.user
        for r in session.registrations.filter(status=RegistrationStatus.CONFIRMED).select_related(
            "user"
        )
    ]
    if attendees:
        notify(
            recipients=attendees,
            kind="session_feedback",
            verb=_("How was it? Tell us about “%(title)s”") % {"title": session.title},
            actor=session.space,
            target=session,
            url=session_url(session) + "feedback/",
        )


@transaction.atomic
def survey_answer(*, actor: Any, session: Session, answers: dict[str, Any]) -> SurveyResponse:
    """A confirmed attendee answers the survey of a completed session, once. Ratings are
    1-5, texts up to 2,000 characters; an anonymous survey stores no name with the answers."""
    session = _locked(session)
    template = survey_of(session=session)
    if template is None:
        raise ValidationError(_("This session has no survey."))
    if session.status != SessionStatus.COMPLETED:
        raise ValidationError(_("The survey opens when the session is over."))
    if not session.registrations.filter(
        user_id=actor.pk, status=RegistrationStatus.CONFIRMED
    ).exists():
        raise PermissionDenied(_("Only the session's attendees answer its survey."))
    if not isinstance(answers, dict):
        raise ValidationError({"answers": _("Answer the questions.")})
    cleaned: dict[str, Any] = {}
    for question in template.questions:
        value = answers.get(question["id"])
        if question["kind"] == "rating":
            if value in (None, ""):
                continue
            try:
                rating = int(value)
            except (TypeError, ValueError):
                rating = 0
            if not 1 <= rating <= 5:
                raise ValidationError({question["id"]: _("Rate from 1 to 5.")})
            cleaned[question["id"]] = rating
        elif value:
            cleaned[question["id"]] = sanitize.plain(str(value))[:2000]
    if not cleaned:
        raise ValidationError({"answers": _("Answer at least one question.")})
    try:
        with transaction.atomic():
            SurveyRespondent.objects.create(session=session, user=actor)
    except IntegrityError:
        raise ValidationError(_("You already answered this survey.")) from None
    response = SurveyResponse.objects.create(
        session=session,
        template=template,
        user=None if template.anonymous else actor,
        answers=cleaned,
    )
    realtime.publish(session.topic, "feedback.received", {"responses": session.respondents.count()})
    return response


# -- manager seat reservations ------------------------------------------------------------------
class SeatConflict(ValidationError):
    """Not enough free seats (REST: 409 ``conflict``; pages: an error message)."""


MAX_RESERVATION = 500


def _reservations_changed(session: Session) -> None:
    """Coordinators' session page follows ``sessions.reservations.<id>`` (ephemeral: the
    list is the state); the seat counters follow on the session's topic."""
    realtime.publish(
        f"sessions.reservations.{session.pk}",
        "reservations.changed",
        {"session": session.pk, "reservations": reservations_payload(session=session)},
    )


@transaction.atomic
def reservation_reserve(
    *, actor: Any, session: Session, seats: int, deadline: datetime
) -> SeatReservation:
    """A manager holds ``seats`` seats of the session for their team, to name people by
    ``deadline`` (at the latest the start). Reserving again adds seats (and sets the new
    deadline). Fewer free seats than asked: a ``conflict``, nothing held.

    Under the session's row lock, as every seat change: two managers asking for the last
    seats at once queue, and the second finds them taken."""
    session = _locked(session)
    if not may_reserve_for_team(user=actor, session=session):
        raise PermissionDenied(_("Only a manager of people of this space can reserve seats."))
    _refuse_if_over(session)
    if session.status != SessionStatus.SCHEDULED or session.has_started:
        raise ValidationError(_("This session is not open for registration."))
    if is_coaching_slot(session_id=session.pk):
        raise ValidationError(_("A coaching slot is booked by the learner, not reserved."))
    now = timezone.now()
    errors: dict[str, str] = {}
    if seats is None or not 1 <= seats <= MAX_RESERVATION:
        errors["seats"] = _("Reserve 1 to %(n)s seats.") % {"n": MAX_RESERVATION}
    if deadline is None or not now < deadline <= session.starts_at:
        errors["deadline"] = _("Name people by a time between now and the session's start.")
    if errors:
        raise ValidationError(errors)
    free = seats_state(session=session)["seats_left"]
    if free < seats:
        raise SeatConflict({"seats": _("Only %(n)s seats are free: reserve fewer.") % {"n": free}})
    reservation = (
        SeatReservation.objects.select_for_update().filter(session=session, manager=actor).first()
    )
    if reservation is None:
        reservation = SeatReservation(session=session, manager=actor, seats=0, held=0)
    reservation.seats += seats
    reservation.held += seats
    reservation.deadline = deadline
    reservation.released_at = None
    reservation.save()
    session.reserved_seats += seats
    Session.objects.filter(pk=session.pk).update(reserved_seats=session.reserved_seats)
    _schedule_release(reservation)
    _reservations_changed(session)
    _publish_state(session)
    return reservation


@transaction.atomic
def reservation_name(*, actor: Any, reservation: SeatReservation, user: Any) -> Registration:
    """Give one of the reservation's seats to a report of its manager: a confirmed
    registration (the notice and the calendar invitation follow). The manager (or a
    coordinator of the session) names, until the deadline and the start."""
    session = _locked(reservation.session)
    reservation = SeatReservation.objects.select_for_update().get(pk=reservation.pk)
    if actor.pk != reservation.manager_id and not can_manage_session(user=actor, session=session):
        raise PermissionDenied(_("This reservation is someone else's."))
    if not _is_manager(reservation.manager, user) or not is_space_member(
        user=user, space=session.space_id
    ):
        raise PermissionDenied(_("Name people of the manager's team in this space."))
    _refuse_if_over(session)
    now = timezone.now()
    if session.status != SessionStatus.SCHEDULED or now >= session.starts_at:
        raise ValidationError(_("This session is not open for registration."))
    if reservation.released_at is not None or now >= reservation.deadline:
        raise ValidationError(_("The deadline has passed: the seats went back to everyone."))
    if reservation.held <= 0:
        raise ValidationError(_("Every reserved seat is named: reserve more first."))
    registration = (
        Registration.objects.select_for_update()
        .filter(session=session, user=user)
        .exclude(status=RegistrationStatus.CANCELLED)
        .first()
    )
    realtime.hold_topic_order(session.topic)
    was_waiting = False
    # The session's approval rule stands: whoever names someone they may not approve
    # (a manager where a coordinator approves) leaves them awaiting approval, holding the
    # reserved seat. On the waiting list already: approved (or no approval needed) before.
    waits = _needs_approval(session=session, actor=actor, user=user)
    if registration is not None:
        if registration.status in (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED):
            raise ValidationError(_("%(name)s already has a seat.") % {"name": user.name})
        if registration.status == RegistrationStatus.PENDING and registration.reservation_id:
            raise ValidationError(
                _("%(name)s already holds a reserved seat, awaiting approval.")
                % {"name": user.name}
            )
        # Waiting or awaiting approval: the reserved seat is theirs now.
        was_waiting = registration.status == RegistrationStatus.WAITLISTED
        waits = waits and not was_waiting
        registration.revision += 1
    else:
        registration = Registration(
            session=session,
            user=user,
            revision=_next_revision(session=session, user=user),
        )
    registration.status = RegistrationStatus.PENDING if waits else RegistrationStatus.CONFIRMED
    registration.position = None
    registration.registered_by = actor
    registration.reservation = reservation
    registration.save()
    reservation.held -= 1
    reservation.save(update_fields=["held"])
    if not waits:
        # Awaiting approval, the seat stays counted as reserved (``reserved_seats``) and
        # is theirs: approved, it becomes their seat; declined, it goes back.
        session.reserved_seats -= 1
        Session.objects.filter(pk=session.pk).update(reserved_seats=session.reserved_seats)
    _log(session, "registration.created", registration_payload(registration))
    _push_position(registration)
    if was_waiting:
        _renumber(session)
    if waits:
        _notify_approvers(session=session, registration=registration)
    else:
        _enqueue_notices([registration.pk], NoticeKind.CONFIRMED)
        _learners_changed(session, [registration.user_id])
    _reservations_changed(session)
    _publish_state(session)
    return registration


def _reserved_seat_back(session: Session, registration: Registration, *, actor: Any) -> None:
    """A person named from a reservation and awaiting approval was declined (or withdrew):
    the seat goes back to the reservation while it still holds seats, or to everyone (the
    waiting list moves up) once it was released."""
    reservation = SeatReservation.objects.select_for_update().get(pk=registration.reservation_id)
    if reservation.released_at is None and timezone.now() < reservation.deadline:
        reservation.held += 1
        reservation.save(update_fields=["held"])
    else:
        session.reserved_seats = max(session.reserved_seats - 1, 0)
        Session.objects.filter(pk=session.pk).update(reserved_seats=session.reserved_seats)
        _fill_seats(session, actor=actor)
    _reservations_changed(session)


@transaction.atomic
def reservation_release(*, actor: Any, reservation: SeatReservation) -> SeatReservation:
    """The manager (or a coordinator) gives the seats not named back now."""
    session = _locked(reservation.session)
    if actor.pk != reservation.manager_id and not can_manage_session(user=actor, session=session):
        raise PermissionDenied(_("This reservation is someone else's."))
    reservation = SeatReservation.objects.select_for_update().get(pk=reservation.pk)
    if reservation.released_at is not None:
        raise ValidationError(_("These seats already went back."))
    _release(session, reservation, actor=actor)
    return reservation


@transaction.atomic
def reservation_expire(*, reservation_id: int, now: datetime | None = None) -> bool:
    """At the deadline the seats not named go back to the pool and the waiting list moves
    up. Idempotent: False when nothing was due (released, moved later, all named)."""
    now = now or timezone.now()
    reservation = SeatReservation.objects.filter(pk=reservation_id).first()
    if reservation is None:
        return False
    session = _locked(reservation.session)
    reservation = SeatReservation.objects.select_for_update().get(pk=reservation_id)
    if reservation.released_at is not None or now < reservation.deadline:
        return False
    _release(session, reservation, actor=None, now=now)
    return True


def _release(
    session: Session, reservation: SeatReservation, *, actor: Any, now: datetime | None = None
) -> None:
    """Free the held seats (both rows locked by the caller), then fill them from the list."""
    freed = reservation.held
    reservation.held = 0
    reservation.released_at = now or timezone.now()
    reservation.save(update_fields=["held", "released_at"])
    session.reserved_seats = max(session.reserved_seats - freed, 0)
    Session.objects.filter(pk=session.pk).update(reserved_seats=session.reserved_seats)
    if freed:
        _fill_seats(session, actor=actor)
    _reservations_changed(session)
    _publish_state(session)


def reservations_sweep(*, now: datetime | None = None) -> int:
    """Release every reservation past its deadline that no job released."""
    now = now or timezone.now()
    due = SeatReservation.objects.filter(released_at__isnull=True, deadline__lte=now)
    return sum(
        reservation_expire(reservation_id=pk, now=now)
        for pk in list(due.values_list("pk", flat=True))
    )


def _schedule_release(reservation: SeatReservation) -> None:
    from sessions.tasks import release_reservation

    reservation_id, at = reservation.pk, reservation.deadline
    transaction.on_commit(lambda: release_reservation.using(run_after=at).enqueue(reservation_id))


# -- one-to-one coaching slots ------------------------------------------------------------------
MAX_SLOTS = 20
SLOT_MINUTES = (15, 240)


def _slots_changed(session: Session, *, booked: bool) -> None:
    """The coaching page of the space's members hides a slot once taken, shows it again
    when freed (ephemeral)."""
    realtime.publish(
        f"sessions.coaching.{session.space_id}",
        "slots.changed",
        {"slot": session.pk, "taken": booked},
    )


@transaction.atomic
def coaching_slots_publish(
    *,
    actor: Any,
    space: Any,
    starts_at: datetime,
    ends_at: datetime,
    slot_minutes: int,
    title: str = "",
    location: str = "",
) -> list[Session]:
    """A trainer or a manager publishes one-to-one slots, back to back from ``starts_at``
    to ``ends_at``: each a coaching session of one seat that they coach. A trainer's slots
    are for anyone of the space, a manager's for their reports. The coach's own bookings
    (sessions, time off, other slots) may not overlap: a ``conflict``."""
    if not may_publish_slots(user=actor) or not is_space_member(user=actor, space=space):
        raise PermissionDenied(_("Trainers and managers of this space publish coaching slots."))
    now = timezone.now()
    errors: dict[str, str] = {}
    if slot_minutes is None or not SLOT_MINUTES[0] <= slot_minutes <= SLOT_MINUTES[1]:
        errors["slot_minutes"] = _("A slot lasts 15 to 240 minutes.")
    if ends_at <= starts_at:
        errors["ends_at"] = _("The end must be after the start.")
    if starts_at <= now:
        errors["starts_at"] = _("Publish slots in the future.")
    if errors:
        raise ValidationError(errors)
    length = timedelta(minutes=slot_minutes)
    count = int((ends_at - starts_at) / length)
    if not 1 <= count <= MAX_SLOTS:
        raise ValidationError(
            {"ends_at": _("Publish 1 to %(n)s slots at a time.") % {"n": MAX_SLOTS}}
        )
    key = trainer_key(actor.pk)
    end = starts_at + count * length
    conflicts = list(overlapping_bookings(keys=[key], starts_at=starts_at, ends_at=end))
    _refuse_or_accept(conflicts, "")
    # A coach who set working hours publishes slots inside them (no hours: any time).
    hours = list(Availability.objects.filter(trainer=actor))
    outside = [
        starts_at + index * length
        for index in range(count)
        if hours
        and not within_availability(
            hours, starts_at + index * length, starts_at + (index + 1) * length
        )
    ]
    if outside:
        when = format_for(outside[0], zone=hours[0].time_zone)
        raise ValidationError(
            {
                "starts_at": _(
                    "%(n)s of these slots fall outside your working hours (the first at "
                    "%(when)s): publish slots within them, or change your working hours."
                )
                % {"n": len(outside), "when": when}
            }
        )
    audience = SlotAudience.SPACE if actor.has_role(Role.TRAINER) else SlotAudience.TEAM
    title = (title or "").strip()[:200] or _("Coaching with %(name)s") % {"name": actor.name}
    zone = actor.time_zone or "UTC"
    created: list[Session] = []
    rows: list[Booking] = []
    for index in range(count):
        start = starts_at + index * length
        session = Session.objects.create(
            space=space,
            kind=SessionKind.COACHING,
            title=title,
            starts_at=start,
            ends_at=start + length,
            time_zone=zone,
            location=(location or "").strip()[:255],
            capacity=1,
            created_by=actor,
        )
        session.trainers.set([actor])
        CoachingSlot.objects.create(session=session, coach=actor, audience=audience)
        rows.append(
            Booking(
                space_id=space.pk,
                kind=BookingKind.SESSION,
                resource=key,
                session=session,
                trainer=actor,
                starts_at=start,
                ends_at=start + length,
            )
        )
        _schedule_reminders(session)
        _schedule_completion(session)
        created.append(session)
    _insert_bookings(rows)
    _publish_conflicts(space.pk)
    for session in created:
        _slots_changed(session, booked=False)
    return created


@transaction.atomic
def coaching_book(*, actor: Any, session: Session) -> Registration:
    """A learner books a free slot: a confirmed seat, so they get the invitation (REQUEST)
    and the coach a copy. Two learners on one slot at once: the row lock queues them and
    the second gets a ``conflict``."""
    session = _locked(session)
    slot = slot_of(session=session)
    if slot is None:
        raise ValidationError(_("This is not a coaching slot."))
    if not may_book_slot(user=actor, slot=slot):
        raise PermissionDenied(_("This slot is not open to you."))
    if session.status != SessionStatus.SCHEDULED or timezone.now() >= session.starts_at:
        raise ValidationError(_("This slot is no longer open."))
    if seat_holders(session=session).exists():
        raise SeatConflict({"slot": _("Someone booked this slot just now: choose another.")})
    # Above every earlier booking of the slot, so the coach's copy (and the CANCEL they
    # got of an earlier booking) keeps a rising SEQUENCE.
    last = session.registrations.aggregate(last=Max("revision"))["last"]
    realtime.hold_topic_order(session.topic)
    registration = Registration.objects.create(
        session=session,
        user=actor,
        registered_by=actor,
        status=RegistrationStatus.CONFIRMED,
        revision=0 if last is None else last + 1,
    )
    _bump_sequence(session)
    _log(session, "registration.created", registration_payload(registration))
    _enqueue_notices([registration.pk], NoticeKind.CONFIRMED)
    _learners_changed(session, [registration.user_id])
    notify(
        recipients=[slot.coach],
        kind="session_registration",
        verb=_("%(name)s booked your coaching slot: %(title)s")
        % {"name": actor.name, "title": session.title},
        actor=actor,
        target=session,
        url=session_url(session),
    )
    _slots_changed(session, booked=True)
    _publish_state(session)
    return registration


@transaction.atomic
def coaching_cancel(*, actor: Any, session: Session) -> Registration:
    """Cancel a booked slot (the learner, the coach or a coordinator), before it starts:
    the slot is free again and both get the CANCEL."""
    session = _locked(session)
    slot = slot_of(session=session)
    if slot is None:
        raise ValidationError(_("This is not a coaching slot."))
    registration = (
        Registration.objects.select_for_update()
        .filter(session=session, status__in=SEAT_STATUSES)
        .select_related("user")
        .first()
    )
    if registration is None:
        raise ValidationError(_("Nobody has booked this slot."))
    if actor.pk not in (registration.user_id, slot.coach_id) and not can_manage_session(
        user=actor, session=session
    ):
        raise PermissionDenied(_("You cannot cancel this booking."))
    if timezone.now() >= session.starts_at:
        raise ValidationError(_("The slot has started."))
    _drop(session, registration, actor=actor)
    _bump_sequence(session)
    other = slot.coach if actor.pk == registration.user_id else registration.user
    notify(
        recipients=[other],
        kind="session_cancelled",
        verb=_("Coaching cancelled by %(name)s: %(title)s")
        % {"name": actor.name, "title": session.title},
        actor=actor,
        target=session,
        url=session_url(session),
    )
    _slots_changed(session, booked=False)
    _publish_state(session)
    return registration


# -- facilitators' weekly availability -----------------------------------------------------------
MAX_WINDOWS = 21


@transaction.atomic
def availability_set(
    *, actor: Any, trainer: Any, windows: list[dict[str, Any]], time_zone: str
) -> list[Availability]:
    """Replace a trainer's working week (themself, or a coordinator of a space they share):
    ``windows`` of ``{"weekday": 0-6, "starts": time, "ends": time}`` in ``time_zone``.
    None: no hours given (always available)."""
    if actor.pk != trainer.pk and not can_see_trainer_feedback(user=actor, trainer=trainer):
        raise PermissionDenied(_("You cannot change this person's working hours."))
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError({"time_zone": _("Unknown time zone.")}) from None
    if len(windows) > MAX_WINDOWS:
        raise ValidationError({"windows": _("At most %(n)s windows.") % {"n": MAX_WINDOWS}})
    rows = []
    for window in windows:
        weekday, starts, ends = window.get("weekday"), window.get("starts"), window.get("ends")
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValidationError({"windows": _("A weekday is 0 (Monday) to 6 (Sunday).")})
        if starts is None or ends is None or ends <= starts:
            raise ValidationError({"windows": _("Each window ends after it starts.")})
        rows.append(
            Availability(
                trainer=trainer, weekday=weekday, starts=starts, ends=ends, time_zone=time_zone
            )
        )
    Availability.objects.filter(trainer=trainer).delete()
    return Availability.objects.bulk_create(rows)
