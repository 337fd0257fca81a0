"""The Content-Security-Policy header: one strict policy for every page, enforced.

Django 5.2 has no CSP support (6.0 adds ``django.middleware.csp``). This middleware follows
6.0's design so the upgrade is a swap of two imports: the policy is the ``SECURE_CSP``
setting (a dict of directive -> list of sources), a header another layer already set is
kept (uploaded files carry their own ``sandbox`` policy), and a view that needs another
policy says so with :func:`csp_override` instead of weakening the global one.

The policy has no ``'unsafe-inline'`` and no ``'unsafe-eval'``: pages load their scripts
and styles from files, take their data from ``json_script`` blocks (``type=
"application/json"`` is never executed) and wire events with ``addEventListener``. A test
scans every template so an inline handler, ``<script>`` body or ``style`` attribute cannot
come back (tests/frontend/test_csp.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"

# The response attribute a view's override travels on (the name Django 6.0 uses).
_OVERRIDE = "_csp_config"
# The origins allowed to frame a page, on the response or the request (see allow_framing).
_FRAMERS = "_csp_frame_ancestors"

Policy = Mapping[str, Iterable[str] | bool]

# A host name or IP literal as it may stand in a CSP source (no spaces, quotes, ``;``, ``*``).
_HOST = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")


def build_policy(config: Policy) -> str:
    """``{"default-src": ["'self'"], "upgrade-insecure-requests": True}`` -> header value.

    A directive whose value is ``True`` is written bare; ``False``, ``None`` or an empty
    list leaves it out.
    """
    parts = []
    for directive, sources in config.items():
        if sources is True:
            parts.append(directive)
        elif sources and not isinstance(sources, bool):
            parts.append(" ".join([directive, *sources]))
    return "; ".join(parts)


def csp_override(config: Policy) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve a view's responses under ``config`` instead of ``SECURE_CSP``.

    For third-party pages that cannot follow the strict policy (e.g. the API's Swagger UI):
    the exception stays on that view. ``config`` replaces the whole policy, so start from
    ``settings.SECURE_CSP`` and change only what the view needs.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            response = view(*args, **kwargs)
            setattr(response, _OVERRIDE, config)
            return response

        return wrapped

    return decorator


def framing_sources(origins: Iterable[str]) -> list[str]:
    """``frame-ancestors`` sources for ``origins`` (``scheme://host[:port]``), the rest dropped.

    The values come from configuration (a registered platform's URLs): anything that is
    not a plain http(s) origin could widen or break the directive, so it is left out.
    """
    sources: list[str] = []
    for origin in origins:
        try:
            parts = urlsplit(origin)
            port = parts.port
        except ValueError:
            continue
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host or not _HOST.fullmatch(host):
            continue
        if ":" in host:
            host = f"[{host}]"  # IPv6 literal
        source = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
        if source not in sources:
            sources.append(source)
    return sources


def allow_framing(target: HttpRequest | HttpResponse, origins: Iterable[str]) -> None:
    """Let the page be framed by ``origins`` (and our own origin) instead of nobody.

    Set on a response (one view's page) or on a request (every page a request answers,
    e.g. all pages of a session opened inside a platform's frame). The middleware writes
    ``frame-ancestors`` from it and drops ``X-Frame-Options``, which cannot name several
    origins (browsers that know CSP ignore it where ``frame-ancestors`` is set). No valid
    origin leaves the page unframeable.
    """
    setattr(target, _FRAMERS, framing_sources(origins))


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` from ``SECURE_CSP`` to every response without one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # The header text, built once per policy object (settings may be overridden in tests).
        self._built: tuple[object, str] | None = None

    def _default_header(self) -> str:
        config = getattr(settings, "SECURE_CSP", None) or {}
        if self._built is None or self._built[0] is not config:
            self._built = (config, build_policy(config))
        return self._built[1]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER in response:
            return response  # set by another layer (a user file's sandbox policy): keep it
        override = getattr(response, _OVERRIDE, None)
        framers = getattr(response, _FRAMERS, None) or getattr(request, _FRAMERS, None)
        if framers:
            base = override if override is not None else getattr(settings, "SECURE_CSP", {})
            override = {**base, "frame-ancestors": ["'self'", *framers]}
            if "X-Frame-Options" in response:
                del response["X-Frame-Options"]
        header = build_policy(override) if override is not None else self._default_header()
        if header:
            response[HEADER] = header
        return response
