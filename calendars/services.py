"""Writes of calendars: the invitations (iTIP, RFC 5546) that follow a seat and its session.

- ``REQUEST`` when a seat is confirmed (``sessions.seat_confirmed``);
- ``REQUEST`` with a higher SEQUENCE when a date or a place moves (``sessions.rescheduled``),
  with an e-mail that says what changed since the attendee's last invitation, and a
  ``CANCEL`` for a part that was taken out;
- ``CANCEL`` when the seat is lost or the session cancelled
  (``sessions.registration_cancelled``), only to those who were invited.

Each file is the same event (UID, SEQUENCE) as the download and the personal feed, so a
calendar app that imported the invitation updates one entry, never two. Jobs are
idempotent: an ``ItipMessage`` row (registration, method, SEQUENCE) is claimed in the same
transaction as the e-mail is sent.
"""

from __future__ import annotations

from email.mime.text import MIMEText
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from calendars import selectors
from calendars.ics import (
    Attendee,
    DatedEvent,
    FeedEntry,
    Method,
    PartStat,
    itip_messages,
    snapshot,
)
from calendars.models import ItipMessage
from sessions.models import Registration, RegistrationStatus, Response, SessionStatus
from sessions.selectors import is_coaching_slot, schedule_changes
from sessions.services import session_url


# -- event handlers (registered in apps.py) ---------------------------------------------------
def on_seat_confirmed(*, registration_id: int, **_: Any) -> None:
    """``sessions.seat_confirmed``: queue the invitation (sent by the job worker)."""
    from calendars.tasks import send_invitation

    transaction.on_commit(lambda: send_invitation.enqueue(registration_id))


def on_rescheduled(*, session_id: int, changes: list[str] | None = None, **_: Any) -> None:
    """``sessions.rescheduled``: queue the updated invitations of the session's attendees."""
    from calendars.tasks import send_updates

    lines = list(changes or [])
    transaction.on_commit(lambda: send_updates.enqueue(session_id, lines))


def on_registration_cancelled(*, registration_id: int, **_: Any) -> None:
    """``sessions.registration_cancelled``: queue the cancellation (if one was invited)."""
    from calendars.tasks import send_cancellation

    transaction.on_commit(lambda: send_cancellation.enqueue(registration_id))


# -- sending ----------------------------------------------------------------------------------
def _locked_registration(registration_id: int) -> Registration | None:
    return (
        Registration.objects.select_for_update(of=("self",))
        .select_related("session", "user")
        .filter(pk=registration_id)
        .first()
    )


def _last_request(registration: Registration) -> ItipMessage | None:
    return (
        registration.itip_messages.filter(method=ItipMessage.Method.REQUEST)
        .order_by("-sequence")
        .first()
    )


def _attendee(registration: Registration) -> Attendee:
    partstat = {
        Response.ACCEPTED: PartStat.ACCEPTED,
        Response.DECLINED: PartStat.DECLINED,
    }.get(registration.response, PartStat.NEEDS_ACTION)
    user = registration.user
    return Attendee(name=user.name, email=user.email, partstat=partstat)


def _as_dates(events: list[DatedEvent]) -> list[tuple[str, Any, Any, str]]:
    return [(e.uid, e.starts_at, e.ends_at, e.location) for e in events]


def _claim(registration: Registration, method: str, sequence: int, events: list[Any]) -> bool:
    """Record the message; False when this one was already sent (another run of the job)."""
    try:
        with transaction.atomic():
            ItipMessage.objects.create(
                registration=registration,
                method=method,
                sequence=sequence,
                events=[e.as_json() for e in events],
            )
    except IntegrityError:
        return False
    return True


