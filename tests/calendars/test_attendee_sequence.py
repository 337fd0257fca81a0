"""An attendee's own status changes raise the SEQUENCE of their calendar entry.

Calendar apps ignore an update whose SEQUENCE is not above the one they hold: a promotion
(TENTATIVE -> CONFIRMED) or one's own cancellation must raise it in the personal feed, the
.ics download and the invitation e-mailed on promotion, the same number everywhere.
"""

from __future__ import annotations

from typing import Any

import pytest
from icalendar import Calendar

from calendars.ics import session_uid
from sessions.models import Registration, Session
from sessions.services import (
    registration_cancel,
    registration_register,
    session_cancel,
    session_update,
)
from tests.calendars.conftest import calendar_parts, event_by_uid, make_session

pytestmark = pytest.mark.django_db


def feed_entry(client: Any, user: Any, session: Session) -> tuple[str, int, str]:
    """(STATUS, SEQUENCE, ETag) of the session's entry in the user's personal feed."""
    response = client.get(f"/calendars/feed/{user.feed_token}.ics")
    assert response.status_code == 200
    event = event_by_uid(response.content, session_uid(session.pk))
    return str(event["STATUS"]), int(event["SEQUENCE"]), response["ETag"]


def download_entry(client: Any, user: Any, session: Session) -> tuple[str, int]:
    client.force_login(user)
    response = client.get(f"/calendars/session/{session.pk}.ics")
    event = event_by_uid(response.content, session_uid(session.pk))
    return str(event["STATUS"]), int(event["SEQUENCE"])


def invitations(mailoutbox: list, email: str) -> list[tuple[str, int]]:
    """(STATUS, SEQUENCE) of each calendar invitation e-mailed to ``email``."""
    found = []
    for message in mailoutbox:
        for _method, text, _part in calendar_parts(message) if email in message.to else []:
            [event] = Calendar.from_ical(text).walk("VEVENT")
            found.append((str(event["STATUS"]), int(event["SEQUENCE"])))
    return found


def test_promotion_raises_the_sequence_in_feed_download_and_invitation(
    client, coordinator, space, learner, learner2, run_tasks, mailoutbox
):
    learner.email = "ada@example.org"
    learner.save(update_fields=["email"])
    session = make_session(coordinator, space, capacity=1)
    seat = registration_register(actor=learner2, session=session)
    registration_register(actor=learner, session=session)  # waitlisted
    tentative, before, etag = feed_entry(client, learner, session)
    assert tentative == "TENTATIVE"
    assert download_entry(client, learner, session) == ("TENTATIVE", before)
    run_tasks()
    run_tasks()
    assert invitations(mailoutbox, "ada@example.org") == []  # no seat, no invitation yet

    registration_cancel(actor=learner2, registration=seat)  # learner is promoted
    status, after, new_etag = feed_entry(client, learner, session)
    assert (status, new_etag != etag) == ("CONFIRMED", True)
    assert after > before
    assert download_entry(client, learner, session) == ("CONFIRMED", after)
    run_tasks()  # the "promoted" notice; its commit queues the invitation
    run_tasks()
    assert invitations(mailoutbox, "ada@example.org") == [("CONFIRMED", after)]
    # The session itself did not change: the person who left sees no new SEQUENCE for it
    # beyond their own cancellation, and a trainer's or coordinator's entry keeps the
    # session's own.
    session.refresh_from_db()
    assert download_entry(client, coordinator, session) == ("CONFIRMED", session.sequence)


def test_own_cancellation_and_registering_again_raise_the_sequence(
    client, coordinator, space, learner
):
    session = make_session(coordinator, space)
    registration = registration_register(actor=learner, session=session)
    confirmed, first, _etag = feed_entry(client, learner, session)
    assert confirmed == "CONFIRMED"
    registration_cancel(actor=learner, registration=registration)
    cancelled, second, _etag = feed_entry(client, learner, session)
    assert (cancelled, second > first) == ("CANCELLED", True)
    assert download_entry(client, learner, session) == ("CANCELLED", second)
    # Back again: a new registration row, yet the same calendar entry, so it goes on rising.
    registration_register(actor=learner, session=session)
    again, third, _etag = feed_entry(client, learner, session)
    assert (again, third > second) == ("CONFIRMED", True)


def test_session_edits_and_own_changes_add_up(client, coordinator, space, learner, learner2):
    """SEQUENCE = session.sequence + the attendee's revision: an edit after a promotion
    still lands above everything the attendee was sent."""
    session = make_session(coordinator, space, capacity=1)
    seat = registration_register(actor=learner2, session=session)
    registration_register(actor=learner, session=session)
    seen = [feed_entry(client, learner, session)[1]]
    registration_cancel(actor=learner2, registration=seat)
    seen.append(feed_entry(client, learner, session)[1])
    session_update(actor=coordinator, session=session, title="First aid, level 2")
    seen.append(feed_entry(client, learner, session)[1])
    session_cancel(actor=coordinator, session=session)
    status, last, _etag = feed_entry(client, learner, session)
    seen.append(last)
    assert status == "CANCELLED"
    assert seen == sorted(set(seen)), seen  # strictly rising


def test_a_change_of_sequence_alone_is_not_served_from_the_block_cache(
    client, coordinator, space, learner, learner2
):
    """Waitlisted -> seat offered is TENTATIVE both times: only the SEQUENCE changes, and
    the cached VEVENT text of the first fetch must not be served for the second."""
    session = make_session(coordinator, space, capacity=1, claim_hours=4)
    seat = registration_register(actor=learner2, session=session)
    registration_register(actor=learner, session=session)
    status, before, etag = feed_entry(client, learner, session)  # warms the block cache
    registration_cancel(actor=learner2, registration=seat)  # the seat is offered to learner
    assert Registration.objects.get(session=session, user=learner).status == "offered"
    response = client.get(f"/calendars/feed/{learner.feed_token}.ics", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    event = event_by_uid(response.content, session_uid(session.pk))
    assert str(event["STATUS"]) == status == "TENTATIVE"
    assert int(event["SEQUENCE"]) > before
