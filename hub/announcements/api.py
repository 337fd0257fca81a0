from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from hub.accounts.models import Space, Team
from hub.announcements.models import Announcement
from hub.announcements.selectors import announcement_payload, announcements_for
from hub.announcements.services import announcement_post
from hub.api import validated


class AnnouncementCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
    link = serializers.URLField(required=False, allow_blank=True, default="")
    space = serializers.PrimaryKeyRelatedField(
        queryset=Space.objects.all(), required=False, allow_null=True, default=None
    )
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True, default=None
    )

    def validate(self, attrs: dict) -> dict:
        if (attrs.get("space") is None) == (attrs.get("team") is None):
            raise serializers.ValidationError("Give either a space or a team.")
        return attrs


class AnnouncementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    body_html = serializers.CharField()
    link = serializers.CharField()
    author = serializers.CharField()
    space = serializers.IntegerField(allow_null=True)
    team = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    url = serializers.CharField()


class AnnouncementViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Announcements the current user may read; coordinators, trainers and admins post."""

    serializer_class = AnnouncementSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Announcement.objects.none()
        return announcements_for(user=self.request.user)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([announcement_payload(a) for a in page])

    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(announcement_payload(self.get_object()))

    @extend_schema(request=AnnouncementCreateSerializer, responses={201: AnnouncementSerializer})
    def create(self, request: Request) -> Response:
        data = validated(AnnouncementCreateSerializer, request.data)
        announcement = announcement_post(author=request.user, **data)
        return Response(announcement_payload(announcement), status=status.HTTP_201_CREATED)
