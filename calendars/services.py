"""Writes of calendars: the calendar invitation sent when someone's seat is confirmed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from calendars import selectors
from calendars.ics import prepare_calendar
from sessions.models import Registration, RegistrationStatus
from sessions.services import session_url


def on_seat_confirmed(*, registration_id: int, **_: Any) -> None:
    """``sessions.seat_confirmed``: queue the invitation (sent by the job worker)."""
    from calendars.tasks import send_invitation

    transaction.on_commit(lambda: send_invitation.enqueue(registration_id))


def invitation_send(*, registration_id: int) -> bool:
    """E-mail the session's .ics to the person whose seat is confirmed; True if sent.

    Nothing when the seat is no longer confirmed by the time the job runs, or the person has
    no e-mail address. The attachment is the same event (UID, SEQUENCE) as the download and
    the personal feed, so a calendar app that imports it updates one entry, never two.
    """
    registration = (
        Registration.objects.select_related("session", "user").filter(pk=registration_id).first()
    )
    if registration is None or registration.status != RegistrationStatus.CONFIRMED:
        return False
    user, session = registration.user, registration.session
    if not user.email:
        return False
    with translation.override(user.language or settings.LANGUAGE_CODE):
        entry = selectors.session_entry(user=user, session=session)
        body = prepare_calendar([entry], name=session.title).body()
        message = EmailMessage(
            subject=_("Your seat: %(title)s") % {"title": session.title},
            body=_(
                "Your seat at “%(title)s” is confirmed. The attached calendar entry adds it "
                "to your calendar; it also appears in your Lyceum calendar feed.\n\n%(url)s"
            )
            % {"title": session.title, "url": settings.SITE_URL + session_url(session)},
            to=[user.email],
        )
        message.attach(
            f"{slugify(session.title)[:60] or 'session'}.ics",
            body,
            "text/calendar; charset=utf-8; method=PUBLISH",
        )
        message.send()
    return True