def _mail(
    *,
    registration: Registration,
    subject: str,
    body: str,
    calendars: list[tuple[str, str, bytes]],
    to: str | None = None,
) -> None:
    """One e-mail with one ``text/calendar`` part per calendar: a single ``charset`` and the
    ``method`` parameter that matches the file's METHOD (RFC 6047 section 2.4)."""
    session = registration.session
    message = EmailMessage(subject=subject, body=body, to=[to or registration.user.email])
    stem = slugify(session.title)[:60] or "session"
    for index, (_uid, method, text) in enumerate(calendars, start=1):
        part = MIMEText(text.decode(), "calendar", "utf-8")
        part.set_param("method", method)
        suffix = f"-{index}" if len(calendars) > 1 else ""
        filename = (
            f"{stem}{suffix}.ics" if method != Method.CANCEL else f"{stem}{suffix}-cancel.ics"
        )
        part.add_header("Content-Disposition", "attachment", filename=filename)
        message.attach(part)
    message.send()


def _answer_links(registration: Registration) -> str:
    session = registration.session
    accept = settings.SITE_URL + reverse("session-respond", args=[session.pk, "accept"])
    decline = settings.SITE_URL + reverse("session-respond", args=[session.pk, "decline"])
    return _("Accept: %(accept)s\nDecline (gives your seat up): %(decline)s") % {
        "accept": accept,
        "decline": decline,
    }


def _request(registration_id: int, *, changes: list[str] | None) -> bool:
    """Send the attendee's invitation at the session's current SEQUENCE, once.

    Nothing when the seat is not confirmed (any more), the session is not scheduled, the
    person has no e-mail address, or this SEQUENCE was already sent to them.
    """
    with transaction.atomic():
        registration = _locked_registration(registration_id)
        if registration is None or registration.status != RegistrationStatus.CONFIRMED:
            return False
        user, session = registration.user, registration.session
        if not user.email or session.status != SessionStatus.SCHEDULED:
            return False
        with translation.override(user.language or settings.LANGUAGE_CODE):
            entry = selectors.session_entry(user=user, session=session)
            previous = _last_request(registration)
            if previous is not None and previous.sequence >= entry.sequence:
                return False  # this version (or a later one) is already in their calendar
            current = snapshot(entry)
            sent_before = [DatedEvent.from_json(e) for e in previous.events] if previous else []
            uids = {e.uid for e in current}
            removed = [e for e in sent_before if e.uid not in uids]
            if not _claim(registration, Method.REQUEST, entry.sequence, current):
                return False
            calendars = itip_messages(
                entry, method=Method.REQUEST, attendee=_attendee(registration), removed=removed
            )
            url = settings.SITE_URL + session_url(session)
            if previous is None and not changes:
                subject = _("Your seat: %(title)s") % {"title": session.title}
                intro = _(
                    "Your seat at “%(title)s” is confirmed. The attached invitation adds it "
                    "to your calendar; it also appears in your Lyceum calendar feed."
                ) % {"title": session.title}
            else:
                subject = _("Updated: %(title)s") % {"title": session.title}
                lines = (
                    schedule_changes(
                        before=_as_dates(sent_before),
                        after=_as_dates(current),
                        time_zone=session.time_zone,
                    )
                    if previous is not None
                    else list(changes or [])
                )
                intro = _(
                    "“%(title)s” has changed. The attached invitation updates your calendar."
                ) % {"title": session.title}
                if lines:
                    intro += "\n\n" + _("What changed:") + "\n" + "\n".join(f"- {x}" for x in lines)
            body = "\n\n".join([intro, _answer_links(registration), url])
            _mail(registration=registration, subject=subject, body=body, calendars=calendars)
            _copy_to_coach(registration, calendars, cancelled=False)
    return True


