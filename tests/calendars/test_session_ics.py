"""A session's .ics download: identity, revision, status, time zone, alarm, organiser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from calendars.ics import session_uid
from sessions.models import Session, SessionPart
from sessions.services import registration_register, session_cancel, session_update
from tests.calendars.conftest import event_by_uid, events, make_session, parse

pytestmark = pytest.mark.django_db

HOST = settings.SITE_URL.split("://", 1)[1].split(":")[0].split("/")[0]


def url(session: Session) -> str:
    return f"/calendars/session/{session.pk}.ics"


def download(client, user, session: Session, **headers):
    client.force_login(user)
    return client.get(url(session), **headers)


def test_download_is_a_calendar_file(client, learner, training):
    response = download(client, learner, training)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8; method=PUBLISH"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert response["Content-Disposition"].endswith(f'-{training.pk}.ics"')
    assert response["ETag"]
    calendar = parse(response.content)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "PUBLISH"


def test_event_carries_uid_sequence_status_times_alarm_organizer_location_url(
    client, learner, trainer, training
):
    Session.objects.filter(pk=training.pk).update(
        description_html="<p><strong>Bring</strong> shoes &amp; water</p>"
    )
    response = download(client, learner, training)
    event = event_by_uid(response.content, f"session-{training.pk}@{HOST}")
    assert session_uid(training.pk) == f"session-{training.pk}@{HOST}"
    assert int(event["SEQUENCE"]) == training.sequence
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "First aid"
    # In the session's own time zone, with its VTIMEZONE.
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.start == training.starts_at
    assert event.end == training.ends_at
    assert str(event.start.tzinfo) == "Europe/Paris"
    zones = [str(tz["TZID"]) for tz in parse(response.content).walk("VTIMEZONE")]
    assert zones == ["Europe/Paris"]
    assert event["DTSTAMP"].dt.tzinfo is not None
    (alarm,) = event.walk("VALARM")
    assert alarm["TRIGGER"].dt == -timedelta(hours=training.reminder_hours)
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert str(event["ORGANIZER"]) == f"mailto:{trainer.email}"
    assert event["ORGANIZER"].params["CN"] == trainer.name
    assert str(event["LOCATION"]) == "Lyon office, room 2"
    assert str(event["URL"]) == f"{settings.SITE_URL}/sessions/{training.pk}/"
    description = str(event["DESCRIPTION"])
    assert description.startswith("Bring shoes & water")
    assert "<" not in description


def test_without_trainer_the_coordinator_organizes(client, learner, coordinator, space):
    session = make_session(coordinator, space)
    event = events(download(client, learner, session).content)[0]
    assert str(event["ORGANIZER"]) == f"mailto:{coordinator.email}"


def test_sequence_increases_after_a_change_and_the_uid_stays(
    client, learner, coordinator, training
):
    before = event_by_uid(download(client, learner, training).content, session_uid(training.pk))
    session_update(actor=coordinator, session=training, title="First aid, level 2")
    after = event_by_uid(download(client, learner, training).content, session_uid(training.pk))
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert str(after["SUMMARY"]) == "First aid, level 2"


def test_cancelled_session_is_cancelled_without_alarm(client, learner, coordinator, training):
    before = events(download(client, learner, training).content)[0]
    session_cancel(actor=coordinator, session=training)
    event = events(download(client, learner, training).content)[0]
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == str(before["UID"])
    assert int(event["SEQUENCE"]) > int(before["SEQUENCE"])
    assert event.walk("VALARM") == []


def test_no_alarm_when_the_reminder_is_off(client, learner, training):
    Session.objects.filter(pk=training.pk).update(reminder_hours=0)
    event = events(download(client, learner, training).content)[0]
    assert event.walk("VALARM") == []


@pytest.mark.parametrize("zone", ["UTC", "Etc/UTC"])
def test_utc_session_needs_no_vtimezone(client, learner, coordinator, space, zone):
    session = make_session(coordinator, space, time_zone=zone)
    body = download(client, learner, session).content
    assert parse(body).walk("VTIMEZONE") == []
    assert b"DTSTART:" in body and events(body)[0].start.utcoffset() == timedelta(0)


def test_multi_part_session_has_one_event_per_part_with_stable_uids(
    client, learner, coordinator, training
):
    second = SessionPart.objects.create(
        session=training,
        starts_at=training.starts_at + timedelta(days=7),
        ends_at=training.ends_at + timedelta(days=7),
        location="Lyon office, room 5",
    )
    body = download(client, learner, training).content
    assert sorted(str(e["UID"]) for e in events(body)) == sorted(
        [session_uid(training.pk), session_uid(training.pk, second.pk)]
    )
    part = event_by_uid(body, f"session-{training.pk}-part-{second.pk}@{HOST}")
    assert part.start == second.starts_at
    assert str(part["LOCATION"]) == "Lyon office, room 5"
    assert "2" in str(part["SUMMARY"]) and "First aid" in str(part["SUMMARY"])


def test_waitlisted_learner_gets_a_tentative_event(client, learner, learner2, coordinator, space):
    session = make_session(coordinator, space, capacity=1)
    registration_register(actor=learner2, session=session)
    assert registration_register(actor=learner, session=session).status == "waitlisted"
    event = events(download(client, learner, session).content)[0]
    assert str(event["STATUS"]) == "TENTATIVE"


def test_join_link_only_for_confirmed_attendees(client, learner, learner2, coordinator, space):
    virtual = make_session(
        coordinator,
        space,
        kind="virtual",
        location="",
        join_url="https://meet.example.com/room-42",
        capacity=5,
    )
    registration_register(actor=learner, session=virtual)
    mine = events(download(client, learner, virtual).content)[0]
    assert str(mine["LOCATION"]) == "https://meet.example.com/room-42"
    theirs = events(download(client, learner2, virtual).content)[0]
    assert str(theirs["LOCATION"]) == f"{settings.SITE_URL}/sessions/{virtual.pk}/"
    assert "room-42" not in download(client, learner2, virtual).content.decode()


def test_unchanged_session_answers_304_to_its_etag(client, learner, coordinator, training):
    first = download(client, learner, training)
    again = client.get(url(training), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == first["ETag"]
    session_update(actor=coordinator, session=training, location="Room 9")
    changed = client.get(url(training), HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert changed["ETag"] != first["ETag"]


def test_outsider_unknown_and_anonymous_get_nothing(client, outsider, training):
    assert download(client, outsider, training).status_code == 404
    assert client.get("/calendars/session/999999.ics").status_code == 404
    client.logout()
    response = client.get(url(training))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_write_methods_are_refused(client, learner, training):
    client.force_login(learner)
    assert client.post(url(training)).status_code == 405


def test_dtstamp_is_utc(client, learner, training):
    event = events(download(client, learner, training).content)[0]
    assert event["DTSTAMP"].dt <= datetime.now(UTC) + timedelta(seconds=1)
