"""REST of quiz duels: challenge, accept, decline, cancel, matchmaking queue, state, ready,
answer, rematch, history, ratings, colleagues. The WebSocket actions of
``leaderboards.duel.<id>`` call the same services with the same serializers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms.models import Course
from hub.accounts.models import User
from hub.api import validated
from hub.params import parse_id
from leaderboards import duel_selectors as sel
from leaderboards import duel_services
from leaderboards.models import Duel


# -- input ----------------------------------------------------------------------------------
class ChallengeSerializer(serializers.Serializer):
    course = serializers.IntegerField(min_value=1)
    opponent = serializers.IntegerField(min_value=1)


class CourseRefSerializer(serializers.Serializer):
    course = serializers.IntegerField(min_value=1)


class AnswerSerializer(serializers.Serializer):
    """``answer``: a choice id, a list of choice ids (multiple choice) or a number."""

    index = serializers.IntegerField(min_value=0, max_value=99)
    answer = serializers.JSONField()

    def validate_answer(self, value: Any) -> Any:
        if value is None or isinstance(value, dict | bool):
            raise serializers.ValidationError(
                _("Give a choice id, a list of choice ids or a number.")
            )
        if isinstance(value, list) and len(value) > 20:
            raise serializers.ValidationError(_("Too many choices."))
        if isinstance(value, str) and len(value) > 40:
            raise serializers.ValidationError(_("Too long."))
        return value


class EmptySerializer(serializers.Serializer):
    pass


# -- output (schema) ------------------------------------------------------------------------
class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()


class DuelSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    course = serializers.DictField()
    challenger = PersonSerializer()
    opponent = PersonSerializer()
    status = serializers.CharField()
    mode = serializers.CharField()
    matchmade = serializers.BooleanField()
    questions = serializers.IntegerField()
    seconds = serializers.IntegerField()
    scores = serializers.DictField(child=serializers.IntegerField())
    winner = serializers.IntegerField(allow_null=True)
    forfeit = serializers.BooleanField()
    created_at = serializers.CharField()
    expires_at = serializers.CharField(allow_null=True)
    finished_at = serializers.CharField(allow_null=True)
    rematch_of = serializers.IntegerField(allow_null=True)
    url = serializers.CharField()
    result_text = serializers.CharField(
        required=False, help_text="the result worded for the reader (in their lists)"
    )


class DuelStateSerializer(DuelSummarySerializer):
    topic = serializers.CharField()
    me = serializers.IntegerField()
    ready = serializers.DictField(child=serializers.BooleanField())
    played = serializers.DictField(child=serializers.IntegerField())
    current = serializers.DictField(allow_null=True, help_text="the open question, no answer")
    closed = serializers.ListField(child=serializers.DictField(), help_text="closed questions")
    result = serializers.DictField(allow_null=True)
    last_event_id = serializers.IntegerField()
    server_now = serializers.CharField()


class QueueResultSerializer(serializers.Serializer):
    waiting = serializers.BooleanField()
    duel = DuelSummarySerializer(allow_null=True)


class TurnSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    answered = serializers.BooleanField()
    correct = serializers.BooleanField(required=False, help_text="only once the question closed")
    points = serializers.IntegerField(required=False)


class RatingsSerializer(serializers.Serializer):
    course = serializers.IntegerField()
    me = serializers.DictField()
    top = serializers.ListField(child=serializers.DictField())


# -- helpers --------------------------------------------------------------------------------
def _course(course_id: int) -> Course:
    return get_object_or_404(Course, pk=course_id)


def _duel_of(request: Request, pk: int) -> Duel:
    duel = get_object_or_404(Duel.objects.select_related("course"), pk=pk)
    if not sel.is_player(user=request.user, duel=duel):
        raise PermissionDenied(_("This is not your duel."))
    return duel


def _query_course(request: Request) -> Course | None:
    raw = request.query_params.get("course")
    if not raw:
        return None
    course_id = parse_id(raw)
    if course_id is None:
        from django.http import Http404

        raise Http404
    return _course(course_id)


# -- views ----------------------------------------------------------------------------------
class DuelListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("course", int, required=False)],
        responses=DuelSummarySerializer(many=True),
        summary="My duels, newest first (history)",
    )
    def get(self, request: Request) -> Response:
        course = _query_course(request)
        duels = sel.duels_of(user=request.user, course=course)
        return Response([sel.duel_summary(d, viewer=request.user) for d in duels])

    @extend_schema(
        request=ChallengeSerializer,
        responses={201: DuelSummarySerializer},
        summary="Challenge a colleague of the course",
    )
    def post(self, request: Request) -> Response:
        data = validated(ChallengeSerializer, request.data)
        course = _course(data["course"])
        opponent = get_object_or_404(User, pk=data["opponent"])
        duel = duel_services.duel_challenge(
            challenger=request.user, opponent=opponent, course=course
        )
        return Response(sel.duel_summary(duel), status=status.HTTP_201_CREATED)


class DuelDetailView(APIView):
    @extend_schema(responses=DuelStateSerializer, summary="A duel's state (closes what is overdue)")
    def get(self, request: Request, pk: int) -> Response:
        duel = _duel_of(request, pk)
        duel = duel_services.duel_refresh(duel_id=duel.pk)
        return Response(sel.duel_state(duel.pk, viewer=request.user))


def _transition(name: str, summary: str) -> type[APIView]:
    service = getattr(duel_services, f"duel_{name}")

    class View(APIView):
        @extend_schema(request=None, responses=DuelStateSerializer, summary=summary)
        def post(self, request: Request, pk: int) -> Response:
            duel = service(user=request.user, duel=_duel_of(request, pk))
            return Response(sel.duel_state(duel.pk, viewer=request.user))

    View.__name__ = View.__qualname__ = f"Duel{name.title()}View"
    return View


DuelAcceptView = _transition("accept", "Accept a challenge")
DuelDeclineView = _transition("decline", "Decline a challenge")
DuelCancelView = _transition("cancel", "Cancel my challenge")
DuelReadyView = _transition(
    "ready", "I am in the arena (live) / open my next question (asynchronous)"
)
DuelRematchView = _transition("rematch", "Challenge the same opponent again")


class DuelAnswerView(APIView):
    @extend_schema(
        request=AnswerSerializer,
        responses=TurnSerializer,
        summary="Answer the open question (once; timed on the server)",
    )
    def post(self, request: Request, pk: int) -> Response:
        duel = _duel_of(request, pk)
        data = validated(AnswerSerializer, request.data)
        turn = duel_services.duel_answer(
            user=request.user, duel=duel, index=data["index"], answer=data["answer"]
        )
        return Response(sel.answer_payload(turn, duel))


class DuelQueueView(APIView):
    @extend_schema(
        request=CourseRefSerializer,
        responses=QueueResultSerializer,
        summary="Matchmaking: wait for a random opponent of the course, or meet one",
    )
    def post(self, request: Request) -> Response:
        data = validated(CourseRefSerializer, request.data)
        duel = duel_services.duel_queue_join(user=request.user, course=_course(data["course"]))
        return Response({"waiting": duel is None, "duel": sel.duel_summary(duel) if duel else None})

    @extend_schema(
        parameters=[OpenApiParameter("course", int, required=True)],
        responses=inline_serializer("DuelQueueLeft", {"left": serializers.BooleanField()}),
        summary="Leave the matchmaking queue",
    )
    def delete(self, request: Request) -> Response:
        course = _query_course(request)
        if course is None:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"course": [_("This field is required.")]})
        return Response({"left": duel_services.duel_queue_leave(user=request.user, course=course)})


class DuelRatingsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("course", int, required=True)],
        responses=RatingsSerializer,
        summary="My duel rating in a course and its best players",
    )
    def get(self, request: Request) -> Response:
        course = _query_course(request)
        if course is None:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"course": [_("This field is required.")]})
        if not sel.can_duel_in(user=request.user, course=course):
            raise PermissionDenied(_("Only the course's learners see its duel ratings."))
        return Response(sel.ratings_payload(user=request.user, course=course))


class DuelColleaguesView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("course", int, required=True)],
        responses=PersonSerializer(many=True),
        summary="Whom I may challenge in a course",
    )
    def get(self, request: Request) -> Response:
        course = _query_course(request)
        if course is None:
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"course": [_("This field is required.")]})
        if not sel.can_duel_in(user=request.user, course=course):
            raise PermissionDenied(_("Only the course's learners duel on its questions."))
        people = sel.colleagues(user=request.user, course=course)
        return Response([sel.person(u) for u in people[:200]])
