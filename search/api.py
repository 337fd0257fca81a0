"""``GET /api/v1/search/``: what the caller may read, matching their words."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from hub.api import ClientAddressMixin, validated
from search import selectors
from search.forms import SearchParamsSerializer, filters_from


class SearchRateThrottle(ClientAddressMixin, UserRateThrottle):
    """Searches per person (results as you type send one per pause in typing)."""

    scope = "search"


class AuthorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class HitSerializer(serializers.Serializer):
    source = serializers.CharField(help_text="The registered source: message, forum_post, ...")
    kind = serializers.CharField(help_text="The source's name, translated.")
    object_id = serializers.IntegerField()
    url = serializers.CharField()
    title_html = serializers.CharField(
        help_text="Escaped text; the matched words in <mark> (the only markup)."
    )
    snippet_html = serializers.CharField(
        help_text="An escaped excerpt; the matched words in <mark> (the only markup)."
    )
    context = serializers.CharField(help_text="The conversation, topic or forum it is in.")
    author = AuthorSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    has_attachment = serializers.BooleanField()
    space_id = serializers.IntegerField(allow_null=True)


class ResultsSerializer(serializers.Serializer):
    results = HitSerializer(many=True)
    page = serializers.IntegerField()
    has_next = serializers.BooleanField()


def results_payload(results: selectors.Results) -> dict[str, Any]:
    return {
        "results": HitSerializer([hit.__dict__ for hit in results.hits], many=True).data,
        "page": results.page,
        "has_next": results.has_next,
    }


class SearchView(APIView):
    throttle_classes = [SearchRateThrottle]

    @extend_schema(
        parameters=[SearchParamsSerializer],
        responses=ResultsSerializer,
        description=(
            "Search the messages, forum topics and posts, library items and courses the "
            "caller may read now. Ranked by relevance, then the most recent; 20 a page. "
            "Ids of what the caller may not read find nothing (never an error)."
        ),
    )
    def get(self, request: Request) -> Response:
        data = validated(SearchParamsSerializer, request.query_params)
        results = selectors.search(
            user=request.user,
            query=data["q"],
            filters=filters_from(data),
            page=data["page"],
            page_size=data["page_size"],
        )
        return Response(results_payload(results))
