"""Request checks that hold for every view, page or API."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext as _

NUL = "\x00"


def _has_nul(values: Iterable[str]) -> bool:
    return any(NUL in value for value in values)


def _fields_have_nul(data: QueryDict) -> bool:
    return any(NUL in key or _has_nul(values) for key, values in data.lists())


class RejectNulMiddleware:
    """A NUL character in the path, the query string, a cookie or a form field is a 400.

    PostgreSQL text cannot hold a NUL: a query that filters or stores one fails with a
    500 (a forum search for ``q=%00`` did), and no view has any use for one. DRF's
    CharField and Django's forms.CharField refuse it already, but many views read a query
    parameter directly. JSON bodies are checked by ``hub.api.JSONParser``; multipart bodies
    are not read here (uploads stream through their own handlers), their fields go through
    forms and serializers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            NUL in request.path_info
            or _fields_have_nul(request.GET)
            or _has_nul(request.COOKIES.values())
            or (
                request.method == "POST"
                and request.content_type == "application/x-www-form-urlencoded"
                and _fields_have_nul(request.POST)
            )
        ):
            # Answered by handler400: the API's JSON error under /api/, a page elsewhere.
            raise BadRequest(_("The request contains a NUL character."))
        return self.get_response(request)
