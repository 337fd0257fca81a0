"""REST endpoints of grading (under /api/v1/grading/): thin, over services and selectors."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms.models import Activity, ActivityKind, Submission
from classrooms.selectors import can_view_content, courses_visible_to
from grading import selectors, services
from grading.models import Resubmission
from hub.api import JSONParser, validated


class CriterionSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    max_points = serializers.IntegerField(min_value=1, max_value=1000)


class RubricSerializer(serializers.Serializer):
    pass_mark = serializers.IntegerField(min_value=0, max_value=100, default=50)
    resubmission = serializers.ChoiceField(
        choices=Resubmission.choices, default=Resubmission.IF_FAILED
    )
    max_submissions = serializers.IntegerField(min_value=0, max_value=50, default=3)
    criteria = CriterionSerializer(many=True, allow_empty=False, max_length=30)


class ScoreSerializer(serializers.Serializer):
    criterion = serializers.IntegerField(min_value=1)
    points = serializers.IntegerField(min_value=0, max_value=1000)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class GradeSerializer(serializers.Serializer):
    scores = ScoreSerializer(many=True, allow_empty=False, max_length=30)
    feedback = serializers.CharField(max_length=20000, required=False, allow_blank=True)


class ResubmitSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=50000, required=False, allow_blank=True)
    file = serializers.FileField(required=False, allow_null=True)


class GradingObject(serializers.Serializer):
    """Schema placeholder: the payload functions in grading/selectors.py define the fields."""

    id = serializers.IntegerField()


def _assignment(request: Request, pk: int) -> Activity:
    """An assignment of a course the person may see (what they may not see does not exist)."""
    activity = get_object_or_404(
        Activity.objects.select_related("course"),
        pk=pk,
        kind=ActivityKind.ASSIGNMENT,
        course__in=courses_visible_to(user=request.user),
    )
    if not can_view_content(user=request.user, course=activity.course):
        raise PermissionDenied
    return activity


def _submission(request: Request, pk: int) -> Submission:
    submission = get_object_or_404(
        Submission.objects.select_related("activity__course", "user"), pk=pk
    )
    if not selectors.can_view_submission(user=request.user, submission=submission):
        raise Http404  # another person's work does not exist for a learner
    return submission


class RubricView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses={200: RubricSerializer})
    def get(self, request: Request, pk: int) -> Response:
        activity = _assignment(request, pk)
        return Response(selectors.rubric_payload(selectors.rubric_of(activity)))

    @extend_schema(request=RubricSerializer, responses={200: RubricSerializer})
    def put(self, request: Request, pk: int) -> Response:
        activity = _assignment(request, pk)
        data = validated(RubricSerializer, request.data)
        rubric = services.rubric_save(user=request.user, activity=activity, **data)
        return Response(selectors.rubric_payload(selectors.rubric_of(rubric.activity)))


class QueueView(APIView):
    @extend_schema(responses={200: GradingObject(many=True)})
    def get(self, request: Request) -> Response:
        rows: list[dict[str, Any]] = [
            {
                "id": s.pk,
                "number": s.number,
                "user": {"id": s.user_id, "name": s.user.name},
                "activity": {"id": s.activity_id, "title": s.activity.title},
                "course": {"id": s.activity.course_id, "title": s.activity.course.title},
                "submitted_at": s.submitted_at.isoformat(),
            }
            for s in selectors.queue_for(user=request.user)[:500]
        ]
        return Response({"counts": selectors.queue_counts(user=request.user), "results": rows})


class SubmissionDetailView(APIView):
    @extend_schema(responses={200: GradingObject})
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.submission_payload(_submission(request, pk)))


class GradeView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=GradeSerializer, responses={200: GradingObject})
    def post(self, request: Request, pk: int) -> Response:
        submission = _submission(request, pk)
        data = validated(GradeSerializer, request.data)
        grade = services.grade_submission(grader=request.user, submission=submission, **data)
        return Response(selectors.grade_payload(grade))


class ResubmitView(APIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request=ResubmitSerializer, responses={201: GradingObject})
    def post(self, request: Request, pk: int) -> Response:
        activity = _assignment(request, pk)
        data = validated(ResubmitSerializer, request.data)
        submission = services.submission_resubmit(user=request.user, activity=activity, **data)
        return Response(selectors.submission_payload(submission), status=201)


class MySubmissionsView(APIView):
    """The person's own submissions of an assignment, with their grades: nobody else's."""

    @extend_schema(responses={200: GradingObject(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        activity = _assignment(request, pk)
        subs = selectors.submissions_of(user=request.user, activity=activity)
        allowed, reason = selectors.resubmission_state(user=request.user, activity=activity)
        return Response(
            {
                "results": [selectors.submission_payload(s) for s in subs],
                "may_resubmit": allowed,
                "reason": reason,
            }
        )


class GradebookView(APIView):
    @extend_schema(responses={200: GradingObject})
    def get(self, request: Request, pk: int) -> Response:
        course = selectors.gradebook_course(user=request.user, pk=pk)
        book = selectors.gradebook(course=course)
        return Response(
            {
                "course": course.pk,
                "columns": [
                    {"id": a.pk, "title": a.title, "kind": a.kind} for a in book["columns"]
                ],
                "rows": [
                    {
                        "user": {"id": r["user"].pk, "name": r["user"].name},
                        "progress": r["progress"],
                        "status": r["status"],
                        "cells": r["cells"],
                    }
                    for r in book["rows"]
                ],
            }
        )
