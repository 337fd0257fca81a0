"""Live classes through their services: joining (lock, capacity, removal), hands, polls,
whiteboard, breakout rooms, attendance intervals and completion at the minimum presence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from classrooms import selectors, services
from classrooms.models import (
    AttendanceInterval,
    Completion,
    LiveClassParticipant,
    LiveClassStatus,
    PollVote,
    WhiteboardStroke,
)
from hub import events
from hub.accounts.models import Role
from tests.factories import UserFactory, build_live_class


@pytest.fixture
def lc(trainer, space, learner, learner2):
    return build_live_class(trainer=trainer, space=space, learners=[learner, learner2])


@pytest.fixture
def room(lc):
    return lc.live_class


@pytest.fixture
def captured(monkeypatch, commit):
    """Domain events emitted (after commit): ``captured()`` -> [(name, payload)]."""
    seen: list[tuple[str, dict]] = []
    monkeypatch.setattr(events, "_dispatch", lambda name, payload: seen.append((name, payload)))

    def select() -> list[tuple[str, dict]]:
        commit()
        return seen

    return select


def join(user, live_class):
    return services.liveclass_join(user=user, live_class=live_class)


# -- roles and joining ---------------------------------------------------------------------
def test_roles(room, trainer, learner, outsider, space, coordinator):
    assert selectors.liveclass_role(trainer, room) == "trainer"
    assert selectors.liveclass_role(learner, room) == "learner"
    assert selectors.liveclass_role(outsider, room) is None
    assert selectors.liveclass_role(coordinator, room) == "trainer"  # edits the course
    stranger = UserFactory(roles=[Role.LEARNER], spaces=[space])
    assert selectors.liveclass_role(stranger, room) is None
    assert not selectors.can_join_liveclass(stranger, room)
    room.invitees.add(stranger)
    assert selectors.liveclass_role(stranger, room) == "learner"


def test_join_opens_one_interval_and_a_second_tab_changes_nothing(
    room, learner, published, captured
):
    join(learner, room)
    join(learner, room)
    participant = LiveClassParticipant.objects.get(live_class=room, user=learner)
    assert participant.role == "learner"
    assert AttendanceInterval.objects.filter(participant=participant).count() == 1
    assert [e.type for e in published(room.topic)].count("participant.joined") == 1
    joined = [p for name, p in captured() if name == "classrooms.liveclass_joined"]
    assert joined and joined[0]["user"] == learner and joined[0]["host"] is False


def test_first_join_opens_the_lobby(trainer, space, learner):
    lc = build_live_class(trainer=trainer, space=space, learners=[learner], start=False)
    assert lc.live_class.status == LiveClassStatus.LOBBY
    join(learner, lc.live_class)
    with pytest.raises(services.Conflict):
        services.hand_raise(user=learner, live_class=lc.live_class)  # not started yet


def test_outsider_cannot_join(room, outsider):
    with pytest.raises(PermissionDenied):
        join(outsider, room)
    assert not LiveClassParticipant.objects.filter(user=outsider).exists()


def test_capacity_refuses_the_one_too_many_with_a_clear_error(trainer, space, learner, learner2):
    lc = build_live_class(trainer=trainer, space=space, learners=[learner, learner2], capacity=2)
    join(learner, lc.live_class)
    with pytest.raises(services.RoomFull) as excinfo:
        join(learner2, lc.live_class)
    assert "full" in str(excinfo.value.detail)
    assert not LiveClassParticipant.objects.filter(user=learner2).exists()
    # Someone leaving makes room; a trainer is never kept out of their own class.
    services.liveclass_leave(user=learner, live_class=lc.live_class)
    join(learner2, lc.live_class)


def test_lock_stops_newcomers_only(room, trainer, learner, learner2):
    join(learner, room)
    services.liveclass_control(actor=trainer, live_class=room, action="lock")
    with pytest.raises(services.Conflict):
        join(learner2, room)
    services.liveclass_leave(user=learner, live_class=room)
    join(learner, room)  # was in before: may come back
    with pytest.raises(PermissionDenied):
        services.liveclass_control(actor=learner, live_class=room, action="unlock")


def test_remove_bars_re_entry_revokes_and_tells_the_media_side(
    room, trainer, learner, published, captured, monkeypatch
):
    from hub import realtime

    revoked = []
    monkeypatch.setattr(realtime, "revoke", lambda topic, user_id: revoked.append((topic, user_id)))
    join(learner, room)
    services.hand_raise(user=learner, live_class=room)
    services.liveclass_remove(actor=trainer, live_class=room, user=learner)
    assert revoked == [(room.topic, learner.pk)]
    assert not selectors.can_join_liveclass(learner, room)
    assert selectors.hand_queue(room) == []
    with pytest.raises(PermissionDenied):
        join(learner, room)
    names = [name for name, _ in captured()]
    assert "classrooms.liveclass_left" in names and "classrooms.liveclass_removed" in names
    assert any(e.type == "participant.removed" for e in published(room.topic))


def test_learner_cannot_use_trainer_controls(room, learner, learner2):
    join(learner, room)
    join(learner2, room)
    for call in (
        lambda: services.liveclass_control(actor=learner, live_class=room, action="mute_all"),
        lambda: services.liveclass_remove(actor=learner, live_class=room, user=learner2),
        lambda: services.liveclass_end(actor=learner, live_class=room),
        lambda: services.liveclass_set_recording(actor=learner, live_class=room, on=True),
        lambda: services.hand_lower(actor=learner, live_class=room, everyone=True),
        lambda: services.breakout_open(actor=learner, live_class=room, count=2),
        lambda: services.board_clear(actor=learner, live_class=room),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_recording_publishes_and_emits(room, trainer, published, captured):
    services.liveclass_set_recording(actor=trainer, live_class=room, on=True)
    services.liveclass_set_recording(actor=trainer, live_class=room, on=True)  # no change
    types = [e.type for e in published(room.topic)]
    assert types.count("recording.changed") == 1
    assert ("classrooms.liveclass_recording", {"live_class_id": room.pk, "on": True}) in captured()


# -- hands -------------------------------------------------------------------------------
def test_hands_queue_in_order_lower_own_one_or_all(room, trainer, learner, learner2, space):
    third = UserFactory(roles=[Role.LEARNER], spaces=[space])
    room.invitees.add(third)
    for user in (learner, learner2, third):
        join(user, room)
    services.hand_raise(user=learner2, live_class=room)
    services.hand_raise(user=learner, live_class=room)
    services.hand_raise(user=third, live_class=room)
    services.hand_raise(user=learner2, live_class=room)  # again: keeps its place
    assert [h["user"] for h in selectors.hand_queue(room)] == [learner2.pk, learner.pk, third.pk]
    services.hand_lower(actor=learner, live_class=room)  # own
    assert [h["user"] for h in selectors.hand_queue(room)] == [learner2.pk, third.pk]
    with pytest.raises(PermissionDenied):
        services.hand_lower(actor=learner, live_class=room, user_id=third.pk)
    services.hand_lower(actor=trainer, live_class=room, user_id=learner2.pk)
    assert [h["user"] for h in selectors.hand_queue(room)] == [third.pk]
    services.hand_raise(user=learner, live_class=room)
    services.hand_lower(actor=trainer, live_class=room, everyone=True)
    assert selectors.hand_queue(room) == []


def test_reactions_are_ephemeral_and_checked(room, learner, published):
    join(learner, room)
    services.liveclass_react(user=learner, live_class=room, emoji="👏")
    with pytest.raises(ValidationError):
        services.liveclass_react(user=learner, live_class=room, emoji="<b>")
    (event,) = [e for e in published(room.topic) if e.type == "reaction"]
    assert event.id is None and event.data["emoji"] == "👏"


# -- polls -------------------------------------------------------------------------------
def test_poll_one_vote_each_changeable_until_closed(room, trainer, learner, learner2, published):
    join(learner, room)
    join(learner2, room)
    poll = services.poll_create(
        actor=trainer, live_class=room, question="Tea?", choices=["yes", "no"], anonymous=False
    )
    services.poll_vote(user=learner, poll=poll, choice=0)
    services.poll_vote(user=learner, poll=poll, choice=1)  # changed
    services.poll_vote(user=learner2, poll=poll, choice=1)
    assert PollVote.objects.filter(poll=poll).count() == 2
    assert selectors.poll_results(poll) == [0, 2]
    updated = [e for e in published(room.topic) if e.type == "poll.updated"]
    assert updated[-1].data["results"] == [0, 2]
    assert {v["user"] for v in updated[-1].data["voters"]} == {learner.pk, learner2.pk}
    with pytest.raises(ValidationError):
        services.poll_vote(user=learner, poll=poll, choice=5)
    services.poll_close(actor=trainer, poll=poll)
    with pytest.raises(services.Conflict):
        services.poll_vote(user=learner, poll=poll, choice=0)
    assert selectors.poll_results(poll) == [0, 2]


def test_anonymous_poll_never_names_voters(room, trainer, learner, published):
    join(learner, room)
    poll = services.poll_create(
        actor=trainer, live_class=room, question="Clear?", choices=["a", "b", "c"], anonymous=True
    )
    services.poll_vote(user=learner, poll=poll, choice=2)
    services.poll_close(actor=trainer, poll=poll)
    for event in published(room.topic):
        if event.type.startswith("poll."):
            assert "voters" not in event.data
            assert learner.name not in str(event.data) and "my_vote" not in event.data
    assert "voters" not in selectors.poll_payload(poll, viewer=trainer)
    assert selectors.poll_payload(poll, viewer=learner)["my_vote"] == 2
    assert selectors.poll_payload(poll)["results"] == [0, 0, 1]


def test_poll_needs_a_trainer_and_sane_choices(room, trainer, learner):
    join(learner, room)
    with pytest.raises(PermissionDenied):
        services.poll_create(
            actor=learner, live_class=room, question="?", choices=["a", "b"], anonymous=False
        )
    with pytest.raises(ValidationError):
        services.poll_create(
            actor=trainer, live_class=room, question="Q", choices=["a", " "], anonymous=False
        )


# -- whiteboard --------------------------------------------------------------------------
STROKE = {"points": [[0.1, 0.1], [0.5, 0.5]], "color": "#112233", "width": 3}


def test_whiteboard_undo_own_last_and_clear(room, trainer, learner, published):
    join(learner, room)
    a = services.stroke_add(user=learner, live_class=room, data=STROKE)
    b = services.stroke_add(user=trainer, live_class=room, data=STROKE)
    c = services.stroke_add(user=learner, live_class=room, data=STROKE)
    assert services.stroke_undo(user=learner, live_class=room) == c.pk
    assert [s["id"] for s in selectors.board_strokes(room)] == [a.pk, b.pk]
    assert services.stroke_undo(user=learner, live_class=room) == a.pk
    assert services.stroke_undo(user=learner, live_class=room) is None
    assert [s["id"] for s in selectors.board_strokes(room)] == [b.pk]
    services.board_clear(actor=trainer, live_class=room)
    assert not WhiteboardStroke.objects.filter(live_class=room).exists()
    durable = [e for e in published(room.topic) if e.id is not None]
    assert [e.type for e in durable][-6:] == [
        "stroke.added",
        "stroke.added",
        "stroke.added",
        "stroke.removed",
        "stroke.removed",
        "board.cleared",
    ]
    ids = [e.id for e in durable]
    assert ids == sorted(ids)


# -- breakout rooms ----------------------------------------------------------------------
def test_breakouts_by_hand_and_at_random_then_call_back(room, trainer, learner, learner2, space):
    extra = [UserFactory(roles=[Role.LEARNER], spaces=[space]) for _ in range(3)]
    room.invitees.add(*extra)
    room.capacity = 10  # whatever the measured default is: six people split into two rooms
    room.save(update_fields=["capacity"])
    people = [learner, learner2, *extra]
    for user in people:
        join(user, room)
    services.breakout_open(
        actor=trainer, live_class=room, count=2, minutes=5, assignments={learner.pk: 2}
    )
    room.refresh_from_db()
    assert room.breakout_count == 2 and room.breakout_ends_at > timezone.now()
    rooms = dict(
        LiveClassParticipant.objects.filter(live_class=room, role="learner").values_list(
            "user_id", "breakout_room"
        )
    )
    assert rooms[learner.pk] == 2
    assert sorted(rooms.values()).count(1) in (2, 3) and set(rooms.values()) == {1, 2}
    # A hand raised in a breakout room shows its room to the trainer.
    services.hand_raise(user=learner, live_class=room)
    assert selectors.hand_queue(room)[0]["breakout_room"] == 2
    services.stroke_add(user=learner, live_class=room, data=STROKE, room=2)
    other = next(u for u in people if rooms[u.pk] == 1)
    with pytest.raises(PermissionDenied):
        services.stroke_add(user=other, live_class=room, data=STROKE, room=2)
    with pytest.raises(services.Conflict):
        services.breakout_open(actor=trainer, live_class=room, count=3)
    services.breakout_broadcast(actor=trainer, live_class=room, message="5 minutes left")
    services.breakout_close(actor=trainer, live_class=room)
    room.refresh_from_db()
    assert room.breakout_count == 0
    assert not LiveClassParticipant.objects.filter(breakout_room__isnull=False).exists()
    with pytest.raises(services.Conflict):
        services.breakout_broadcast(actor=trainer, live_class=room, message="hello?")


def test_breakout_assignment_of_a_stranger_is_refused(room, trainer, learner, outsider):
    join(learner, room)
    with pytest.raises(ValidationError):
        services.breakout_open(
            actor=trainer, live_class=room, count=2, assignments={outsider.pk: 1}
        )
    with pytest.raises(ValidationError):
        services.breakout_open(actor=trainer, live_class=room, count=2, assignments={learner.pk: 3})
    room.refresh_from_db()
    assert room.breakout_count == 0


# -- attendance and completion -----------------------------------------------------------
def test_attendance_sync_follows_presence(room, learner, learner2, published):
    join(learner, room)
    join(learner2, room)
    now = timezone.now()
    later = now + timedelta(seconds=60)
    # learner2's sockets are gone: counted gone at most one heartbeat after last seen.
    services.liveclass_attendance_sync(
        live_class=room, present_user_ids={learner.pk, room.trainers.get().pk}, now=later
    )
    gone = AttendanceInterval.objects.get(participant__user=learner2)
    assert gone.left_at == gone.last_seen_at + timedelta(
        seconds=services.LIVECLASS_HEARTBEAT_SECONDS
    )
    kept = AttendanceInterval.objects.get(participant__user=learner)
    assert kept.left_at is None and kept.last_seen_at == later
    assert any(
        e.type == "participant.left" and e.data == {"id": learner2.pk}
        for e in published(room.topic)
    )
    # Back (a second tab survived): a new interval opens.
    services.liveclass_attendance_sync(
        live_class=room, present_user_ids={learner.pk, learner2.pk}, now=later
    )
    assert AttendanceInterval.objects.filter(participant__user=learner2).count() == 2


def test_back_within_moments_continues_the_same_stretch(room, learner, monkeypatch):
    """A blip (the socket dropped, the presence hook closed the stretch) leaves one stretch."""
    join(learner, room)
    services.liveclass_leave(user=learner, live_class=room)
    join(learner, room)
    (stretch,) = AttendanceInterval.objects.filter(participant__user=learner)
    assert stretch.left_at is None
    # Back after longer than the window: a new stretch, the first one kept as it ended.
    services.liveclass_leave(user=learner, live_class=room)
    ended = AttendanceInterval.objects.get(participant__user=learner).left_at
    later = ended + timedelta(seconds=services.LIVECLASS_REJOIN_SECONDS + 1)
    monkeypatch.setattr(services.timezone, "now", lambda: later)
    join(learner, room)
    stretches = AttendanceInterval.objects.filter(participant__user=learner).order_by("joined_at")
    assert [s.left_at for s in stretches] == [ended, None]
    assert stretches[1].joined_at == later


def test_a_fresh_join_is_not_closed_before_its_socket_subscribes(room, learner):
    join(learner, room)
    services.liveclass_attendance_sync(live_class=room, present_user_ids=set())
    assert AttendanceInterval.objects.get(participant__user=learner).left_at is None


def _interval(live_class, user, start, end):
    participant = LiveClassParticipant.objects.get(live_class=live_class, user=user)
    AttendanceInterval.objects.filter(participant=participant).delete()
    AttendanceInterval.objects.create(
        participant=participant, joined_at=start, left_at=end, last_seen_at=end
    )


def test_end_completes_the_activity_at_min_presence(
    room, lc, trainer, learner, learner2, captured, monkeypatch
):
    join(learner, room)
    join(learner2, room)
    start = timezone.now() - timedelta(minutes=60)
    room.started_at = start
    room.save(update_fields=["started_at"])
    end = timezone.now()
    _interval(room, learner, start - timedelta(minutes=5), start + timedelta(minutes=50))  # 83 %
    _interval(room, learner2, start + timedelta(minutes=10), start + timedelta(minutes=40))  # 50 %
    services.liveclass_end(actor=trainer, live_class=room)
    room.refresh_from_db()
    assert room.status == LiveClassStatus.ENDED and room.ended_at >= end
    done = set(Completion.objects.filter(activity=lc.activity).values_list("user_id", flat=True))
    assert done == {learner.pk}
    assert ("classrooms.liveclass_ended", {"live_class_id": room.pk}) in captured()
    # The class is over: nobody joins, intervals are closed, the report stays.
    assert not selectors.open_intervals(room).exists()
    with pytest.raises(services.Conflict):
        join(learner, room)
    rows = {r["user"]: r for r in selectors.attendance_rows(room)}
    assert rows[learner.pk]["percent"] >= 75 and rows[learner2.pk]["percent"] < 75


def test_liveclass_for_session_is_idempotent(space, trainer, learner):
    kwargs = dict(
        session_key="sessions.session.7", space=space, title="Virtual session",
        trainers=[trainer], attendees=[learner],
    )  # fmt: skip
    first = services.liveclass_for_session(**kwargs)
    again = services.liveclass_for_session(**{**kwargs, "title": "Renamed"})
    assert first.pk == again.pk and again.title == "Renamed"
    assert selectors.liveclass_role(learner, again) == "learner"
    assert selectors.liveclass_role(trainer, again) == "trainer"


def test_mute_and_spotlight_controls(room, trainer, learner, outsider, published):
    join(learner, room)
    services.liveclass_control(actor=trainer, live_class=room, action="mute", user_id=learner.pk)
    services.liveclass_control(actor=trainer, live_class=room, action="mute_all")
    services.liveclass_control(
        actor=trainer, live_class=room, action="spotlight", user_id=learner.pk
    )
    with pytest.raises(ValidationError):  # not a participant
        services.liveclass_control(
            actor=trainer, live_class=room, action="spotlight", user_id=outsider.pk
        )
    controls = [e.data for e in published(room.topic) if e.type == "control"]
    assert controls == [
        {"action": "mute", "user": learner.pk},
        {"action": "mute_all", "except": trainer.pk},
    ]
    room.refresh_from_db()
    assert room.spotlight_id == learner.pk
    changed = [e for e in published(room.topic) if e.type == "class.changed"]
    assert changed[-1].data["spotlight"] == learner.pk and changed[-1].id is not None


def _age(live_class, user, *, joined_minutes_ago: int, seen_minutes_ago: int) -> None:
    now = timezone.now()
    AttendanceInterval.objects.filter(
        participant__live_class=live_class, participant__user=user
    ).update(
        joined_at=now - timedelta(minutes=joined_minutes_ago),
        last_seen_at=now - timedelta(minutes=seen_minutes_ago),
    )


def test_end_counts_someone_who_vanished_until_last_seen(room, trainer, learner):
    join(learner, room)
    _age(room, learner, joined_minutes_ago=30, seen_minutes_ago=20)
    services.liveclass_end(actor=trainer, live_class=room)  # nobody is connected here
    interval = AttendanceInterval.objects.get(participant__user=learner)
    assert timezone.now() - interval.left_at > timedelta(minutes=19)


def test_a_ghost_does_not_keep_a_full_room_full(trainer, space, learner, learner2):
    lc = build_live_class(trainer=trainer, space=space, learners=[learner, learner2], capacity=2)
    join(learner, lc.live_class)
    _age(lc.live_class, learner, joined_minutes_ago=5, seen_minutes_ago=5)
    _age(lc.live_class, trainer, joined_minutes_ago=5, seen_minutes_ago=5)
    join(learner2, lc.live_class)  # learner's socket is gone: their seat is free
    assert AttendanceInterval.objects.get(participant__user=learner).left_at is not None
