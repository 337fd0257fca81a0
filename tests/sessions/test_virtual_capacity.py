"""A virtual session's seats fit in its live classroom (trainers included), whatever the
door: the service, REST and the coordinator's form refuse more with a clear error and change
nothing. The room's size comes from the media backend in use (the relay's or Janus's)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from classrooms.models import LiveClass, default_liveclass_capacity
from sessions import services
from sessions.models import Session
from tests.sessions.conftest import make_session
from tests.sessions.test_pages_manage import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def relay_room_of_six(settings):
    settings.LYCEUM_LIVECLASS_CAPACITY = 6
    settings.LYCEUM_MEDIA = {**settings.LYCEUM_MEDIA, "BACKEND": "classrooms.media.AiortcRelay"}


def test_the_room_size_comes_from_the_media_backend_in_use(settings) -> None:
    assert default_liveclass_capacity() == 6
    settings.LYCEUM_MEDIA = {**settings.LYCEUM_MEDIA, "BACKEND": "classrooms.janus.JanusBackend"}
    settings.LYCEUM_JANUS = {**settings.LYCEUM_JANUS, "CAPACITY": 120}
    assert default_liveclass_capacity() == 120


def test_seats_beyond_the_room_are_refused_on_create_and_update(coordinator, space, trainer):
    with pytest.raises(ValidationError) as refused:
        make_session(coordinator, space, kind="virtual", capacity=6, trainers=[trainer])
    assert "at most 5 attendees" in str(refused.value.message_dict["capacity"])
    assert not Session.objects.exists()

    session = make_session(coordinator, space, kind="virtual", capacity=5, trainers=[trainer])
    with pytest.raises(ValidationError):
        services.session_update(actor=coordinator, session=session, capacity=6)
    session.refresh_from_db()
    assert session.capacity == 5
    # A second trainer takes a place in the room too.
    with pytest.raises(ValidationError):
        services.session_update(actor=coordinator, session=session, trainers=[trainer, coordinator])
    # Turning a big face-to-face session into a virtual one: the same rule.
    hall = make_session(coordinator, space, capacity=40)
    with pytest.raises(ValidationError):
        services.session_update(actor=coordinator, session=hall, kind="virtual")
    assert Session.objects.get(pk=hall.pk).kind == "face_to_face"


def test_a_bigger_room_allows_more_seats(coordinator, space, trainer):
    session = make_session(coordinator, space, kind="virtual", capacity=5, trainers=[trainer])
    LiveClass.objects.filter(session_key=f"sessions.session.{session.pk}").update(capacity=30)
    services.session_update(actor=coordinator, session=session, capacity=29)
    assert Session.objects.get(pk=session.pk).capacity == 29


def test_rest_and_the_form_refuse_with_the_reason(api_client_for, client, coordinator, space):
    start = timezone.now() + timedelta(days=5)
    reply = api_client_for(coordinator).post(
        "/api/v1/sessions/",
        {
            "space": space.pk,
            "kind": "virtual",
            "title": "Too big",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "capacity": 50,
        },
        format="json",
    )
    assert reply.status_code == 400, reply.content[:300]
    assert "capacity" in reply.json()["error"]["details"]

    client.force_login(coordinator)
    page = client.post("/sessions/new/", form_data(space, start, kind="virtual", capacity="50"))
    assert page.status_code == 200 and b"A virtual class holds at most 5 attendees" in page.content
    assert not Session.objects.exists()
