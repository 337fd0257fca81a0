"""``classrooms.liveclass.<id>`` (a live class's room) and
``classrooms.liveclass.<id>-<n>.breakout`` (its breakout room n): see their classes below.

``classrooms.course.<id>.progress``: each learner's progress in a course, live, for its editors;

and ``classrooms.team.<id>.progress``: the same events for one team's members, which is
what their manager follows (a course topic would show them every learner). Durable: every
``progress.updated`` carries the completion's id (and, for a quiz, the best score).
Ephemeral on both: ``quiz.scored`` (every scored attempt: the learner's best score) and
``progress.recomputed`` (the course's required activities changed: the learners whose
progress or status moved, batched).
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404

from classrooms import media, services
from classrooms.api import (
    BreakoutMessageSerializer,
    BreakoutOpenSerializer,
    BreakoutSaySerializer,
    ControlSerializer,
    HandLowerSerializer,
    LiveReactionSerializer,
    PollCreateSerializer,
    PollRefSerializer,
    PollVoteSerializer,
    RecordingSerializer,
    StrokeSerializer,
)
from classrooms.models import Course, LiveClass, LiveClassStatus, Poll
from classrooms.selectors import (
    breakout_key,
    can_join_liveclass,
    can_watch_course_topic,
    can_watch_team_topic,
    is_in_liveclass,
    liveclass_events_after,
    liveclass_payload,
    may_be_in_breakout_room,
    participant_of,
    poll_payload,
    present_participant_count,
    present_user_ids,
    progress_after,
    progress_events,
    stroke_payload,
    team_progress_after,
)
from hub import realtime
from hub.accounts.models import User
from hub.params import parse_id


@realtime.topic("classrooms.course.progress")
class CourseProgressTopic(realtime.Topic):
    """Every learner of a course: the course's editors only."""

    def authorize(self, user: Any, key: str) -> bool:
        course_id = parse_id(key)
        if course_id is None:
            return False
        course = Course.objects.filter(pk=course_id).first()
        return course is not None and can_watch_course_topic(user=user, course=course)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return progress_events(
            list(progress_after(course_id=int(key), after_id=since, limit=limit))
        )


@realtime.topic("classrooms.team.progress")
class TeamProgressTopic(realtime.Topic):
    """``classrooms.team.<id>.progress``: a team's members, in every course, for its manager."""

    def authorize(self, user: Any, key: str) -> bool:
        team_id = parse_id(key)
        return team_id is not None and can_watch_team_topic(user=user, team_id=team_id)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        rows = team_progress_after(team_id=int(key), after_id=since, limit=limit)
        return progress_events(list(rows))


def _live_class(key: str) -> LiveClass:
    return get_object_or_404(LiveClass, pk=int(key))


def _conflict(exc: services.Conflict) -> realtime.GatewayError:
    return realtime.GatewayError("conflict", str(exc.detail))


