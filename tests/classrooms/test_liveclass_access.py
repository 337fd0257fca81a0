"""Who may be in a live class (item 4 of issue 13) and what the class records of them
(item 17): a virtual session's class lets in its confirmed registrants, its trainers and
those who run it, never its waiting list or other members of the space; attendance is
the time in a started class, not a visit to the lobby; people are shown as what they are."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from classrooms import selectors
from classrooms import services as classrooms_services
from classrooms.models import AttendanceInterval, LiveClass, LiveClassParticipant
from hub.accounts.models import Role
from sessions import services as sessions_services
from tests.factories import UserFactory, build_live_class
from tests.sessions.conftest import make_session


def _session_class(coordinator, space, learner, learner2, **fields):
    """A virtual session of one seat: ``learner`` confirmed, ``learner2`` waitlisted."""
    session = make_session(coordinator, space, kind="virtual", capacity=1, **fields)
    sessions_services.registration_register(actor=learner, session=session)
    sessions_services.registration_register(actor=learner2, session=session)
    return session, LiveClass.objects.get(session_key=f"sessions.session.{session.pk}")


@pytest.mark.django_db
def test_only_the_confirmed_and_the_hosts_join_a_sessions_class_over_rest(
    api_client_for, coordinator, trainer, space, learner, learner2, outsider
):
    session, room = _session_class(coordinator, space, learner, learner2, trainers=[trainer])
    member = UserFactory(roles=[Role.LEARNER], spaces=[space])
    join = f"/api/v1/liveclasses/{room.pk}/join/"
    for user, expected in [
        (learner2, 403),  # waitlisted
        (member, 403),  # a member of the space, not registered
        (outsider, 404),  # not even in the space: the class does not exist for them
        (learner, 200),
        (trainer, 200),
        (coordinator, 200),  # runs the session
    ]:
        response = api_client_for(user).post(join)
        assert response.status_code == expected, (user, response.content)
    refused = api_client_for(learner2).post(join).json()["error"]
    assert refused["code"] == "forbidden" and "not invited" in refused["message"]
    assert not LiveClassParticipant.objects.filter(user__in=[learner2, member]).exists()
    assert api_client_for(learner2).get(f"/api/v1/liveclasses/{room.pk}/state/").status_code == 404

    # The confirmed learner cancels: the waitlisted one is promoted and takes the place.
    registration = session.registrations.get(user=learner)
    sessions_services.registration_cancel(actor=learner, registration=registration)
    assert api_client_for(learner).post(join).status_code == 403
    assert api_client_for(learner2).post(join).status_code == 200


@pytest.mark.django_db
def test_a_sessions_class_ignores_the_course_enrolment(
    coordinator, space, trainer, learner, learner2
):
    """The session is about a course: being enrolled in the course is not a seat."""
    from classrooms import services

    course = services.course_create(author=trainer, space=space, title="French", published=True)
    for person in (learner, learner2):
        services.enrolment_create(actor=trainer, user=person, course=course)
    _session, room = _session_class(coordinator, space, learner, learner2, course=course)
    assert room.course == course
    assert selectors.liveclass_role(learner, room) == "learner"
    assert selectors.liveclass_role(learner2, room) is None
    # The course's trainer does not run this session (its coordinator does).
    assert selectors.liveclass_role(trainer, room) is None
    assert selectors.liveclass_role(coordinator, room) == "trainer"


@pytest.mark.django_db
def test_a_class_of_neither_course_nor_session_keeps_its_invitee_list(
    trainer, space, learner, learner2
):
    room = classrooms_services.liveclass_create(actor=trainer, space=space, title="Open hour")
    # No invitee list: an open class of the space.
    assert selectors.liveclass_role(learner, room) == "learner"
    room.invitees.add(learner)
    # With one: the invitees (and its trainers), not every member of the space.
    assert selectors.liveclass_role(learner, room) == "learner"
    assert selectors.liveclass_role(learner2, room) is None
    assert selectors.liveclass_role(trainer, room) == "trainer"


@database_sync_to_async
def _setup_ws(coordinator, space, learner, learner2):
    session, room = _session_class(coordinator, space, learner, learner2)
    classrooms_services.liveclass_join(user=learner, live_class=room)
    return session, room


@database_sync_to_async
def _chat_id(room) -> int:
    from messaging.selectors import live_class_chat

    return live_class_chat(key=room.topic).pk


@database_sync_to_async
def _cancel(session, user) -> None:
    registration = session.registrations.get(user=user)
    sessions_services.registration_cancel(actor=user, registration=registration)


@pytest.mark.django_db(transaction=True)
async def test_the_waiting_list_cannot_follow_the_class_or_its_chat(
    communicator_for, coordinator, space, learner, learner2
):
    session, room = await _setup_ws(coordinator, space, learner, learner2)
    chat = f"messaging.conversation.{await _chat_id(room)}"
    inside = await communicator_for(learner)
    assert (await inside.call("sub", topic=room.topic))["op"] == "ok"
    assert (await inside.call("sub", topic=chat))["op"] == "ok"
    waiting = await communicator_for(learner2)
    for topic in (room.topic, chat):
        reply = await waiting.call("sub", topic=topic)
        assert reply["op"] == "error" and reply["code"] == "forbidden", topic

    # Losing the seat (cancelled) shuts the door behind them: the room and its chat.
    await _cancel(session, learner)
    again = await communicator_for(learner)
    for topic in (room.topic, chat):
        reply = await again.call("sub", topic=topic)
        assert reply["op"] == "error" and reply["code"] == "forbidden", topic


# -- item 17: attendance starts with the class; people shown as what they are ---------------
@pytest.mark.django_db
def test_the_lobby_records_no_attendance_the_start_does(trainer, space, learner, monkeypatch):
    lc = build_live_class(trainer=trainer, space=space, learners=[learner], start=False)
    room = lc.live_class
    classrooms_services.liveclass_join(user=learner, live_class=room)
    assert LiveClassParticipant.objects.filter(live_class=room, user=learner).exists()
    assert not AttendanceInterval.objects.filter(participant__live_class=room).exists()
    # A class that never started and is ended: nobody attended it.
    other = build_live_class(trainer=trainer, space=space, learners=[learner], start=False)
    classrooms_services.liveclass_join(user=learner, live_class=other.live_class)
    classrooms_services.liveclass_end(actor=trainer, live_class=other.live_class)
    assert selectors.attendance_rows(LiveClass.objects.get(pk=other.live_class.pk)) == []

    # The trainer starts the class while the learner waits in the lobby (connected).
    monkeypatch.setattr(
        classrooms_services, "present_user_ids", lambda topic: {learner.pk, trainer.pk}
    )
    classrooms_services.liveclass_start(actor=trainer, live_class=room)
    attending = set(
        AttendanceInterval.objects.filter(
            participant__live_class=room, left_at__isnull=True
        ).values_list("participant__user_id", flat=True)
    )
    assert attending == {learner.pk, trainer.pk}


@pytest.mark.django_db
def test_lobby_capacity_counts_who_is_connected(trainer, space, learner, learner2, monkeypatch):
    lc = build_live_class(
        trainer=trainer, space=space, learners=[learner, learner2], capacity=2, start=False
    )
    room = lc.live_class
    classrooms_services.liveclass_join(user=learner, live_class=room)
    monkeypatch.setattr(
        classrooms_services, "present_user_ids", lambda topic: {learner.pk, trainer.pk}
    )
    with pytest.raises(classrooms_services.RoomFull):
        classrooms_services.liveclass_join(user=learner2, live_class=room)


@pytest.mark.django_db
def test_people_are_shown_as_what_they_are(client, trainer, coordinator, space, learner):
    admin = UserFactory(username="admin9", roles=[Role.ADMIN], spaces=[space])
    lc = build_live_class(trainer=trainer, space=space, learners=[learner])
    room = lc.live_class
    for person in (learner, coordinator, admin):
        classrooms_services.liveclass_join(user=person, live_class=room)
    state = selectors.liveclass_state(room, viewer=trainer)
    shown = {p["id"]: (p["role"], p["display_role"]) for p in state["participants"]}
    assert shown == {
        trainer.pk: ("trainer", "trainer"),
        learner.pk: ("learner", "learner"),
        coordinator.pk: ("trainer", "coordinator"),  # the controls, not the title
        admin.pk: ("trainer", "admin"),
    }
    client.force_login(trainer)
    page = client.get(f"/liveclass/{room.pk}/attendance/").content.decode()
    assert page.count('data-testid="attendance-role">Trainer<') == 1
    assert 'data-testid="attendance-role">Coordinator<' in page
    assert 'data-testid="attendance-role">Administrator<' in page
    csv = client.get(f"/liveclass/{room.pk}/attendance.csv").content.decode()
    assert f"{coordinator.name},coordinator," in csv and f"{admin.name},admin," in csv
