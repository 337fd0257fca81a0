"""REST of live quiz games: create, join by code, state, answer, streak bonus, and the
host's next / close / finish. The WebSocket actions of ``games.game.<id>`` and
``games.host.<id>`` call the same services with the same serializers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms.models import Activity, Course, LiveClass
from games import selectors as sel
from games import services
from games.models import Game
from hub.api import validated
from leaderboards.duel_api import AnswerSerializer as DuelAnswerSerializer


# -- input ----------------------------------------------------------------------------------
class GameCreateSerializer(serializers.Serializer):
    course = serializers.IntegerField(min_value=1)
    questions = serializers.IntegerField(min_value=1, max_value=50, required=False)
    seconds = serializers.IntegerField(min_value=5, max_value=120, required=False)
    team_mode = serializers.BooleanField(required=False, default=False)
    team_count = serializers.IntegerField(min_value=2, max_value=6, required=False, default=4)
    live_class = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    quiz = serializers.IntegerField(
        min_value=1,
        required=False,
        allow_null=True,
        help_text="A quiz activity of the course: the game plays its questions and completes "
        "it for the players who reach its pass mark.",
    )


class JoinSerializer(serializers.Serializer):
    code = serializers.RegexField(r"^\s*\d{6}\s*$", max_length=12)


class GameAnswerSerializer(DuelAnswerSerializer):
    """``index`` of the open question; ``answer``: a choice id, a list of ids, a number."""


class StreakSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()


# -- output (schema) ------------------------------------------------------------------------
class GameSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    course = serializers.DictField()
    live_class = serializers.IntegerField(allow_null=True)
    quiz = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    questions = serializers.IntegerField()
    seconds = serializers.IntegerField()
    team_mode = serializers.BooleanField()
    teams = serializers.ListField(child=serializers.CharField())
    current_index = serializers.IntegerField()
    closed_index = serializers.IntegerField()
    created_at = serializers.CharField()
    finished_at = serializers.CharField(allow_null=True)
    topic = serializers.CharField()
    host_url = serializers.CharField()
    play_url = serializers.CharField()


class GameStateSerializer(GameSummarySerializer):
    is_host = serializers.BooleanField()
    me = serializers.DictField(allow_null=True, help_text="the viewer as a player")
    players = serializers.IntegerField()
    current = serializers.DictField(allow_null=True, help_text="the open question, no answer")
    reveal = serializers.DictField(allow_null=True, help_text="the last closed question")
    podium = serializers.ListField(child=serializers.DictField())
    team_standings = serializers.ListField(child=serializers.DictField())
    last_event_id = serializers.IntegerField()
    server_now = serializers.CharField()
    host_topic = serializers.CharField(required=False)
    distribution = serializers.DictField(required=False)
    player_list = serializers.ListField(child=serializers.DictField(), required=False)


class AnswerAckSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    answered = serializers.BooleanField()


class PlayerSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    score = serializers.IntegerField()
    streak = serializers.IntegerField()
    streak_bonus = serializers.BooleanField()
    team = serializers.CharField(allow_null=True)
    correct = serializers.IntegerField()


# -- helpers --------------------------------------------------------------------------------
def game_for(user: Any, pk: int) -> Game:
    """A game its host or a player (or someone who may join) may see; else 404."""
    game = get_object_or_404(Game.objects.select_related("course", "live_class"), pk=pk)
    if sel.is_host(user=user, game=game) or sel.can_join(user=user, game=game):
        return game
    raise Http404


def answer_ack(index: int) -> dict[str, Any]:
    return {"index": index, "answered": True}


# -- views ----------------------------------------------------------------------------------
class GameListView(APIView):
    @extend_schema(responses=GameSummarySerializer(many=True), summary="Games I host")
    def get(self, request: Request) -> Response:
        return Response([sel.summary(g) for g in sel.games_hosted(user=request.user)])

    @extend_schema(
        request=GameCreateSerializer,
        responses={201: GameStateSerializer},
        summary="Launch a game from a course's question bank (a join code comes back)",
    )
    def post(self, request: Request) -> Response:
        data = validated(GameCreateSerializer, request.data)
        course = get_object_or_404(Course, pk=data["course"])
        live_class = None
        if data.get("live_class"):
            live_class = get_object_or_404(LiveClass, pk=data["live_class"])
        quiz = get_object_or_404(Activity, pk=data["quiz"]) if data.get("quiz") else None
        game = services.game_create(
            host=request.user,
            course=course,
            questions=data.get("questions"),
            seconds=data.get("seconds"),
            team_mode=data["team_mode"],
            team_count=data["team_count"],
            live_class=live_class,
            quiz=quiz,
        )
        return Response(
            sel.game_state(game.pk, viewer=request.user), status=status.HTTP_201_CREATED
        )


class GameJoinView(APIView):
    @extend_schema(
        request=JoinSerializer, responses=GameStateSerializer, summary="Join a game by its code"
    )
    def post(self, request: Request) -> Response:
        data = validated(JoinSerializer, request.data)
        game = sel.open_game_by_code(data["code"])
        if game is None:
            raise Http404(_("No open game has this code."))
        services.game_join(user=request.user, game=game)
        return Response(sel.game_state(game.pk, viewer=request.user))


class GameDetailView(APIView):
    @extend_schema(responses=GameStateSerializer, summary="A game's state (closes what is overdue)")
    def get(self, request: Request, pk: int) -> Response:
        game = game_for(request.user, pk)
        # A read applies the clock (closing an overdue question) as the duels' reads do.
        services.game_refresh(game_id=game.pk)
        return Response(sel.game_state(game.pk, viewer=request.user))


class GameAnswerView(APIView):
    @extend_schema(
        request=GameAnswerSerializer,
        responses=AnswerAckSerializer,
        summary="Answer the open question (once; timed on the server)",
    )
    def post(self, request: Request, pk: int) -> Response:
        game = game_for(request.user, pk)
        data = validated(GameAnswerSerializer, request.data)
        services.game_answer(
            user=request.user, game_id=game.pk, index=data["index"], answer=data["answer"]
        )
        return Response(answer_ack(data["index"]))


class GameStreakView(APIView):
    @extend_schema(
        request=StreakSerializer,
        responses=PlayerSerializer,
        summary="Turn my streak bonus off or on for this game",
    )
    def post(self, request: Request, pk: int) -> Response:
        game = game_for(request.user, pk)
        data = validated(StreakSerializer, request.data)
        player = services.game_set_streak_bonus(
            user=request.user, game=game, enabled=data["enabled"]
        )
        return Response(sel.player_payload(player))


def _host_action(name: str, summary: str) -> type[APIView]:
    service = getattr(services, f"game_{name}")

    class View(APIView):
        @extend_schema(request=None, responses=GameStateSerializer, summary=summary)
        def post(self, request: Request, pk: int) -> Response:
            game = game_for(request.user, pk)
            if not sel.is_host(user=request.user, game=game):
                raise PermissionDenied(_("Only the game's host runs it."))
            service(user=request.user, game=game)
            return Response(sel.game_state(game.pk, viewer=request.user))

    View.__name__ = View.__qualname__ = f"Game{name.title()}View"
    return View


GameNextView = _host_action("next", "Open the next question (or show the final podium)")
GameCloseView = _host_action("close", "Close the open question now")
GameFinishView = _host_action("finish", "End the game now")