def _copy_to_coach(
    registration: Registration, calendars: list[tuple[str, str, bytes]], *, cancelled: bool
) -> None:
    """A one-to-one coaching slot: the coach gets the same calendar (they are its
    ORGANIZER, the learner its ATTENDEE), so both calendars hold one entry that the next
    message updates or cancels. Sent by the same claimed job: once."""
    session = registration.session
    if not is_coaching_slot(session_id=session.pk):
        return
    for coach in session.trainers.exclude(email=""):
        with translation.override(coach.language or settings.LANGUAGE_CODE):
            values = {"name": registration.user.name, "title": session.title}
            if cancelled:
                subject = _("Coaching cancelled: %(name)s, %(title)s") % values
                intro = _("The coaching with %(name)s is cancelled; the slot is free again.")
            else:
                subject = _("Coaching booked: %(name)s, %(title)s") % values
                intro = _("%(name)s booked your coaching slot. The attached invitation adds it.")
            body = "\n\n".join([intro % values, settings.SITE_URL + session_url(session)])
            _mail(
                registration=registration,
                subject=subject,
                body=body,
                calendars=calendars,
                to=coach.email,
            )


def invitation_send(*, registration_id: int) -> bool:
    """The invitation (REQUEST) of a confirmed seat; True if sent."""
    return _request(registration_id, changes=None)


def update_send(*, registration_id: int, changes: list[str] | None = None) -> bool:
    """The updated invitation (REQUEST, higher SEQUENCE) after a move; True if sent.
    ``changes``: what moved, said when the attendee was never sent an invitation here
    (otherwise the e-mail compares with the one they were sent)."""
    return _request(registration_id, changes=changes or [])


def updates_send(*, session_id: int, changes: list[str] | None = None) -> int:
    """The updated invitation of every confirmed attendee of a session."""
    ids = Registration.objects.filter(
        session_id=session_id, status=RegistrationStatus.CONFIRMED
    ).values_list("pk", flat=True)
    return sum(update_send(registration_id=pk, changes=changes) for pk in list(ids))


def cancellation_send(*, registration_id: int) -> bool:
    """CANCEL the invitation of a registration that is cancelled (seat lost, removed,
    declined, session cancelled); only to those who were sent one, once; True if sent.

    Its SEQUENCE is the session's plus this registration's revision, which cancelling
    raised: a later registration of the same person starts higher, so a late CANCEL never
    removes the invitation of their new seat (and none is sent while they hold one).
    """
    with transaction.atomic():
        registration = _locked_registration(registration_id)
        if registration is None or registration.status != RegistrationStatus.CANCELLED:
            return False
        user, session = registration.user, registration.session
        previous = _last_request(registration)
        if previous is None or not user.email:
            return False
        if (
            session.registrations.filter(user=user)
            .exclude(status=RegistrationStatus.CANCELLED)
            .exists()
        ):
            return False  # registered again: their new invitation holds the seat
        with translation.override(user.language or settings.LANGUAGE_CODE):
            details = selectors.session_details([session])[session.pk]
            entry = FeedEntry(
                session=session,
                registration_status=RegistrationStatus.CANCELLED,
                organizer=details.organizer,
                parts=details.parts,
                revision=registration.revision,
            )
            current = snapshot(entry)
            uids = {e.uid for e in current}
            removed = [e for e in map(DatedEvent.from_json, previous.events) if e.uid not in uids]
            if not _claim(registration, Method.CANCEL, entry.sequence, []):
                return False
            calendars = itip_messages(
                entry, method=Method.CANCEL, attendee=_attendee(registration), removed=removed
            )
            if session.status == SessionStatus.CANCELLED:
                subject = _("Cancelled: %(title)s") % {"title": session.title}
                intro = _("“%(title)s” is cancelled.") % {"title": session.title}
            else:
                subject = _("Your seat is cancelled: %(title)s") % {"title": session.title}
                intro = _("You no longer have a seat at “%(title)s”.") % {"title": session.title}
            intro += " " + _("The attached cancellation removes it from your calendar.")
            body = "\n\n".join([intro, settings.SITE_URL + session_url(session)])
            _mail(registration=registration, subject=subject, body=body, calendars=calendars)
            _copy_to_coach(registration, calendars, cancelled=True)
    return True
