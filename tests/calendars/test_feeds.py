"""The personal subscription feed (secret token), its reset, and the public course feed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from calendars.ics import session_uid
from classrooms.models import Course
from hub.accounts.services import feed_token_reset
from sessions.models import Registration, Session
from sessions.services import registration_cancel, registration_register, session_cancel
from tests.calendars.conftest import event_by_uid, events, make_session, parse

pytestmark = pytest.mark.django_db


def feed_path(user) -> str:
    return f"/calendars/feed/{user.feed_token}.ics"


def statuses(body: bytes) -> dict[str, str]:
    return {str(e["UID"]): str(e["STATUS"]) for e in events(body)}


def test_feed_holds_what_the_user_is_registered_for(client, learner, learner2, coordinator, space):
    confirmed = make_session(coordinator, space, title="Confirmed one")
    full = make_session(coordinator, space, title="Full one", capacity=1)
    registration_register(actor=learner2, session=full)
    left = make_session(coordinator, space, title="Left one")
    called_off = make_session(coordinator, space, title="Called off")
    not_mine = make_session(coordinator, space, title="Not mine")
    registration_register(actor=learner, session=confirmed)
    registration_register(actor=learner, session=full)
    registration_cancel(
        actor=learner, registration=registration_register(actor=learner, session=left)
    )
    registration_register(actor=learner, session=called_off)
    session_cancel(actor=coordinator, session=called_off)

    response = client.get(feed_path(learner))  # no login: calendar apps do not log in
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8; method=PUBLISH"
    assert response["Content-Disposition"].startswith("inline;")
    assert "private" in response["Cache-Control"]
    assert statuses(response.content) == {
        session_uid(confirmed.pk): "CONFIRMED",
        session_uid(full.pk): "TENTATIVE",
        session_uid(left.pk): "CANCELLED",
        session_uid(called_off.pk): "CANCELLED",
    }
    assert session_uid(not_mine.pk) not in statuses(response.content)
    calendar = parse(response.content)
    assert str(calendar["REFRESH-INTERVAL"].dt) == "1:00:00"
    assert learner.name in str(calendar["X-WR-CALNAME"])


def test_promotion_from_the_waiting_list_confirms_the_feed_entry(
    client, learner, learner2, coordinator, space
):
    session = make_session(coordinator, space, capacity=1)
    seat = registration_register(actor=learner2, session=session)
    registration_register(actor=learner, session=session)
    before = client.get(feed_path(learner))
    assert statuses(before.content) == {session_uid(session.pk): "TENTATIVE"}
    registration_cancel(actor=learner2, registration=seat)  # the head of the list moves up
    after = client.get(feed_path(learner), HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert statuses(after.content) == {session_uid(session.pk): "CONFIRMED"}


def test_each_time_zone_in_use_has_its_vtimezone(client, learner, coordinator, space):
    zones = ["Europe/Paris", "America/New_York", "UTC"]
    for zone in zones:
        registration_register(
            actor=learner, session=make_session(coordinator, space, time_zone=zone, title=zone)
        )
    body = client.get(feed_path(learner)).content
    assert sorted(str(tz["TZID"]) for tz in parse(body).walk("VTIMEZONE")) == [
        "America/New_York",
        "Europe/Paris",
    ]
    for event in events(body):
        zone = str(event["SUMMARY"])
        if zone == "UTC":
            assert "TZID" not in event["DTSTART"].params
            assert event.start.utcoffset().total_seconds() == 0
        else:
            assert event["DTSTART"].params["TZID"] == zone
            assert event["DTEND"].params["TZID"] == zone


@pytest.mark.parametrize("status", ["pending", "offered"])
def test_pending_and_offered_registrations_are_tentative(
    client, learner, coordinator, space, status
):
    session = make_session(coordinator, space)
    Registration.objects.create(session=session, user=learner, status=status)
    assert statuses(client.get(feed_path(learner)).content) == {
        session_uid(session.pk): "TENTATIVE"
    }


def test_a_new_registration_after_a_cancelled_one_wins(client, learner, coordinator, training):
    registration_cancel(
        actor=learner, registration=registration_register(actor=learner, session=training)
    )
    registration_register(actor=learner, session=training)
    assert statuses(client.get(feed_path(learner)).content) == {
        session_uid(training.pk): "CONFIRMED"
    }


def test_trainer_feed_has_the_sessions_they_train(client, trainer, training):
    assert statuses(client.get(feed_path(trainer)).content) == {
        session_uid(training.pk): "CONFIRMED"
    }


def test_old_sessions_fall_out_of_the_feed(client, learner, coordinator, space):
    old = make_session(coordinator, space)
    registration_register(actor=learner, session=old)
    two_years_ago = timezone.now() - timedelta(days=730)
    Session.objects.filter(pk=old.pk).update(
        starts_at=two_years_ago, ends_at=two_years_ago + timedelta(hours=1)
    )
    assert events(client.get(feed_path(learner)).content) == []


def test_feed_answers_304_until_something_changes(client, learner, coordinator, training):
    registration_register(actor=learner, session=training)
    first = client.get(feed_path(learner))
    assert client.get(feed_path(learner), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    session_cancel(actor=coordinator, session=training)
    changed = client.get(feed_path(learner), HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert statuses(changed.content) == {session_uid(training.pk): "CANCELLED"}


@pytest.mark.parametrize("token", ["nope", "x" * 43, "%20", "..%2F..%2Fetc"])
def test_wrong_token_is_404(client, learner, token):
    assert client.get(f"/calendars/feed/{token}.ics").status_code == 404


def test_empty_token_matches_nobody(client, learner):
    type(learner).objects.filter(pk=learner.pk).update(feed_token="")
    assert client.get("/calendars/feed/.ics").status_code == 404
    # A NUL character is refused before any lookup (hub.middleware.RejectNulMiddleware).
    assert client.get("/calendars/feed/%00.ics").status_code == 400


def test_inactive_user_feed_is_404(client, learner):
    type(learner).objects.filter(pk=learner.pk).update(is_active=False)
    assert client.get(feed_path(learner)).status_code == 404


# -- resetting the address --------------------------------------------------------------------
def test_feed_token_reset_service_rotates_the_token(learner):
    before = learner.feed_token
    after = feed_token_reset(user=learner)
    learner.refresh_from_db()
    assert after == learner.feed_token
    assert after and after != before and len(after) >= 40


def test_reset_from_the_page_kills_the_old_address_at_once(client, learner, training):
    registration_register(actor=learner, session=training)
    old = feed_path(learner)
    assert client.get(old).status_code == 200
    client.force_login(learner)
    response = client.post("/calendars/feed/reset/")
    assert response.status_code == 302 and response["Location"] == "/calendars/"
    learner.refresh_from_db()
    assert client.get(old).status_code == 404
    assert client.get(feed_path(learner)).status_code == 200


def test_reset_needs_a_post_and_a_login(client, learner):
    token = learner.feed_token
    client.force_login(learner)
    assert client.get("/calendars/feed/reset/").status_code == 405
    client.logout()
    assert client.post("/calendars/feed/reset/").status_code == 302
    learner.refresh_from_db()
    assert learner.feed_token == token


def test_reset_over_rest(api_client_for, learner):
    old = learner.feed_token
    api = api_client_for(learner)
    response = api.post("/api/v1/calendars/feed/reset/")
    assert response.status_code == 200
    learner.refresh_from_db()
    assert learner.feed_token != old
    assert response.json() == {
        "feed_url": f"{settings.SITE_URL}/calendars/feed/{learner.feed_token}.ics",
        "webcal_url": f"webcal://{settings.SITE_URL.split('://')[1]}/calendars/feed/"
        f"{learner.feed_token}.ics",
    }
    assert api.get("/api/v1/calendars/feed/").json() == response.json()


def test_reset_over_rest_needs_authentication(client, learner):
    token = learner.feed_token
    assert client.post("/api/v1/calendars/feed/reset/").status_code in (401, 403)
    learner.refresh_from_db()
    assert learner.feed_token == token


def test_an_account_without_a_token_gets_one_by_post_never_by_get(api_client_for, client, learner):
    type(learner).objects.filter(pk=learner.pk).update(feed_token="")
    learner.refresh_from_db()
    api = api_client_for(learner)
    assert api.get("/api/v1/calendars/feed/").json() == {"feed_url": None, "webcal_url": None}
    client.force_login(learner)
    page = client.get("/calendars/")
    assert page.status_code == 200 and b'data-testid="feed-create"' in page.content
    learner.refresh_from_db()
    assert learner.feed_token == ""  # neither GET issued one
    body = api.post("/api/v1/calendars/feed/reset/").json()
    learner.refresh_from_db()
    assert learner.feed_token and learner.feed_token in body["feed_url"]
    assert learner.feed_token in api.get("/api/v1/calendars/feed/").json()["feed_url"]


# -- course feeds -----------------------------------------------------------------------------
@pytest.fixture
def course(space):
    return Course.objects.create(space=space, title="Safety basics", published=True)


def course_feed_path(user, course) -> str:
    if not user.feed_token:
        feed_token_reset(user=user)
    return f"/calendars/feed/{user.feed_token}/course/{course.pk}.ics"


def test_published_course_feed_lists_its_sessions_without_private_details(
    client, coordinator, trainer, learner, space, course
):
    virtual = make_session(
        coordinator,
        space,
        course=course,
        kind="virtual",
        join_url="https://meet.example.com/secret-room",
        trainers=[trainer],
    )
    cancelled = make_session(coordinator, space, course=course, title="Cancelled")
    session_cancel(actor=coordinator, session=cancelled)
    make_session(coordinator, space, title="Another course's")
    response = client.get(course_feed_path(learner, course))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    assert response["Content-Type"] == "text/calendar; charset=utf-8; method=PUBLISH"
    assert statuses(response.content) == {
        session_uid(virtual.pk): "CONFIRMED",
        session_uid(cancelled.pk): "CANCELLED",
    }
    assert str(parse(response.content)["X-WR-CALNAME"]) == "Safety basics"
    text = response.content.decode()
    assert "secret-room" not in text
    assert trainer.email not in text
    event = event_by_uid(response.content, session_uid(virtual.pk))
    assert event["ORGANIZER"].params["CN"] == trainer.name
    assert str(event["LOCATION"]) == f"{settings.SITE_URL}/sessions/{virtual.pk}/"


def test_unpublished_or_unknown_course_feed_is_404(client, space, course, learner):
    draft = Course.objects.create(space=space, title="Draft", published=False)
    assert client.get(course_feed_path(learner, draft)).status_code == 404
    assert client.get(f"/calendars/feed/{learner.feed_token}/course/999999.ics").status_code == 404


def test_course_feeds_follow_the_course_s_visibility(
    client, coordinator, learner, outsider, space, course
):
    """Course feeds of every published course were readable by anyone, anonymously. Now:
    at the reader's secret address, for those who may follow the course; 404 for everyone
    else (no course is public)."""
    make_session(coordinator, space, course=course, title="Course session")
    # Anonymous, at the address that was public.
    assert client.get(f"/calendars/course/{course.pk}.ics").status_code == 404
    # A member of the course's space, at their secret address, and signed in.
    mine = client.get(course_feed_path(learner, course))
    assert mine.status_code == 200 and b"Course session" in mine.content
    client.force_login(learner)
    assert client.get(f"/calendars/course/{course.pk}.ics").status_code == 200
    client.logout()
    # Someone of another space, with their own valid token; a wrong or malformed token.
    assert client.get(course_feed_path(outsider, course)).status_code == 404
    client.force_login(outsider)
    assert client.get(f"/calendars/course/{course.pk}.ics").status_code == 404
    client.logout()
    wrong = "x" * 43
    assert client.get(f"/calendars/feed/{wrong}/course/{course.pk}.ics").status_code == 404
    assert client.get(f"/calendars/feed/short/course/{course.pk}.ics").status_code == 404
    # A new token (a reset, a password change) ends the old address.
    old = course_feed_path(learner, course)
    learner.set_password("a new password 123")
    learner.save()
    assert client.get(old).status_code == 404
    assert client.get(course_feed_path(learner, course)).status_code == 200


def test_published_course_without_sessions_is_an_empty_calendar(client, course, learner):
    response = client.get(course_feed_path(learner, course))
    assert response.status_code == 200
    assert events(response.content) == []


# -- regeneration -----------------------------------------------------------------------------
def test_an_unchanged_session_is_not_rebuilt(client, learner, coordinator, space, monkeypatch):
    from calendars import ics

    kept = make_session(coordinator, space, title="Kept")
    changed = make_session(coordinator, space, title="Changed")
    for session in (kept, changed):
        registration_register(actor=learner, session=session)
    client.get(feed_path(learner))
    built: list[int] = []
    real = ics.entry_events
    monkeypatch.setattr(
        ics, "entry_events", lambda entry, **kw: built.append(entry.session.pk) or real(entry)
    )
    Session.objects.filter(pk=changed.pk).update(title="Changed again", sequence=5)
    body = client.get(feed_path(learner)).content
    assert built == [changed.pk]
    assert b"SUMMARY:Kept" in body and b"SUMMARY:Changed again" in body


def test_shared_cache_serves_a_process_that_just_started(client, learner, training, monkeypatch):
    from django.core.cache import cache

    from calendars import ics
    from calendars.selectors import personal_feed_entries

    registration_register(actor=learner, session=training)
    first = client.get(feed_path(learner)).content
    (entry,) = personal_feed_entries(user=learner)
    key = ics.SHARED_KEY.format(ics.entry_fingerprint(entry))
    ics.blocks.clear()  # another process: nothing built here yet
    built: list[int] = []
    real = ics.entry_events
    monkeypatch.setattr(
        ics, "entry_events", lambda entry, **kw: built.append(entry.session.pk) or real(entry)
    )
    again = client.get(feed_path(learner)).content
    if settings.SERVICES_MODE:
        assert built == [] and again == first
        assert cache.get(key) is not None
    else:
        # Embedded: one process, and the local-memory cache is left to the other apps.
        assert built == [training.pk]
        assert cache.get(key) is None
