"""A virtual-class session is held in the live classroom: created with it, kept in step."""

from __future__ import annotations

import pytest
from django.conf import settings

from classrooms.models import LiveClass
from classrooms.selectors import can_join_liveclass
from sessions import services
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db


def test_a_virtual_session_gets_its_live_class_and_join_link(coordinator, space, trainer):
    session = make_session(coordinator, space, kind="virtual", trainers=[trainer])
    live_class = LiveClass.objects.get(session_key=f"sessions.session.{session.pk}")
    assert list(live_class.trainers.all()) == [trainer]
    assert live_class.scheduled_start == session.starts_at
    session.refresh_from_db()
    assert session.join_url == settings.SITE_URL + live_class.get_absolute_url()


def test_confirmed_attendees_may_join_and_others_may_not(
    coordinator, space, learner, learner2, outsider
):
    session = make_session(coordinator, space, kind="virtual", capacity=1)
    services.registration_register(actor=learner, session=session)
    services.registration_register(actor=learner2, session=session)  # waitlisted
    live_class = LiveClass.objects.get(session_key=f"sessions.session.{session.pk}")
    assert live_class.invitees.filter(pk=learner.pk).exists()
    assert not live_class.invitees.filter(pk=learner2.pk).exists()
    assert not can_join_liveclass(outsider, live_class)

    mine = session.registrations.get(user=learner)
    services.registration_cancel(actor=learner, registration=mine)  # learner2 is promoted
    assert list(live_class.invitees.all()) == [learner2]


def test_cancelling_the_session_ends_its_live_class_and_shuts_its_door(coordinator, space, learner):
    session = make_session(coordinator, space, kind="virtual")
    services.registration_register(actor=learner, session=session)
    live_class = LiveClass.objects.get(session_key=f"sessions.session.{session.pk}")
    assert can_join_liveclass(learner, live_class)
    services.session_cancel(actor=coordinator, session=session)
    live_class.refresh_from_db()
    assert live_class.status == "ended"
    assert not live_class.invitees.exists()
    assert not can_join_liveclass(learner, live_class)


def test_a_session_that_stops_being_virtual_drops_the_room_and_its_link(coordinator, space):
    session = make_session(coordinator, space, kind="virtual")
    services.session_update(actor=coordinator, session=session, kind="face_to_face")
    session.refresh_from_db()
    assert session.join_url == ""
    live_class = LiveClass.objects.get(session_key=f"sessions.session.{session.pk}")
    assert live_class.status == "ended"
    # A link of another tool, given by the coordinator, is theirs: it stays.
    external = make_session(
        coordinator, space, kind="virtual", join_url="https://meet.example.org/x"
    )
    services.session_update(actor=coordinator, session=external, kind="coaching")
    external.refresh_from_db()
    assert external.join_url == "https://meet.example.org/x"


def test_a_coordinators_own_link_is_kept_and_other_kinds_get_no_class(coordinator, space):
    external = make_session(
        coordinator, space, kind="virtual", join_url="https://meet.example.org/x"
    )
    assert external.join_url == "https://meet.example.org/x"
    assert LiveClass.objects.filter(session_key=f"sessions.session.{external.pk}").exists()
    workshop = make_session(coordinator, space, kind="face_to_face")
    assert not LiveClass.objects.filter(session_key=f"sessions.session.{workshop.pk}").exists()


def test_session_page_offers_its_ics_and_the_join_link_to_the_confirmed(
    client, coordinator, space, learner, learner2
):
    session = make_session(coordinator, space, kind="virtual", capacity=1)
    services.registration_register(actor=learner, session=session)
    services.registration_register(actor=learner2, session=session)
    session.refresh_from_db()
    client.force_login(learner)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f'href="/calendars/session/{session.pk}.ics"' in page
    assert session.join_url in page
    client.force_login(learner2)  # waitlisted: no join link yet
    assert session.join_url not in client.get(f"/sessions/{session.pk}/").content.decode()


def test_a_seat_change_never_writes_back_the_rooms_own_state(
    coordinator, space, trainer, learner, monkeypatch
):
    """The sync read the room before the trainer started and locked it: its save must not
    undo that (it writes only the fields the session owns)."""
    from classrooms import services as classrooms_services

    session = make_session(coordinator, space, kind="virtual", trainers=[trainer])
    stale = LiveClass.objects.get(session_key=f"sessions.session.{session.pk}")
    LiveClass.objects.filter(pk=stale.pk).update(status="live", locked=True)

    class StaleRead:
        def filter(self, **kwargs):
            return self

        def first(self):
            return stale

    monkeypatch.setattr(classrooms_services.LiveClass, "objects", StaleRead())
    services.registration_register(actor=learner, session=session)
    monkeypatch.undo()
    room = LiveClass.objects.get(pk=stale.pk)
    assert (room.status, room.locked) == ("live", True)
    assert room.invitees.filter(pk=learner.pk).exists()


def test_rest_gives_the_join_link_only_to_the_confirmed_and_the_organisers(
    api_client_for, coordinator, space, learner, learner2
):
    session = make_session(coordinator, space, kind="virtual", capacity=1)
    services.registration_register(actor=learner, session=session)
    services.registration_register(actor=learner2, session=session)  # waitlisted
    session.refresh_from_db()
    for user, sees in ((learner, True), (coordinator, True), (learner2, False)):
        client = api_client_for(user)
        detail = client.get(f"/api/v1/sessions/{session.pk}/").json()
        listed = next(s for s in client.get("/api/v1/sessions/").json() if s["id"] == session.pk)
        expected = session.join_url if sees else None
        assert detail["join_url"] == listed["join_url"] == expected, user
