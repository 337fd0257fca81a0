"""REST (``/api/v1/``): a course's available external tools and adding an external tool
activity, for scripts and apps; the same services as the trainer's page."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms.models import Course, Module
from classrooms.selectors import can_edit_course
from externaltools import selectors, services
from externaltools.models import ExternalActivity, Presentation, Tool


class ToolSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tool
        fields = ["id", "name", "description", "launch_url", "deep_linking_url"]


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
