"""``leaderboards.board.<key>``: ephemeral ``board.changed`` events, coalesced
(leaderboards/push.py); the client refetches the board. Members of the board's space
(course's space, team) may listen."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from hub import realtime
from hub.params import parse_id
from leaderboards import duel_api, duel_services
from leaderboards import duel_selectors as duels
from leaderboards.models import Duel
from leaderboards.selectors import can_view_board


@realtime.topic("leaderboards.board")
class BoardTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        try:
            return can_view_board(user=user, key=key)
        except ValueError:
            return False


# -- quiz duels ------------------------------------------------------------------------------
def _player_duel(user: Any, key: str) -> Duel:
    duel_id = parse_id(key)
    if duel_id is None:
        raise realtime.GatewayError("not_found", "no such duel")
    duel = get_object_or_404(Duel, pk=duel_id)
    if not duels.is_player(user=user, duel=duel):
        raise PermissionDenied(_("This is not your duel."))
    return duel


@realtime.topic("leaderboards.duel")
class DuelTopic(realtime.Topic):
    """``leaderboards.duel.<id>``, the two players only: question.upcoming (index and
    timing, no text), question.opened (the text, at its opens_at; no answer),
    question.answered (who, not what), question.closed (correct answer and both results),
    score, player.ready, duel.started, duel.mode, duel.finished. Durable: a reconnecting
    arena resumes with ``since``. Actions: ``state``, ``accept``, ``decline``, ``ready``,
    ``answer``, ``rematch``."""

    presence = True

    def authorize(self, user: Any, key: str) -> bool:
        duel_id = parse_id(key)
        if duel_id is None:
            return False
        duel = Duel.objects.filter(pk=duel_id).first()
        return duel is not None and duels.is_player(user=user, duel=duel)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return [
            realtime.Event(e.type, e.data, id=e.pk)
            for e in duels.events_after(duel_id=int(key), after_id=since, limit=limit)
        ]

    @realtime.action("state")
    def state(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        duel = _player_duel(user, key)
        return duels.duel_state(duel_services.duel_refresh(duel_id=duel.pk).pk, viewer=user)

    @realtime.action("ready")
    def ready(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        duel = duel_services.duel_ready(user=user, duel=_player_duel(user, key))
        return duels.duel_state(duel.pk, viewer=user)

    @realtime.action("answer", serializer=duel_api.AnswerSerializer)
    def answer(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        duel = _player_duel(user, key)
        turn = duel_services.duel_answer(
            user=user, duel=duel, index=data["index"], answer=data["answer"]
        )
        return duels.answer_payload(turn, duel)

    @realtime.action("accept")
    def accept(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        duel = duel_services.duel_accept(user=user, duel=_player_duel(user, key))
        return duels.duel_state(duel.pk, viewer=user)

    @realtime.action("decline")
    def decline(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        duel = duel_services.duel_decline(user=user, duel=_player_duel(user, key))
        return duels.duel_state(duel.pk, viewer=user)

    @realtime.action("rematch")
    def rematch(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        duel = duel_services.duel_rematch(user=user, duel=_player_duel(user, key))
        return duels.duel_summary(duel)


@realtime.topic("leaderboards.lobby")
class LobbyTopic(realtime.Topic):
    """``leaderboards.lobby.<user id>``, that user only: challenge.received / sent /
    updated, queue.waiting, duel.started, duel.updated, duel.finished (ephemeral: the
    lobby refetches its lists on reconnect). Its presence says who is online for a live
    duel (the lobby and the arena pages both listen)."""

    presence = True

    def authorize(self, user: Any, key: str) -> bool:
        return str(user.pk) == key
