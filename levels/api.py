"""REST of levels and streaks: mine (and my display choice), someone's as I may see it, a
space's level names."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.accounts.models import Space, User
from hub.accounts.selectors import can_see_profile, is_space_member, spaces_of
from hub.api import validated
from hub.params import query_id
from levels import selectors, services


class DisplaySerializer(serializers.Serializer):
    show_level = serializers.BooleanField(required=False)
    show_streak = serializers.BooleanField(required=False)


class LevelInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    points = serializers.IntegerField(min_value=0, max_value=10**9)


class LevelsInSerializer(serializers.Serializer):
    levels = LevelInSerializer(many=True, max_length=30)


class ProgressSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    space = serializers.IntegerField()
    show_level = serializers.BooleanField()
    show_streak = serializers.BooleanField()
    level = serializers.DictField(allow_null=True, help_text="null: hidden from the viewer")
    streak = serializers.IntegerField(allow_null=True, help_text="days in a row with points")


class LevelSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    name = serializers.CharField()
    points = serializers.IntegerField()


def _space_for(request: Request, user: Any) -> int:
    if request.query_params.get("space"):
        space_id = query_id(request, "space")
        if not is_space_member(user=user, space=space_id):
            raise Http404
        return space_id
    space = spaces_of(user=user).first()
    if space is None:
        raise Http404
    return space.pk


SPACE = OpenApiParameter("space", int, required=False, description="default: my first space")


class MyProgressView(APIView):
    @extend_schema(parameters=[SPACE], responses=ProgressSerializer, summary="My level and streak")
    def get(self, request: Request) -> Response:
        space_id = _space_for(request, request.user)
        return Response(
            selectors.progress_payload(viewer=request.user, person=request.user, space_id=space_id)
        )

    @extend_schema(
        request=DisplaySerializer,
        responses=ProgressSerializer,
        summary="Show or hide my level and streak from others",
    )
    def post(self, request: Request) -> Response:
        data = validated(DisplaySerializer, request.data)
        services.display_set(user=request.user, **data)
        space_id = _space_for(request, request.user)
        return Response(
            selectors.progress_payload(viewer=request.user, person=request.user, space_id=space_id)
        )


class UserProgressView(APIView):
    @extend_schema(
        parameters=[SPACE],
        responses=ProgressSerializer,
        summary="Someone's level and streak, as far as they show them",
    )
    def get(self, request: Request, user_id: int) -> Response:
        person = User.objects.filter(pk=user_id, is_active=True).first()
        if person is None or not can_see_profile(viewer=request.user, person=person):
            raise Http404
        space_id = _space_for(request, person)
        return Response(
            selectors.progress_payload(viewer=request.user, person=person, space_id=space_id)
        )


class SpaceLevelsView(APIView):
    @extend_schema(responses=LevelSerializer(many=True), summary="A space's levels")
    def get(self, request: Request, space_id: int) -> Response:
        if not is_space_member(user=request.user, space=space_id):
            raise Http404
        return Response([r.__dict__ for r in selectors.levels_of(space_id=space_id)])

    @extend_schema(
        request=LevelsInSerializer,
        responses=LevelSerializer(many=True),
        summary="Replace a space's levels (names and points needed; [] for the defaults)",
    )
    def put(self, request: Request, space_id: int) -> Response:
        space = get_object_or_404(Space, pk=space_id)
        if not selectors.can_edit_levels(user=request.user, space_id=space_id):
            raise PermissionDenied
        data = validated(LevelsInSerializer, request.data)
        services.levels_set(actor=request.user, space=space, levels=data["levels"])
        return Response([r.__dict__ for r in selectors.levels_of(space_id=space_id)])
