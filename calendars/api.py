"""REST endpoints of calendars (mounted under /api/v1/): the agenda and the feed address."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calendars import selectors
from hub.accounts.services import feed_token_reset
from hub.api import validated


class AgendaQuerySerializer(serializers.Serializer):
    start = serializers.DateField(help_text=_("First day (YYYY-MM-DD), in the server's time zone."))
    end = serializers.DateField(help_text=_("The day after the last one (exclusive)."))

    def validate(self, data: dict) -> dict:
        if data["end"] <= data["start"]:
            raise serializers.ValidationError({"end": _("The end must be after the start.")})
        if (data["end"] - data["start"]).days > selectors.AGENDA_MAX_DAYS:
            raise serializers.ValidationError(
                {"end": _("Ask for at most %(days)s days.") % {"days": selectors.AGENDA_MAX_DAYS}}
            )
        return data


class AgendaItemSerializer(serializers.Serializer):
    """One dated occurrence: a session's own dates (part 1) or one of its parts."""

    session = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField(help_text="scheduled | cancelled | completed")
    my_status = serializers.CharField(
        allow_null=True,
        help_text="confirmed | waitlisted | pending | offered | cancelled | trainer | null",
    )
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    time_zone = serializers.CharField()
    location = serializers.CharField()
    part = serializers.IntegerField()
    parts = serializers.IntegerField()
    live_class = serializers.BooleanField(help_text="A live class (classrooms), not a session.")
    url = serializers.CharField()
    ics_url = serializers.CharField(allow_null=True, help_text="null for a live class")


class FeedLinksSerializer(serializers.Serializer):
    feed_url = serializers.URLField(
        allow_null=True,
        help_text=_("The personal feed (https); null until one is issued (POST reset)."),
    )
    webcal_url = serializers.CharField(
        allow_null=True, help_text=_("The same feed for calendar apps (webcal://).")
    )


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class AgendaView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, required=True, description="YYYY-MM-DD"),
            OpenApiParameter("end", str, required=True, description="YYYY-MM-DD (exclusive)"),
        ],
        responses={200: AgendaItemSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        """The occurrences of one's sessions between two dates (coordinators: their spaces')."""
        data = validated(AgendaQuerySerializer, request.query_params)
        items = selectors.agenda_items(
            user=request.user, start=_day_start(data["start"]), end=_day_start(data["end"])
        )
        return Response([selectors.agenda_item_payload(item) for item in items])


class FeedLinksView(APIView):
    @extend_schema(responses={200: FeedLinksSerializer})
    def get(self, request: Request) -> Response:
        """The addresses of one's personal calendar feed (null for an account never issued
        one: a GET changes nothing; ``POST feed/reset/`` issues it)."""
        links = selectors.feed_links(user=request.user)
        return Response(links or {"feed_url": None, "webcal_url": None})


class FeedResetView(APIView):
    @extend_schema(request=None, responses={200: FeedLinksSerializer})
    def post(self, request: Request) -> Response:
        """A new secret feed address; the old one answers 404 from now on."""
        feed_token_reset(user=request.user)
        return Response(selectors.feed_links(user=request.user))
