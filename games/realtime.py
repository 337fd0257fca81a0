"""Topics of live quiz games.

``games.game.<id>``: the host and the players. Durable: question.opened (text and server
deadline, no answer), question.closed (correct answer, distribution, podium, team
standings; nobody's result live), game.finished. A reconnecting screen resumes with
``since``: its replayed question.closed carries its share of the results (the host's
``results``, a player's ``me``). Actions: ``state``, ``join``, ``answer``, ``streak``.

``games.host.<id>``: the host only (its editors too). Ephemeral: answers.count (the live
distribution, coalesced), player.joined, question.results (every player's result, just
before question.closed). Actions: ``state``, ``next``, ``close``, ``finish``.

A player's own result comes as ``games.result`` on their ``hub.user.<id>``, just before
the question.closed it belongs to.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from games import api, services
from games import selectors as sel
from games.models import Game
from hub import realtime
from hub.params import parse_id


def _game(key: str) -> Game:
    game_id = parse_id(key)
    if game_id is None:
        raise realtime.GatewayError("not_found", "no such game")
    game = Game.objects.select_related("course", "live_class").filter(pk=game_id).first()
    if game is None:
        raise realtime.GatewayError("not_found", "no such game")
    return game


@realtime.topic("games.game")
class GameTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        game_id = parse_id(key)
        if game_id is None:
            return False
        game = Game.objects.select_related("course", "live_class").filter(pk=game_id).first()
        if game is None:
            return False
        return sel.is_host(user=user, game=game) or sel.can_join(user=user, game=game)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        """What the viewer missed; a reveal with their share of the results (the host all
        of them, a player their own: live, these came on their own topics)."""
        events = sel.events_after(game_id=int(key), after_id=since, limit=limit)
        if not events:
            return []
        game = Game.objects.select_related("course").get(pk=int(key))
        host = sel.is_host(user=user, game=game)
        return [
            realtime.Event(e.type, sel.event_for(e, host=host, user_id=user.pk), id=e.pk)
            for e in events
        ]

    @realtime.action("state")
    def state(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        game = services.game_refresh(game_id=_game(key).pk)
        return sel.game_state(game.pk, viewer=user)

    @realtime.action("join")
    def join(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        game = _game(key)
        services.game_join(user=user, game=game)
        return sel.game_state(game.pk, viewer=user)

    @realtime.action("answer")
    async def answer(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """The hot path of a game (500 answers in a second): run in the event loop, not on
        a database thread; validated here (the serializer reads no database), recorded in
        the answer book (games/book.py)."""
        game_id = parse_id(key)
        if game_id is None:
            raise realtime.GatewayError("not_found", "no such game")
        serializer = api.GameAnswerSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        valid = serializer.validated_data
        await services.agame_answer(
            user=user, game_id=game_id, index=valid["index"], answer=valid["answer"]
        )
        return api.answer_ack(valid["index"])

    @realtime.action("streak", serializer=api.StreakSerializer)
    def streak(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        player = services.game_set_streak_bonus(user=user, game=_game(key), enabled=data["enabled"])
        return sel.player_payload(player)


def _hosted(user: Any, key: str) -> Game:
    game = _game(key)
    if not sel.is_host(user=user, game=game):
        raise PermissionDenied(_("Only the game's host runs it."))
    return game


@realtime.topic("games.host")
class HostTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        game_id = parse_id(key)
        if game_id is None:
            return False
        game = Game.objects.select_related("course").filter(pk=game_id).first()
        return game is not None and sel.is_host(user=user, game=game)

    @realtime.action("state")
    def state(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        game = services.game_refresh(game_id=_hosted(user, key).pk)
        return sel.game_state(game.pk, viewer=user)

    @realtime.action("next")
    def next(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        game = services.game_next(user=user, game=_hosted(user, key))
        return sel.game_state(game.pk, viewer=user)

    @realtime.action("close")
    def close(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        game = services.game_close(user=user, game=_hosted(user, key))
        return sel.game_state(game.pk, viewer=user)

    @realtime.action("finish")
    def finish(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        game = services.game_finish(user=user, game=_hosted(user, key))
        return sel.game_state(game.pk, viewer=user)
