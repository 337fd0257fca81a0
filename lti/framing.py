"""Lyceum inside a platform's frame: who may frame which page, and cookies that work there.

A platform that embeds its tools (Canvas by default, Moodle's "Embed" container, Moodle's
dynamic-registration dialog) shows our pages in a cross-site iframe. Three things follow:

- Framing. Every page says ``frame-ancestors 'none'`` (hub/csp.py). The LTI endpoints of a
  space may be framed by the origins of the platforms registered in it, the registration
  page by the origin of the platform's configuration URL, and a session opened by a
  *framed* launch keeps its pages frameable by that platform until it ends
  (:class:`FramedSessionMiddleware`). All through :func:`hub.csp.allow_framing`.
- Cookies. In a cross-site frame a ``SameSite=Lax`` cookie is never sent, and browsers that
  block third-party cookies drop ``SameSite=None`` ones too; what they keep is a
  *partitioned* cookie (CHIPS: ``SameSite=None; Secure; Partitioned``), stored for this
  top-level site only. The launch's state cookie is always partitioned; the session and
  CSRF cookies of a framed session are; ordinary sign-ins keep ``Lax``.
- ``Secure`` needs HTTPS, except on loopback hosts, which browsers treat as secure (so a
  developer's ``http://localhost`` works; plain http elsewhere cannot be framed).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from http.cookies import Morsel
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from hub.csp import allow_framing

# The session key of a framed launch: {"platform": pk, "origins": [...]}.
SESSION_FRAME = "lti_frame"
# Sec-Fetch-Dest values of a navigation inside a frame.
FRAME_DESTS = ("iframe", "frame")
# The launch presentation claim (``document_target`` says where the platform opened us).
PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
_ORIGINS_TTL = 60


class PartitionedMorsel(Morsel):
    """A cookie written with the ``Partitioned`` attribute (``http.cookies`` knows it only
    from Python 3.14 on)."""

    def OutputString(self, attrs: Any = None) -> str:
        text = super().OutputString(attrs)
        return text if "Partitioned" in text else f"{text}; Partitioned"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` ("" when it has none)."""
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def platform_origins(issuer: str, auth_login_url: str) -> list[str]:
    """Where a platform's pages are: its issuer's and its authentication URL's origins."""
    return [o for o in dict.fromkeys([origin_of(issuer), origin_of(auth_login_url)]) if o]


def space_origins(space_id: int) -> list[str]:
    """The origins of the active platforms registered in a space (cached for a minute)."""
    key = f"lti:frame-origins:space:{space_id}"
    found = cache.get(key)
    if found is None:
        from lti.models import Platform

        found = []
        rows = Platform.objects.filter(space_id=space_id, is_active=True).values_list(
            "issuer", "auth_login_url"
        )
        for issuer, auth in rows:
            found += [o for o in platform_origins(issuer, auth) if o not in found]
        cache.set(key, found, _ORIGINS_TTL)
    return found


def platform_is_active(platform_id: int) -> bool:
    key = f"lti:frame-origins:platform:{platform_id}"
    found = cache.get(key)
    if found is None:
        from lti.models import Platform

        found = Platform.objects.filter(pk=platform_id, is_active=True).exists()
        cache.set(key, found, _ORIGINS_TTL)
    return bool(found)


def forget_origins(*, space_id: int, platform_id: int | None = None) -> None:
    """After a platform is added, changed, paused or removed."""
    cache.delete(f"lti:frame-origins:space:{space_id}")
    if platform_id:
        cache.delete(f"lti:frame-origins:platform:{platform_id}")


def framed_request(request: HttpRequest) -> bool:
    """Whether the browser says this navigation happens inside a frame."""
    return request.headers.get("Sec-Fetch-Dest", "") in FRAME_DESTS


def framed_launch(request: HttpRequest, claims: dict[str, Any]) -> bool:
    """A launch inside a frame: the browser says so, or the platform's signed claim does."""
    target = (claims.get(PRESENTATION) or {}).get("document_target")
    return framed_request(request) or target in FRAME_DESTS


def launch_origins(claims: dict[str, Any]) -> list[str]:
    """Origins a signed launch names for the platform's own pages (Canvas' issuer is
    ``canvas.instructure.com`` while its pages are on the school's host)."""
    presentation = claims.get(PRESENTATION) or {}
    dl = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings") or {}
    urls = [str(presentation.get("return_url") or ""), str(dl.get("deep_link_return_url") or "")]
    return [o for o in dict.fromkeys(origin_of(u) for u in urls) if o]


def mark_framed_session(request: HttpRequest, *, platform: Any, claims: dict[str, Any]) -> None:
    """After ``login()``: this session lives in the platform's frame."""
    origins = platform_origins(platform.issuer, platform.auth_login_url)
    origins += [o for o in launch_origins(claims) if o not in origins]
    request.session[SESSION_FRAME] = {"platform": platform.pk, "origins": origins}


def secure_context(request: HttpRequest) -> bool:
    """Whether a ``Secure`` cookie set by this response will be kept by the browser."""
    if request.is_secure():
        return True
    host = request.get_host().rsplit(":", 1)[0].strip("[]") if request.get_host() else ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def partition_cookie(request: HttpRequest, response: HttpResponse, name: str) -> None:
    """Rewrite the cookie ``name`` set on ``response`` as ``SameSite=None; Secure;
    Partitioned`` (kept in a cross-site frame). Left as it is where ``Secure`` would make
    the browser drop it (plain http on a non-loopback host)."""
    morsel = response.cookies.get(name)
    if morsel is None or isinstance(morsel, PartitionedMorsel) or not secure_context(request):
        return
    fresh = PartitionedMorsel()
    fresh.set(morsel.key, morsel.value, morsel.coded_value)
    for attr, value in morsel.items():
        if value:
            fresh[attr] = value
    fresh["samesite"] = "None"
    fresh["secure"] = True
    response.cookies[name] = fresh


class FramedSessionMiddleware:
    """Keeps a framed LTI session working in its frame.

    Sits just before SessionMiddleware, so on the way out it sees the session and the
    cookies Django set (session, CSRF): for a framed session they are partitioned, and
    the page may be framed by the launching platform while it stays active.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None:
            return response
        frame = session.get(SESSION_FRAME)
        if not frame:
            return response
        for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME):
            partition_cookie(request, response, name)
        if platform_is_active(int(frame.get("platform") or 0)):
            # On the request: a view's own allow_framing (on its response) comes first.
            allow_framing(request, frame.get("origins") or [])
        return response
