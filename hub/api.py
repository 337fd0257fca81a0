"""REST plumbing shared by every app: one error format, pagination, write throttling."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.exceptions import Throttled
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle

from hub.params import validate_datetime_in_range

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


class RateLimited(Throttled):
    """A service's own rate limit was hit: REST answers 429, the gateway ``rate_limited``."""


class WriteRateThrottle(UserRateThrottle):
    """Throttle writes only: reading never runs out."""

    scope = "writes"

    def allow_request(self, request: Any, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error is ``{"error": {"code", "message", "details"?}}`` with a 4xx status.

    Services raise Django's ``PermissionDenied`` / ``ValidationError``; they are mapped here
    so REST answers the same way the gateway does.
    """
    # Imported here: rest_framework.views reads DEFAULT_THROTTLE_CLASSES (this module) when
    # it loads, so importing it at the top would be circular.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = {
        400: "invalid",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        415: "unsupported_media_type",
        429: "rate_limited",
    }.get(response.status_code, "error")
    body: dict[str, Any] = {"code": code}
    if isinstance(exc, exceptions.ValidationError):
        body["message"] = "The data is not valid."
        body["details"] = response.data
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else response.data
        body["message"] = str(detail)
    response.data = {"error": body}
    return response


class DateTimeInRangeField(serializers.DateTimeField):
    """A datetime written through the API: years 1970 to 2099 (see ``hub.params``), so
    date arithmetic and time-zone conversions on it cannot overflow."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators.append(validate_datetime_in_range)


def validated(serializer_class: type[serializers.Serializer], data: Any, **context: Any) -> dict:
    """Validate ``data`` with the serializer REST and the gateway share; raise a 400 if bad."""
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
