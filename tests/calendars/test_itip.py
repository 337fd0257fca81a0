"""Invitations that behave like invitations (iTIP, RFC 5546), read by three parsers.

REQUEST when the seat is confirmed; REQUEST with a higher SEQUENCE and an e-mail saying what
changed (and an in-app notice) when a session, a part or one occurrence of a series moves;
CANCEL when the session is cancelled or the seat lost; accept / decline links; one charset
and a ``method`` parameter in every calendar's media type; VTIMEZONEs that cover 2039.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from notifications.models import Notification

from calendars.ics import session_uid
from calendars.models import ItipMessage
from calendars.services import cancellation_send, invitation_send
from sessions import services
from sessions.models import Registration, RegistrationStatus
from tests.calendars.conftest import calendar_parts, make_session
from tests.calendars.parsers import by_file_vtimezone, read_all

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def settle(run_tasks: Any) -> None:
    """Run jobs until none is left (a notice's commit queues the invitation)."""
    for _ in range(5):
        if not run_tasks():
            return


def mails_to(mailoutbox: list, email: str) -> list[Any]:
    return [m for m in mailoutbox if email in m.to and calendar_parts(m)]


def itip(message: Any) -> list[tuple[str, dict]]:
    """(method, {uid: Seen}) of each calendar part, each read by the three parsers."""
    found = []
    for method, text, part in calendar_parts(message):
        # One charset, and the method parameter matching the file's METHOD.
        content_type = part["Content-Type"]
        assert content_type.lower().count("charset") == 1, content_type
        assert f"METHOD:{method}".encode() in text
        found.append((method, read_all(text)))
    return found


@pytest.fixture
def ada(learner):
    learner.email = "ada@example.org"
    learner.save(update_fields=["email"])
    return learner


@pytest.fixture
def seated(coordinator, space, trainer, ada, run_tasks, mailoutbox):
    """Ada's confirmed seat at a Paris session, her invitation already sent."""
    session = make_session(coordinator, space, trainers=[trainer], capacity=1)
    registration = services.registration_register(actor=ada, session=session)
    settle(run_tasks)
    return session, registration


def test_confirmed_seat_gets_a_request_with_organizer_and_attendee(seated, mailoutbox, trainer):
    session, _registration = seated
    [message] = mails_to(mailoutbox, "ada@example.org")
    [(method, events)] = itip(message)
    assert method == "REQUEST"
    uid = session_uid(session.pk)
    assert events[uid].start == session.starts_at and events[uid].end == session.ends_at
    assert events[uid].status == "CONFIRMED"
    [(_m, text, _p)] = calendar_parts(message)
    assert b"ORGANIZER;CN=" in text
    assert b"ATTENDEE;CN=" in text and b"PARTSTAT=NEEDS-ACTION" in text and b"RSVP=TRUE" in text
    assert "mailto:ada@example.org" in text.decode().replace("\r\n ", "")
    # The accept / decline links of the e-mail.
    assert f"/sessions/{session.pk}/respond/accept/" in message.body
    assert f"/sessions/{session.pk}/respond/decline/" in message.body


def test_moving_the_session_sends_notice_email_and_a_higher_sequence(
    client, seated, coordinator, ada, run_tasks, mailoutbox
):
    session, _registration = seated
    [first] = mails_to(mailoutbox, "ada@example.org")
    [(_m, before)] = itip(first)
    uid = session_uid(session.pk)
    new_start = session.starts_at + timedelta(days=1, hours=2)
    services.session_update(
        actor=coordinator,
        session=session,
        starts_at=new_start,
        ends_at=new_start + timedelta(hours=3),
        location="Lyon office, room 5",
    )
    settle(run_tasks)
    first_again, update = mails_to(mailoutbox, "ada@example.org")
    assert first_again is first
    [(method, after)] = itip(update)
    assert method == "REQUEST"
    assert after[uid].start == new_start
    assert after[uid].sequence > before[uid].sequence
    # The e-mail says what changed: the old and the new time, the old and the new place.
    local = new_start.astimezone(PARIS)
    assert update.subject.startswith("Updated:")
    assert f"{local:%Y-%m-%d %H:%M}" in update.body
    assert "room 2 → Lyon office, room 5" in update.body
    # The in-app notice says it too.
    notice = Notification.objects.filter(recipient=ada, data__kind="session_changed").get()
    assert "room 5" in notice.description and f"{local:%H:%M}" in notice.description
    # The feed has the same event at the same SEQUENCE.
    client.force_login(ada)
    client.post("/calendars/feed/reset/")
    ada.refresh_from_db()
    feed = read_all(client.get(f"/calendars/feed/{ada.feed_token}.ics").content)
    assert feed[uid] == after[uid]
    # A second run of the update job sends nothing more.
    assert not services_updates(session)


def services_updates(session: Any) -> int:
    from calendars.services import updates_send

    return updates_send(session_id=session.pk)


def test_a_change_that_moves_nothing_sends_nothing(seated, coordinator, run_tasks, mailoutbox):
    session, _registration = seated
    services.session_update(actor=coordinator, session=session, title="First aid, level 2")
    settle(run_tasks)
    assert len(mails_to(mailoutbox, "ada@example.org")) == 1
    assert not Notification.objects.filter(data__kind="session_changed").exists()


def test_parts_moved_added_and_removed(seated, coordinator, run_tasks, mailoutbox):
    session, _registration = seated
    start = session.starts_at + timedelta(days=1)
    part = services.part_add(
        actor=coordinator, session=session, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    settle(run_tasks)
    added = mails_to(mailoutbox, "ada@example.org")[-1]
    calendars = itip(added)
    # One calendar per UID (RFC 5546: one UID per iTIP object).
    assert [m for m, _e in calendars] == ["REQUEST", "REQUEST"]
    part_uid = session_uid(session.pk, part.pk)
    [part_seen] = [e[part_uid] for _m, e in calendars if part_uid in e]
    assert part_seen.start == start
    assert "New date" in added.body

    moved = start + timedelta(hours=1)
    services.part_update(
        actor=coordinator, part=part, starts_at=moved, ends_at=moved + timedelta(hours=2)
    )
    settle(run_tasks)
    update = mails_to(mailoutbox, "ada@example.org")[-1]
    [after] = [e[part_uid] for _m, e in itip(update) if part_uid in e]
    assert after.start == moved and after.sequence > part_seen.sequence

    services.part_remove(actor=coordinator, part=part)
    settle(run_tasks)
    removal = mails_to(mailoutbox, "ada@example.org")[-1]
    methods = {uid: (m, seen) for m, e in itip(removal) for uid, seen in e.items()}
    assert methods[part_uid][0] == "CANCEL"
    assert methods[part_uid][1].status == "CANCELLED"
    assert methods[part_uid][1].sequence > after.sequence
    assert methods[session_uid(session.pk)][0] == "REQUEST"
    assert "Date removed" in removal.body


def test_moving_one_occurrence_of_a_series_updates_its_attendees_only(
    coordinator, space, ada, learner2, run_tasks, mailoutbox
):
    learner2.email = "bob@example.org"
    learner2.save(update_fields=["email"])
    start = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    series = services.series_create(
        actor=coordinator,
        space=space,
        count=3,
        kind="coaching",
        title="Coaching",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity=3,
        time_zone="Europe/Paris",
    )
    first, second, _third = series.occurrences.order_by("series_index")
    services.registration_register(actor=ada, session=second)
    services.registration_register(actor=learner2, session=first)
    settle(run_tasks)
    moved = second.starts_at + timedelta(hours=3)
    services.series_update(
        actor=coordinator,
        session=second,
        scope="one",
        starts_at=moved,
        ends_at=moved + timedelta(hours=1),
    )
    settle(run_tasks)
    [_invite, update] = mails_to(mailoutbox, "ada@example.org")
    [(_m, events)] = itip(update)
    assert events[session_uid(second.pk)].start == moved
    assert len(mails_to(mailoutbox, "bob@example.org")) == 1  # his occurrence did not move


def test_cancelled_session_sends_cancel_with_a_higher_sequence(
    seated, coordinator, run_tasks, mailoutbox
):
    session, registration = seated
    [(_m, before)] = itip(mails_to(mailoutbox, "ada@example.org")[0])
    services.session_cancel(actor=coordinator, session=session)
    settle(run_tasks)
    cancel = mails_to(mailoutbox, "ada@example.org")[-1]
    [(method, events)] = itip(cancel)
    uid = session_uid(session.pk)
    assert method == "CANCEL"
    assert events[uid].status == "CANCELLED"
    assert events[uid].sequence > before[uid].sequence
    assert cancel.subject.startswith("Cancelled:")
    # Once: the job again sends nothing.
    assert cancellation_send(registration_id=registration.pk) is False


def test_a_lost_seat_is_cancelled_and_the_promoted_learner_invited(
    seated, coordinator, learner2, run_tasks, mailoutbox
):
    session, registration = seated
    learner2.email = "bob@example.org"
    learner2.save(update_fields=["email"])
    services.registration_register(actor=learner2, session=session)  # waitlisted
    services.registration_remove(actor=coordinator, registration=registration)
    settle(run_tasks)
    [(method, _e)] = itip(mails_to(mailoutbox, "ada@example.org")[-1])
    assert method == "CANCEL"
    [(method, _e)] = itip(mails_to(mailoutbox, "bob@example.org")[-1])
    assert method == "REQUEST"


def test_no_cancel_for_someone_never_invited_or_registered_again(
    coordinator, space, ada, learner2, run_tasks, mailoutbox
):
    session = make_session(coordinator, space, capacity=1)
    services.registration_register(actor=learner2, session=session)
    waiting = services.registration_register(actor=ada, session=session)
    services.registration_cancel(actor=ada, registration=waiting)  # never had a seat
    settle(run_tasks)
    assert not mails_to(mailoutbox, "ada@example.org")
    # Invited, cancelled, registered again before the cancellation job ran: no CANCEL.
    other = make_session(coordinator, space, capacity=3)
    first = services.registration_register(actor=ada, session=other)
    settle(run_tasks)
    services.registration_cancel(actor=ada, registration=first)
    services.registration_register(actor=ada, session=other)
    assert cancellation_send(registration_id=first.pk) is False


def test_2039_session_reads_right_with_the_files_own_vtimezone(
    client, coordinator, space, ada, run_tasks, mailoutbox
):
    start = datetime(2039, 6, 15, 14, 0, tzinfo=PARIS)
    session = make_session(coordinator, space, starts_at=start, ends_at=start + timedelta(hours=2))
    services.registration_register(actor=ada, session=session)
    settle(run_tasks)
    uid = session_uid(session.pk)
    client.force_login(ada)
    download = client.get(f"/calendars/session/{session.pk}.ics").content
    [(_m, invitation, _p)] = calendar_parts(mails_to(mailoutbox, "ada@example.org")[0])
    for body in (download, invitation):
        # 14:00 in Paris in June 2039 is 12:00Z (summer time), read with the file's own
        # definition (dateutil, vobject) and with the time-zone database (icalendar).
        assert by_file_vtimezone(body, uid) == datetime(2039, 6, 15, 12, 0, tzinfo=UTC)
        assert read_all(body)[uid].start == datetime(2039, 6, 15, 12, 0, tzinfo=UTC)


def test_accept_and_decline_links_change_nothing_on_get(
    client, seated, ada, learner2, run_tasks, mailoutbox
):
    session, registration = seated
    client.force_login(ada)
    for answer in ("accept", "decline"):
        page = client.get(f"/sessions/{session.pk}/respond/{answer}/")
        assert page.status_code == 200
        assert b'data-testid="respond-confirm"' in page.content
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CONFIRMED and registration.response == ""
    assert client.get(f"/sessions/{session.pk}/respond/maybe/").status_code == 404

    client.post(f"/sessions/{session.pk}/respond/accept/")
    registration.refresh_from_db()
    assert registration.response == "accepted"
    # A later invitation carries her answer.
    ItipMessage.objects.filter(registration=registration).delete()
    assert invitation_send(registration_id=registration.pk)
    [(_m, text, _p)] = calendar_parts(mailoutbox[-1])
    assert b"PARTSTAT=ACCEPTED" in text

    learner2.email = "bob@example.org"
    learner2.save(update_fields=["email"])
    services.registration_register(actor=learner2, session=session)  # waitlisted
    client.post(f"/sessions/{session.pk}/respond/decline/")
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CANCELLED
    assert registration.response == "declined"
    settle(run_tasks)
    [(method, _e)] = itip(mails_to(mailoutbox, "ada@example.org")[-1])
    assert method == "CANCEL"
    assert Registration.objects.get(session=session, user=learner2).status == "confirmed"


def test_respond_api_answers_only_ones_own_seat(api_client_for, seated, learner2, outsider):
    session, registration = seated
    url = f"/api/v1/sessions/{session.pk}/respond/"
    assert (
        api_client_for(learner2).post(url, {"answer": "accepted"}, format="json").status_code == 404
    )
    bad = api_client_for(registration.user).post(url, {"answer": "perhaps"}, format="json")
    assert bad.status_code == 400
    ok = api_client_for(registration.user).post(url, {"answer": "accepted"}, format="json")
    assert ok.status_code == 200, ok.content
    registration.refresh_from_db()
    assert registration.response == "accepted"
    with pytest.raises(Exception):  # noqa: B017 - PermissionDenied from the service
        services.registration_respond(actor=learner2, registration=registration, answer="accepted")


def test_feeds_and_downloads_name_their_method(client, seated, ada):
    session, _registration = seated
    client.force_login(ada)
    client.post("/calendars/feed/reset/")
    ada.refresh_from_db()
    for url in (f"/calendars/session/{session.pk}.ics", f"/calendars/feed/{ada.feed_token}.ics"):
        response = client.get(url)
        assert response["Content-Type"] == "text/calendar; charset=utf-8; method=PUBLISH"
        assert b"METHOD:PUBLISH" in response.content
        read_all(response.content)


def test_site_url_is_in_the_links(seated, mailoutbox):
    [message] = mails_to(mailoutbox, "ada@example.org")
    assert settings.SITE_URL in message.body
