"""REST plumbing shared by every app: one error format, pagination, write throttling,
the JSON parser."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers, serializers
from rest_framework.exceptions import ParseError, Throttled
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, UserRateThrottle

from hub.client_address import client_address
from hub.outages import ServiceUnavailable, is_outage, is_overload, warn_once
from hub.params import parse_id, validate_datetime_in_range

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class RateLimited(Throttled):
    """A service's own rate limit was hit: REST answers 429, the gateway ``rate_limited``."""


class ClientAddressMixin(BaseThrottle):
    """Key anonymous callers on the address our trusted proxies report, not on the header
    as sent (a rotating ``X-Forwarded-For`` started a fresh count on every request)."""

    def get_ident(self, request: Any) -> str:
        return client_address(request)


class AddressRateThrottle(ClientAddressMixin, AnonRateThrottle):
    """Rate per client address, for endpoints open to anonymous callers."""


class WriteRateThrottle(ClientAddressMixin, UserRateThrottle):
    """Throttle writes only: reading never runs out."""

    scope = "writes"

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = _("The request body is too large.")
    default_code = "too_large"


ERROR_CODES = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
    503: "service_unavailable",
}


def error_json(status: int, message: str, *, details: Any = None) -> JsonResponse:
    """An API error answered outside a DRF view (an unknown URL, a 500, a request refused
    before it reaches a view), in the same format as ``exception_handler``'s."""
    body: dict[str, Any] = {"code": ERROR_CODES.get(status, "error"), "message": message}
    if details is not None:
        body["details"] = details
    return JsonResponse({"error": body}, status=status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error is ``{"error": {"code", "message", "details"?}}`` with a 4xx status.

    Services raise Django's ``PermissionDenied`` / ``ValidationError``; they are mapped here
    so REST answers the same way the gateway does. Django refusing the request body (too
    large, too many fields) is a 413 / 400 too. Anything else is not handled here: Django
    logs it with its traceback and ``hub.views.server_error`` answers a JSON 500.
    """
    # Imported here: rest_framework.views reads DEFAULT_THROTTLE_CLASSES (this module) when
    # it loads, so importing it at the top would be circular.
    from rest_framework.views import exception_handler as drf_exception_handler

    retry_after = "10"
    if is_overload(exc):
        # The database or Redis pool stayed full for its whole timeout: busy, not broken.
        warn_once("pool", "a connection pool is exhausted: the API answers 503 (%s)", exc)
        exc, retry_after = ServiceUnavailable(_("The server is busy, try again shortly.")), "2"
    elif is_outage(exc):
        # Redis (throttles, cache, ranks) is down: a clear 503, not a 500 page. Writes are
        # refused while their rate limit cannot be counted (docs/OPERATIONS.md).
        warn_once("redis", "Redis is unreachable: the API answers 503 where it needs it (%s)", exc)
        exc = ServiceUnavailable()
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation | BadRequest):
        # TooManyFieldsSent, TooManyFilesSent, a malformed multipart body...
        exc = ParseError(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body: dict[str, Any] = {"code": ERROR_CODES.get(response.status_code, "error")}
    if isinstance(exc, exceptions.ValidationError):
        body["message"] = _("The data is not valid.")
        body["details"] = response.data
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        body["message"] = str(detail)
    response.data = {"error": body}
    if isinstance(exc, ServiceUnavailable):
        response["Retry-After"] = retry_after
    return response


class DateTimeInRangeField(serializers.DateTimeField):
    """A datetime written through the API: years 1970 to 2099 (see ``hub.params``), so
    date arithmetic and time-zone conversions on it cannot overflow."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(validate_datetime_in_range)


# Deeper than any payload of this API; the gateway's frames have the same kind of bound.
MAX_JSON_DEPTH = 100


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the bounds a hostile body needs: at most
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes (413), at most ``MAX_JSON_DEPTH`` levels (a body of
    100,000 ``[`` made the parser raise RecursionError: a 500), and no NUL character in any
    string (PostgreSQL text cannot hold one)."""

    def parse(
        self, stream: IO[bytes] | None, media_type: Any = None, parser_context: Any = None
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1 if limit is not None else -1) if stream is not None else b""
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge()
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = raw.decode(encoding)
            parse_constant = parsers.json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError:
            raise ParseError(
                f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."
            ) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        _check_json(data)
        return data


def _check_json(data: Any) -> None:
    """Walk the parsed body without recursion: refuse deep nesting and NUL characters."""
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ParseError(_("A text contains a NUL character."))
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        children: Iterator[Any] = (
            (x for pair in value.items() for x in pair) if isinstance(value, dict) else iter(value)
        )
        pending.extend((child, depth + 1) for child in children)


class PrimaryKeysField(serializers.ManyRelatedField):
    """Ids of rows of ``queryset``: at most ``max_length`` of them, looked up in one query,
    each row once, in the order given.

    ``PrimaryKeyRelatedField(many=True)`` takes any number of ids and looks each one up with
    its own query: a body of 20,000 ids cost 20,000 queries in one request.
    """

    def __init__(self, *, queryset: Any, max_length: int = 500, **kwargs: Any) -> None:
        self.max_length = max_length
        child = serializers.PrimaryKeyRelatedField(queryset=queryset)
        super().__init__(child_relation=child, **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        if isinstance(data, str | Mapping) or not hasattr(data, "__iter__"):
            self.fail("not_a_list", input_type=type(data).__name__)
        values = list(data)
        if not values and not self.allow_empty:
            self.fail("empty")
        if len(values) > self.max_length:
            raise serializers.ValidationError(
                _("At most %(n)s items.") % {"n": self.max_length}, code="max_length"
            )
        ids: list[int] = []
        for value in values:
            pk = parse_id(value)
            if pk is None:
                self.child_relation.fail("incorrect_type", data_type=type(value).__name__)
            ids.append(pk)
        found = self.child_relation.get_queryset().in_bulk(ids)
        for pk in ids:
            if pk not in found:
                self.child_relation.fail("does_not_exist", pk_value=pk)
        return [found[pk] for pk in dict.fromkeys(ids)]


def with_fields(data: Any, **fields: Any) -> Any:
    """A request body with ``fields`` added (ids from the URL), when it is an object.

    Anything else (a list, ``null``, a number) is returned as it is, for the serializer to
    refuse with a 400: spreading it into a dict raised a TypeError, a 500.
    """
    if not isinstance(data, Mapping):
        return data
    return {**data, **fields}


def validated(serializer_class: type[serializers.Serializer], data: Any, **context: Any) -> dict:
    """Validate ``data`` with the serializer REST and the gateway share; raise a 400 if bad."""
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
