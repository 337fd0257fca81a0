"""The search parameters, validated once for the REST API and the page alike."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from hub.params import BIGINT_MAX, parse_id
from search import registry
from search.query import MAX_QUERY_LENGTH
from search.selectors import MAX_PAGE, MAX_PAGE_SIZE, PAGE_SIZE, Filters

WHERE_RE = re.compile(r"([a-z_]{1,32})(?::([0-9]{1,19}))?")


class SearchParamsSerializer(serializers.Serializer):
    q = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,  # a trailing space ends the last word (no prefix match)
        max_length=MAX_QUERY_LENGTH,
        error_messages={
            "max_length": gettext_lazy("The search is too long: at most {max_length} characters.")
        },
        help_text=gettext_lazy(
            'Words to find (all of them). "A phrase" in quotes, -word to leave out; the '
            "last word also matches the words it starts unless a space follows it."
        ),
    )
    where = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=60,
        help_text=gettext_lazy(
            "conversation, forum, library or course (and any kind a later app registers); "
            "add :<id> for one conversation, forum or course, e.g. conversation:42."
        ),
    )
    space = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    author = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    date_from = serializers.DateField(required=False, help_text=gettext_lazy("From this day."))
    date_to = serializers.DateField(required=False, help_text=gettext_lazy("To this day."))
    has_attachment = serializers.BooleanField(required=False, allow_null=True, default=None)
    page = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE, default=1)
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE
    )

    def validate_where(self, value: str) -> tuple[str | None, int | None]:
        if not value:
            return (None, None)
        match = WHERE_RE.fullmatch(value)
        kinds = registry.where_kinds()
        if match is None or match.group(1) not in kinds:
            raise serializers.ValidationError(
                _("Choose one of: %(kinds)s (optionally :<id>).") % {"kinds": ", ".join(kinds)}
            )
        where_id = parse_id(match.group(2)) if match.group(2) else None
        if match.group(2) and where_id is None:
            raise serializers.ValidationError(_("Give a whole number after the colon."))
        return (match.group(1), where_id)

    def _in_range(self, value: date | None) -> date | None:
        if value is not None and not 1970 <= value.year <= 2099:
            raise serializers.ValidationError(_("Give a date between 1970 and 2099."))
        return value

    validate_date_from = _in_range
    validate_date_to = _in_range

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise serializers.ValidationError({"date_to": _("The end is before the start.")})
        return data


def filters_from(data: dict[str, Any]) -> Filters:
    where, where_id = data.get("where") or (None, None)
    return Filters(
        where=where,
        where_id=where_id,
        space_id=data.get("space"),
        author_id=data.get("author"),
        date_from=data.get("date_from"),
        date_to=data.get("date_to"),
        has_attachment=data.get("has_attachment"),
    )
