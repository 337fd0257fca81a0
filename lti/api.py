"""REST: LTI platforms of the spaces the caller administers (create, read, update, delete)."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms.models import Course
from hub.accounts.models import Space
from hub.api import validated
from lti import selectors, services
from lti.models import Platform


class PlatformWriteSerializer(serializers.Serializer):
    space = serializers.PrimaryKeyRelatedField(queryset=Space.objects.all())
    name = serializers.CharField(max_length=120)
    issuer = serializers.CharField(max_length=255)
    client_id = serializers.CharField(max_length=255)
    deployment_ids = serializers.ListField(
        child=serializers.CharField(max_length=255), max_length=50
    )
    auth_login_url = serializers.URLField(max_length=500)
    auth_token_url = serializers.URLField(max_length=500)
    auth_audience = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    key_set_url = serializers.URLField(max_length=500)
    default_course = serializers.PrimaryKeyRelatedField(
        queryset=Course.objects.all(), required=False, allow_null=True, default=None
    )
    is_active = serializers.BooleanField(required=False, default=True)


class PlatformUpdateSerializer(PlatformWriteSerializer):
    """A partial update: every field optional, the space fixed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("space")
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class PlatformSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    space = serializers.IntegerField()
    name = serializers.CharField()
    issuer = serializers.CharField()
    client_id = serializers.CharField()
    deployment_ids = serializers.ListField(child=serializers.CharField())
    auth_login_url = serializers.CharField()
    auth_token_url = serializers.CharField()
    auth_audience = serializers.CharField()
    key_set_url = serializers.CharField()
    default_course = serializers.IntegerField(allow_null=True)
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


def _managed(request: Request):
    """Platforms of the spaces the caller administers."""
    user = request.user
    qs = Platform.objects.select_related("space")
    if user.is_superuser:
        return qs
    spaces = [
        s
        for s in Space.objects.filter(memberships__user=user)
        if services.can_manage(user=user, space=s)
    ]
    return qs.filter(space__in=spaces)


class PlatformListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("space", int, required=False)],
        responses=PlatformSerializer(many=True),
        summary="LTI platforms of the spaces you administer",
    )
    def get(self, request: Request) -> Response:
        qs = _managed(request)
        space = request.query_params.get("space")
        if space is not None:
            if not space.isdigit():
                return Response({"space": ["A space id."]}, status=status.HTTP_400_BAD_REQUEST)
            qs = qs.filter(space_id=int(space))
        return Response([selectors.platform_payload(p) for p in qs.order_by("pk")])

    @extend_schema(
        request=PlatformWriteSerializer,
        responses={201: PlatformSerializer},
        summary="Register an LTI platform in a space (its administrators)",
    )
    def post(self, request: Request) -> Response:
        data = validated(PlatformWriteSerializer, request.data)
        space = data.pop("space")
        platform = services.platform_create(actor=request.user, space=space, **data)
        return Response(selectors.platform_payload(platform), status=status.HTTP_201_CREATED)


class PlatformDetailView(APIView):
    def _platform(self, request: Request, pk: int) -> Platform:
        platform = _managed(request).filter(pk=pk).first()
        if platform is None:
            raise Http404  # someone else's platform looks like no platform
        return platform

    @extend_schema(responses=PlatformSerializer, summary="One LTI platform")
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.platform_payload(self._platform(request, pk)))

    @extend_schema(
        request=PlatformUpdateSerializer,
        responses=PlatformSerializer,
        summary="Change an LTI platform",
    )
    def patch(self, request: Request, pk: int) -> Response:
        platform = self._platform(request, pk)
        data = validated(PlatformUpdateSerializer, request.data)
        platform = services.platform_update(actor=request.user, platform=platform, **data)
        return Response(selectors.platform_payload(platform))

    @extend_schema(responses={204: None}, summary="Remove an LTI platform")
    def delete(self, request: Request, pk: int) -> Response:
        services.platform_delete(actor=request.user, platform=self._platform(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
