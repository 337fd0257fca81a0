"""REST for a person's notifications and notification settings."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from hub import notify
from hub.api import Pagination, validated
from hub.models import Delivery


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    verb = serializers.CharField()
    description = serializers.CharField()
    url = serializers.CharField()
    actor = serializers.CharField()
    unread = serializers.BooleanField()
    timestamp = serializers.DateTimeField()


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=500, required=False
    )


class PreferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[])
    delivery = serializers.ChoiceField(choices=Delivery.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = list(notify.KINDS)


UnreadCount = inline_serializer("UnreadCount", {"unread_count": serializers.IntegerField()})


class NotificationViewSet(ViewSet):
    """The current user's notifications, newest first."""

    @extend_schema(responses=NotificationSerializer(many=True))
    def list(self, request: Request) -> Response:
        queryset = notify.notifications_for(user=request.user)
        if request.query_params.get("unread") in {"1", "true"}:
            queryset = queryset.filter(unread=True)
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([notify.notification_payload(n) for n in page])

    @extend_schema(responses=UnreadCount)
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request: Request) -> Response:
        return Response({"unread_count": notify.unread_count(user=request.user)})

    @extend_schema(request=MarkReadSerializer, responses=UnreadCount)
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request: Request) -> Response:
        """Mark the given ids read, or every notification when ``ids`` is left out."""
        data = validated(MarkReadSerializer, request.data)
        notify.notifications_mark_read(user=request.user, ids=data.get("ids"))
        return Response({"unread_count": notify.unread_count(user=request.user)})

    @extend_schema(request=PreferenceSerializer, responses=PreferenceSerializer(many=True))
    @action(detail=False, methods=["get", "put"], url_path="preferences")
    def preferences(self, request: Request) -> Response:
        if request.method == "PUT":
            data = validated(PreferenceSerializer, request.data)
            notify.preference_set(user=request.user, **data)
        return Response(notify.preferences_for(user=request.user))
