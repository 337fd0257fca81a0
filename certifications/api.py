"""REST endpoints of certifications (under /api/v1/certifications/)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from certifications import openbadges, selectors, services
from certifications.models import Award, BulkJob, Certification
from hub.accounts.models import Space
from hub.api import JSONParser, validated


class BulkSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[(a, a) for a in services.ACTIONS])
    usernames = serializers.ListField(
        child=serializers.CharField(max_length=150), max_length=services.MAX_BULK, allow_empty=False
    )
    preview = serializers.BooleanField(default=True)


class CertificationObject(serializers.Serializer):
    """Schema placeholder: certifications/selectors.py's payloads define the fields."""

    id = serializers.IntegerField()


def _job_payload(job: BulkJob) -> dict:
    return {
        "id": job.pk,
        "action": job.action,
        "status": job.status,
        "total": job.total,
        "applied": job.applied,
        "message": job.message,
        "topic": job.topic,
    }


class BulkJobObject(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    status = serializers.CharField()
    total = serializers.IntegerField()
    applied = serializers.IntegerField()
    message = serializers.CharField()
    topic = serializers.CharField()


class MyCertificationsView(APIView):
    @extend_schema(responses={200: CertificationObject(many=True)})
    def get(self, request: Request) -> Response:
        return Response(
            [
                {**selectors.award_payload(a), "title": a.certification.title}
                for a in selectors.awards_of(user=request.user)
            ]
        )


class BulkView(APIView):
    """Preview (``"preview": true``, the default) or apply a bulk assign/issue/revoke."""

    parser_classes = [JSONParser]

    @extend_schema(request=BulkSerializer, responses={200: CertificationObject, 202: BulkJobObject})
    def post(self, request: Request, pk: int) -> Response:
        cert = get_object_or_404(selectors.certifications_managed_by(user=request.user), pk=pk)
        data = validated(BulkSerializer, request.data)
        if data["preview"]:
            plan = services.bulk_preview(
                actor=request.user,
                certification=cert,
                action=data["action"],
                usernames=data["usernames"],
            )
            return Response(
                {
                    "action": plan.action,
                    "errors": len(plan.errors),
                    "rows": [
                        {k: r[k] for k in ("line", "username", "current", "error")}
                        for r in plan.rows
                    ],
                }
            )
        job = services.bulk_start(
            actor=request.user,
            certification=cert,
            action=data["action"],
            usernames=data["usernames"],
        )
        return Response(_job_payload(job), status=202)


class BulkJobView(APIView):
    """A background bulk operation's state (its starter only; 404 to anyone else)."""

    @extend_schema(responses={200: BulkJobObject})
    def get(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(BulkJob, pk=pk, created_by=request.user)
        return Response(_job_payload(job))


# -- Open Badges 2.0 hosted objects (public for verifiers: the number is unguessable) ------
def _base_url(request: Request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


class OpenBadgeObject(serializers.Serializer):
    """Schema placeholder: an Open Badges 2.0 object (certifications/openbadges.py)."""

    type = serializers.CharField()
    id = serializers.CharField()


class CertificationAssertionView(APIView):
    """The hosted Open Badges Assertion of a certificate number (the award's current one)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: OpenBadgeObject})
    def get(self, request: Request, number: str) -> Response:
        award = get_object_or_404(
            Award.objects.select_related("certification", "user"), number=number[:40]
        )
        return Response(openbadges.assertion(award, base_url=_base_url(request)))


class CertificationBadgeClassView(APIView):
    """Public once someone holds it (a verifier follows the assertion here)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: OpenBadgeObject})
    def get(self, request: Request, pk: int) -> Response:
        cert = get_object_or_404(
            Certification.objects.select_related("course", "path")
            .filter(awards__isnull=False)
            .distinct(),
            pk=pk,
        )
        return Response(openbadges.badge_class(cert, base_url=_base_url(request)))


class CertificationIssuerView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: OpenBadgeObject})
    def get(self, request: Request, pk: int) -> Response:
        space = get_object_or_404(
            Space.objects.filter(certifications__awards__isnull=False).distinct(), pk=pk
        )
        return Response(openbadges.issuer(space, base_url=_base_url(request)))
