"""REST (``/api/v1/``): a course's available external tools and adding an external tool
activity, for scripts and apps; the same services as the trainer's page."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms.models import Course, Module
from classrooms.selectors import can_edit_course
from externaltools import lti, selectors, services
from externaltools.models import ExternalActivity, Presentation, Tool
from hub.accounts.models import Space


class ToolSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tool
        fields = ["id", "name", "description", "launch_url", "deep_linking_url"]


class SpaceToolSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tool
        fields = [
            "id", "name", "description", "login_url", "launch_url", "deep_linking_url",
            "jwks_url", "client_id", "deployment_id", "scopes", "share_name", "share_email",
            "is_active", "pending", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ToolActiveSerializer(serializers.Serializer):
    is_active = serializers.BooleanField()


class RegistrationStartSerializer(serializers.Serializer):
    initiation_url = serializers.URLField(max_length=500)
    allow_grades = serializers.BooleanField(default=True)
    allow_roster = serializers.BooleanField(default=True)
    share_name = serializers.BooleanField(default=True)
    share_email = serializers.BooleanField(default=False)


RegistrationOut = inline_serializer(
    "ToolRegistrationStart",
    {
        "registration_url": serializers.CharField(),
        "openid_configuration": serializers.CharField(),
        "registration_token": serializers.CharField(),
        "expires_at": serializers.DateTimeField(),
    },
)


def _managed_space(request: Request, pk: int) -> Space:
    space = get_object_or_404(Space, pk=pk)
    if not selectors.can_manage_tools(user=request.user, space_id=space.pk):
        raise Http404
    return space


class SpaceToolsView(APIView):
    """A space's registered tools, active, disabled or awaiting activation (its
    administrators and coordinators)."""

    @extend_schema(responses={200: SpaceToolSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        space = _managed_space(request, pk)
        tools = selectors.tools_of(space_id=space.pk)
        return Response(SpaceToolSerializer(tools, many=True).data)


class SpaceToolView(APIView):
    """Enable or disable a tool; enabling a tool that registered itself activates it."""

    @extend_schema(request=ToolActiveSerializer, responses={200: SpaceToolSerializer})
    def patch(self, request: Request, pk: int, tool_id: int) -> Response:
        space = _managed_space(request, pk)
        tool = get_object_or_404(Tool, pk=tool_id, space=space)
        serializer = ToolActiveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.tool_update(
            actor=request.user, tool=tool, is_active=serializer.validated_data["is_active"]
        )
        return Response(SpaceToolSerializer(tool).data)


class RegistrationsView(APIView):
    """Start a tool's LTI Dynamic Registration: open ``registration_url`` (the tool's
    registration URL with our ``openid_configuration`` and a one-time, 10-minute
    ``registration_token``) in a frame or a window; the tool then registers itself,
    awaiting activation."""

    @extend_schema(request=RegistrationStartSerializer, responses={201: RegistrationOut})
    def post(self, request: Request, pk: int) -> Response:
        space = _managed_space(request, pk)
        serializer = RegistrationStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            url, token, row = services.registration_start(
                actor=request.user, space=space, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response(
            {
                "registration_url": url,
                "openid_configuration": lti.absolute(
                    "externaltools-space-openid-configuration", space.pk
                ),
                "registration_token": token,
                "expires_at": row.expires_at,
            },
            status=201,
        )


class ExternalActivityCreateSerializer(serializers.Serializer):
    module = serializers.IntegerField()
    tool = serializers.IntegerField()
    title = serializers.CharField(max_length=200)
    url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    presentation = serializers.ChoiceField(
        choices=Presentation.choices, default=Presentation.IFRAME
    )
    pass_percent = serializers.IntegerField(min_value=0, max_value=100, default=0)
    score_maximum = serializers.FloatField(min_value=0.001, max_value=1_000_000, default=100)
    custom = serializers.DictField(child=serializers.CharField(max_length=1000), required=False)


ExternalActivityOut = inline_serializer(
    "ExternalActivity",
    {
        "activity": serializers.IntegerField(),
        "title": serializers.CharField(),
        "tool": serializers.IntegerField(),
        "url": serializers.CharField(),
        "presentation": serializers.CharField(),
        "pass_percent": serializers.IntegerField(),
        "launch_page": serializers.CharField(),
    },
)


def external_payload(external: ExternalActivity) -> dict[str, Any]:
    from django.urls import reverse

    return {
        "activity": external.activity_id,
        "title": external.activity.title,
        "tool": external.tool_id,
        "url": external.target_link_uri,
        "presentation": external.presentation,
        "pass_percent": external.pass_percent,
        "launch_page": reverse("externaltools-launch", args=[external.activity_id]),
    }


def _editable_course(request: Request, pk: int) -> Course:
    course = get_object_or_404(Course, pk=pk)
    if not can_edit_course(user=request.user, course=course):
        raise Http404
    return course


class CourseToolsView(APIView):
    """The external tools a course's trainers may add (its space's active tools)."""

    @extend_schema(responses={200: ToolSerializer(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        course = _editable_course(request, pk)
        return Response(ToolSerializer(selectors.tools_for_course(course=course), many=True).data)


class ExternalActivitiesView(APIView):
    """Add an external tool activity to a module of the course (with its AGS line item)."""

    @extend_schema(request=ExternalActivityCreateSerializer, responses={201: ExternalActivityOut})
    def post(self, request: Request, pk: int) -> Response:
        course = _editable_course(request, pk)
        serializer = ExternalActivityCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        module = get_object_or_404(Module, pk=data["module"], course=course)
        tool = get_object_or_404(Tool, pk=data["tool"], space_id=course.space_id)
        external = services.external_activity_create(
            user=request.user,
            module=module,
            tool=tool,
            title=data["title"],
            url=data.get("url", ""),
            custom=data.get("custom") or {},
            presentation=data["presentation"],
            pass_percent=data["pass_percent"],
            score_maximum=data["score_maximum"],
        )
        return Response(external_payload(external), status=201)
