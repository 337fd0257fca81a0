"""``request.space``: the space (portal) the person is browsing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from hub.accounts.models import Space
from hub.accounts.selectors import default_space, spaces_of
from hub.accounts.timezones import is_known_zone


def _current_space(request: HttpRequest) -> Space | None:
    user = request.user
    if not user.is_authenticated:
        return default_space()
    mine = spaces_of(user=user)
    chosen = request.session.get("space_id")
    if chosen is not None:
        space = mine.filter(pk=chosen).first()
        if space is not None:
            return space
    return mine.filter(is_default=True).first() or mine.first()


def current_space(request: HttpRequest) -> Space | None:
    """The space the person is browsing, or ``None`` (someone in no space yet).

    ``request.space`` is lazy, so it is never ``None`` itself even when there is no space:
    test it by truth (``if request.space``), or read it through this function.
    """
    space = getattr(request, "space", None)
    return space if space else None


class CurrentSpaceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        request.space = SimpleLazyObject(lambda: _current_space(request))  # type: ignore[attr-defined]
        return self.get_response(request)


class TimeZoneMiddleware:
    """Dates on every page in the viewer's own zone: the profile's, else the server's.

    The zone is read from the user row already loaded by the authentication middleware,
    so it costs no query. Templates and ``timezone.localtime`` then use it; the shell
    tells the browser's helper (``Lyceum.formatDate``) the same zone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        zone = getattr(user, "time_zone", "") if user is not None else ""
        if zone and is_known_zone(zone):
            timezone.activate(ZoneInfo(zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


# -- identity and access (issue 16) ---------------------------------------------------------
SECOND_FACTOR_FREE_PATHS = (
    "/accounts/security/",
    "/accounts/logout/",
    "/accounts/login/",
    "/static/",
    "/jsi18n/",
    "/i18n/",
    "/healthz",
    "/brand/",
    "/sw.js",
    "/manifest",
)


class SecondFactorMiddleware:
    """A staff person whose space requires a second factor, signed in without one, reaches
    only the "Security and data" page (to set one up) until they have. The rule is read at
    sign-in into the session (``lyceum_mfa_ok``), so this costs no query per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if (
            session is not None
            and session.get("lyceum_mfa_ok") is False
            and request.user.is_authenticated
            and not request.path.startswith(SECOND_FACTOR_FREE_PATHS)
        ):
            from django.http import JsonResponse
            from django.shortcuts import redirect
            from django.urls import reverse

            if request.method == "GET" and not request.path.startswith("/api/"):
                return redirect(reverse("security") + "?required=1#second-factor")
            return JsonResponse(
                {
                    "error": {
                        "code": "second_factor_required",
                        "message": "Set up a second factor first (Security and data).",
                    }
                },
                status=403,
            )
        return self.get_response(request)
