"""REST endpoints of certifications (under /api/v1/certifications/)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from certifications import selectors, services
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

    @extend_schema(request=BulkSerializer, responses={200: CertificationObject})
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
        count = services.bulk_apply(
            actor=request.user,
            certification=cert,
            action=data["action"],
            usernames=data["usernames"],
        )
        return Response({"action": data["action"], "applied": count})
