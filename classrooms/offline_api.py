"""REST for offline learning (issue 21): a course's offline pack, an attempt taken offline."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms import offline, selectors
from classrooms.api import _activity
from classrooms.models import Attempt, Course
from hub.api import DateTimeInRangeField, validated


class OfflineAttemptSerializer(serializers.Serializer):
    client_id = serializers.UUIDField()
    ticket = serializers.CharField(max_length=4000)
    answers = serializers.DictField(allow_empty=True)
    started_at = DateTimeInRangeField()
    finished_at = DateTimeInRangeField()


class CourseOfflinePackView(APIView):
    """``GET``: what to save on this device to follow the course offline."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        course = get_object_or_404(Course, pk=pk)
        return Response(offline.course_offline_pack(user=request.user, course=course))


class OfflineAttemptView(APIView):
    """``POST``: an attempt taken offline. 201 with the result (200 for a replay of the
    same ``client_id``: the attempt it made, nothing doubled); 409 with ``details.reason``
    (``quiz_changed``, ``no_attempts_left``) when it was not counted."""

    @extend_schema(
        request=OfflineAttemptSerializer,
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT, 409: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, pk: int) -> Response:
        activity = _activity(request, pk)
        data = validated(OfflineAttemptSerializer, request.data)
        try:
            attempt, decided = offline.offline_attempt_submit(
                user=request.user, activity=activity, **data
            )
        except offline.Refused as exc:
            body = {
                "accepted": False,
                "error": {
                    "code": "conflict",
                    "message": str(exc.detail),
                    "details": {"reason": exc.reason},
                },
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        attempt = Attempt.objects.get(pk=attempt.pk)
        payload = selectors.attempt_payload(attempt, questions=[])
        payload["results"] = (attempt.answers or {}).get("results", [])
        return Response(
            {"accepted": True, **decided, "attempt": payload},
            status=status.HTTP_200_OK if decided["replayed"] else status.HTTP_201_CREATED,
        )