class MediaSignalling:
    """The ``media.*`` actions, on a class's room and on each of its breakout rooms.

    Offer, answer, ICE, camera/microphone/screen state: they delegate to classrooms/media.py,
    whose media room is the topic's key (``<id>``, or ``<id>-<n>`` for breakout room n).
    Coroutines on purpose: the peer connections live on the server's event loop. Events
    (ephemeral, on the same topic): ``media.published`` / ``media.unpublished`` /
    ``media.toggled``.
    """

    @realtime.action("media.publish", serializer=media.OfferSerializer)
    async def media_publish(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """Offer -> answer for the user's one publication (mic, camera, trainer's screen)."""
        return await media.media_publish(user, key, data)

    @realtime.action("media.subscribe", serializer=media.SubscribeSerializer)
    async def media_subscribe(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """Receive-only offer -> answer carrying ``publisher``'s relayed tracks."""
        return await media.media_subscribe(user, key, data)

    @realtime.action("media.answer", serializer=media.AnswerSerializer)
    async def media_answer(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """The client's answer to a subscription the media server offered (Janus)."""
        return await media.media_answer(user, key, data)

    @realtime.action("media.layer", serializer=media.LayerSerializer)
    async def media_layer(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """The simulcast layer one of the user's subscriptions receives (Janus)."""
        return await media.media_layer(user, key, data)

    @realtime.action("media.ice", serializer=media.IceSerializer)
    async def media_ice(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return await media.media_ice(user, key, data)

    @realtime.action("media.toggle", serializer=media.ToggleSerializer)
    async def media_toggle(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return await media.media_toggle(user, key, data)

    @realtime.action("media.list")
    async def media_list(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return await media.media_list(user, key, data)

    @realtime.action("media.leave")
    async def media_leave(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return await media.media_leave(user, key, data)


@realtime.topic("classrooms.liveclass")
class LiveClassTopic(MediaSignalling, realtime.Topic):
    """``classrooms.liveclass.<id>``: the room of a live class, for the people in it.

    Subscribing needs a join first (REST ``join``: role, lock, capacity, removal are
    checked there). Durable events (``class.changed``, ``stroke.*``, ``board.cleared``,
    ``poll.opened`` / ``poll.closed``, ``recording.changed``, ``breakout.*``) carry the
    id of their ``LiveClassEvent`` row; hands, reactions, controls, poll results and
    comings and goings are ephemeral (the page refetches the state after a reconnect).
    """

    presence = True

    def authorize(self, user: Any, key: str) -> bool:
        class_id = parse_id(key)
        if class_id is None:
            return False
        live_class = LiveClass.objects.filter(pk=class_id).first()
        return (
            live_class is not None
            and can_join_liveclass(user, live_class)
            and is_in_liveclass(user, live_class)
        )

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        rows = liveclass_events_after(live_class_id=int(key), room=0, after_id=since, limit=limit)
        return [realtime.Event(e.type, e.data, id=e.pk) for e in rows]

    def presence_left(self, user: Any, key: str) -> None:
        """Their last socket is gone: the attendance interval closes now, not at the next
        heartbeat (a page that comes back opens a new one)."""
        class_id = parse_id(key)
        live_class = LiveClass.objects.filter(pk=class_id).first() if class_id is not None else None
        if live_class is not None and live_class.status != LiveClassStatus.ENDED:
            services.liveclass_leave(user=user, live_class=live_class)

    @realtime.action("heartbeat")
    def heartbeat(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """The page says it is still here; attendance follows the topic's presence."""
        live_class = _live_class(key)
        services.liveclass_attendance_sync(
            live_class=live_class, present_user_ids=present_user_ids(live_class.topic)
        )
        return {"present_count": present_participant_count(live_class)}

    @realtime.action("leave")
    def leave(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        services.liveclass_leave(user=user, live_class=_live_class(key))
        return {}

    @realtime.action("start")
    def start(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return liveclass_payload(services.liveclass_start(actor=user, live_class=_live_class(key)))

    @realtime.action("end")
    def end(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return liveclass_payload(services.liveclass_end(actor=user, live_class=_live_class(key)))

    @realtime.action("hand.raise")
    def hand_raise(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"hands": services.hand_raise(user=user, live_class=_live_class(key))}
        except services.Conflict as exc:
            raise _conflict(exc) from exc

    @realtime.action("hand.lower", serializer=HandLowerSerializer)
    def hand_lower(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        hands = services.hand_lower(
            actor=user, live_class=_live_class(key), user_id=data["user"], everyone=data["everyone"]
        )
        return {"hands": hands}

    @realtime.action("react", serializer=LiveReactionSerializer)
    def react(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        services.liveclass_react(user=user, live_class=_live_class(key), emoji=data["emoji"])
        return {}

    @realtime.action("control", serializer=ControlSerializer)
    def control(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        live_class = _live_class(key)
        try:
            if data["action"] == "remove":
                target = get_object_or_404(User, pk=data["user"] or 0)
                services.liveclass_remove(actor=user, live_class=live_class, user=target)
            else:
                live_class = services.liveclass_control(
                    actor=user, live_class=live_class, action=data["action"], user_id=data["user"]
                )
        except services.Conflict as exc:
            raise _conflict(exc) from exc
        return liveclass_payload(live_class)

    @realtime.action("recording", serializer=RecordingSerializer)
    def recording(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            live_class = services.liveclass_set_recording(
                actor=user, live_class=_live_class(key), on=data["on"]
            )
        except services.Conflict as exc:
            raise _conflict(exc) from exc
        return liveclass_payload(live_class)

    @realtime.action("poll.create", serializer=PollCreateSerializer)
    def poll_create(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            poll = services.poll_create(actor=user, live_class=_live_class(key), **data)
        except services.Conflict as exc:
            raise _conflict(exc) from exc
        return poll_payload(poll, viewer=user)

    @realtime.action("poll.vote", serializer=PollVoteSerializer)
    def poll_vote(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        poll = get_object_or_404(Poll, pk=data["poll"], live_class_id=int(key))
        try:
            poll = services.poll_vote(user=user, poll=poll, choice=data["choice"])
        except services.Conflict as exc:
            raise _conflict(exc) from exc
        return poll_payload(poll, viewer=user)

    @realtime.action("poll.close", serializer=PollRefSerializer)
    def poll_close(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        poll = get_object_or_404(Poll, pk=data["poll"], live_class_id=int(key))
        return poll_payload(services.poll_close(actor=user, poll=poll), viewer=user)

    @realtime.action("stroke", serializer=StrokeSerializer)
    def stroke(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return _stroke(user, _live_class(key), data, room=0)

    @realtime.action("stroke.undo")
    def stroke_undo(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"removed": services.stroke_undo(user=user, live_class=_live_class(key))}

    @realtime.action("board.clear")
    def board_clear(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        services.board_clear(actor=user, live_class=_live_class(key))
        return {}

    @realtime.action("breakout.open", serializer=BreakoutOpenSerializer)
    def breakout_open(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            live_class = services.breakout_open(actor=user, live_class=_live_class(key), **data)
        except services.Conflict as exc:
            raise _conflict(exc) from exc
        return liveclass_payload(live_class)

    @realtime.action("breakout.broadcast", serializer=BreakoutMessageSerializer)
    def breakout_broadcast(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            services.breakout_broadcast(
                actor=user, live_class=_live_class(key), message=data["message"]
            )
        except services.Conflict as exc:
            raise _conflict(exc) from exc
        return {}

    @realtime.action("breakout.close")
    def breakout_close(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return liveclass_payload(services.breakout_close(actor=user, live_class=_live_class(key)))


def _stroke(user: Any, live_class: LiveClass, data: dict[str, Any], *, room: int) -> dict[str, Any]:
    try:
        stroke = services.stroke_add(user=user, live_class=live_class, data=data, room=room)
    except services.Conflict as exc:
        raise _conflict(exc) from exc
    return stroke_payload(stroke)


@realtime.topic("classrooms.liveclass.breakout")
class BreakoutRoomTopic(MediaSignalling, realtime.Topic):
    """``classrooms.liveclass.<id>-<room>.breakout``: one breakout room (its people and the
    class's trainers): its board, its small chat, its hands; durable events as the room's."""

    def authorize(self, user: Any, key: str) -> bool:
        parsed = breakout_key(key)
        if parsed is None:
            return False
        live_class = LiveClass.objects.filter(pk=parsed[0]).first()
        if live_class is None or not can_join_liveclass(user, live_class):
            return False
        return may_be_in_breakout_room(participant_of(user, live_class), live_class, parsed[1])

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        class_id, room = breakout_key(key) or (0, 0)
        rows = liveclass_events_after(
            live_class_id=class_id, room=room, after_id=since, limit=limit
        )
        return [realtime.Event(e.type, e.data, id=e.pk) for e in rows]

    def _room(self, key: str) -> tuple[LiveClass, int]:
        parsed = breakout_key(key)
        if parsed is None:
            raise realtime.GatewayError("not_found", "no such breakout room")
        return _live_class(str(parsed[0])), parsed[1]

    @realtime.action("hand.raise")
    def hand_raise(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        live_class, _room = self._room(key)
        try:
            return {"hands": services.hand_raise(user=user, live_class=live_class)}
        except services.Conflict as exc:
            raise _conflict(exc) from exc

    @realtime.action("hand.lower")
    def hand_lower(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        live_class, _room = self._room(key)
        return {"hands": services.hand_lower(actor=user, live_class=live_class)}

    @realtime.action("stroke", serializer=StrokeSerializer)
    def stroke(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        live_class, room = self._room(key)
        return _stroke(user, live_class, data, room=room)

    @realtime.action("stroke.undo")
    def stroke_undo(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        live_class, room = self._room(key)
        return {"removed": services.stroke_undo(user=user, live_class=live_class, room=room)}

    @realtime.action("board.clear")
    def board_clear(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        live_class, room = self._room(key)
        try:
            services.board_clear(actor=user, live_class=live_class, room=room)
        except services.Conflict as exc:
            raise _conflict(exc) from exc
        return {}

    @realtime.action("say", serializer=BreakoutSaySerializer)
    def say(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        live_class, room = self._room(key)
        try:
            return services.breakout_say(
                user=user, live_class=live_class, room=room, body=data["body"]
            )
        except services.Conflict as exc:
            raise _conflict(exc) from exc
