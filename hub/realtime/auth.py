"""Who is on the other end of a socket: session cookie (browsers) or DRF token (scripts)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from channels.auth import get_user as channels_get_user
from channels.middleware import BaseMiddleware
from channels.security.websocket import WebsocketDenier
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import is_same_domain

from hub.realtime.gateway import on_database_thread


def _user_for_token_sync(key: str) -> Any:
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


async def _user_for_token(key: str) -> Any:
    # On the pool of database threads, not the process's one thread for sync code: in a
    # connect storm a thousand handshakes otherwise queue behind each other's look-ups and
    # most pass daphne's handshake timeout before the socket is accepted.
    return await on_database_thread(_user_for_token_sync)(key)


class TokenAuthMiddleware(BaseMiddleware):
    """``Authorization: Token <key>`` on the handshake sets ``scope["user"]``."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, key = value.decode("latin-1").partition(" ")
                if scheme.lower() == "token" and key:
                    user = await _user_for_token(key.strip())
                    if user is not None:
                        scope = dict(scope, user=user)
                break
        return await super().__call__(scope, receive, send)


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) origin, the port made explicit; None if not one."""
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return None
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    if not host:
        return None
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


def _headers(scope: dict[str, Any]) -> dict[bytes, str]:
    return {name: value.decode("latin-1") for name, value in scope.get("headers", [])}


def _request_scheme(scope: dict[str, Any], headers: dict[bytes, str]) -> str:
    """http or https: what the page that opened this socket was served over."""
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        name, secure_value = proxy
        header = name.lower().removeprefix("http_").replace("_", "-").encode()
        if header in headers:
            return "https" if headers[header].split(",")[0].strip() == secure_value else "http"
    return "https" if scope.get("scheme") in ("wss", "https") else "http"


def _allowed_hosts() -> list[str]:
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return allowed


def _trusted(origin: tuple[str, str, int]) -> bool:
    """Listed in CSRF_TRUSTED_ORIGINS (as Django's CSRF check reads it, port included)."""
    scheme, host, port = origin
    for entry in settings.CSRF_TRUSTED_ORIGINS:
        entry_scheme, _, netloc = entry.partition("://")
        if netloc.startswith("*."):
            trusted = _origin(entry_scheme, netloc[2:])
            if (
                trusted
                and trusted[0] == scheme
                and trusted[2] == port
                and is_same_domain(host, "." + trusted[1])
            ):
                return True
        elif _origin(entry_scheme, netloc) == origin:
            return True
    return False


def origin_allowed(scope: dict[str, Any]) -> bool:
    """May a browser page of this ``Origin`` open this socket?

    As Django's CSRF check does for forms: the origin must be the site itself (same scheme,
    host and port as the request, the host one of ALLOWED_HOSTS) or one of
    CSRF_TRUSTED_ORIGINS. Another port of an allowed host is another origin (another
    program may listen there). Browsers always send ``Origin`` on a WebSocket handshake;
    scripts, apps and the WebRTC test client send none and authenticate by token.
    """
    headers = _headers(scope)
    raw = headers.get(b"origin")
    if raw is None:
        return True
    parts = urlsplit(raw.strip()) if "://" in raw else None
    origin = _origin(parts.scheme, parts.netloc) if parts else None
    if origin is None:
        return False
    if _trusted(origin):
        return True
    if not validate_host(origin[1], _allowed_hosts()):
        return False
    host = headers.get(b"host")
    if settings.USE_X_FORWARDED_HOST and b"x-forwarded-host" in headers:
        host = headers[b"x-forwarded-host"].split(",")[0].strip()
    scheme = _request_scheme(scope, headers)
    if host is None:
        # No Host header (HTTP/1.0, test clients): the site on its scheme's default port.
        return origin[0] == scheme and origin[2] == DEFAULT_PORTS[scheme]
    domain, port = split_domain_port(host)
    if not domain:
        return False
    served = _origin(scheme, f"{domain}:{port}" if port else domain)
    return served is not None and origin == served


class BrowserOriginValidator:
    """Refuses a handshake whose ``Origin`` is not the site's own (``origin_allowed``):
    this stops cross-site socket hijacking with the session cookie."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)


class SessionUserMiddleware(BaseMiddleware):
    """``scope["user"]`` from the session cookie, unless a token already set it.

    Channels' ``AuthMiddleware`` does the same on the process's one sync thread, for every
    handshake (a token's too): when a crowd of browsers reconnects at once (a deploy, a lost
    process), their session and user look-ups queued there one after the other, behind
    every other sync call. Here they run on the database thread pool, like the token's.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if "user" not in scope:
            if "session" not in scope:
                raise ValueError("SessionUserMiddleware needs channels' SessionMiddleware above")
            scope = dict(scope, user=await on_database_thread(channels_get_user.func)(scope))
        return await super().__call__(scope, receive, send)


def gateway_stack(app: Any) -> Any:
    """Origin check, then token auth, then session auth (a token wins over a cookie)."""
    return BrowserOriginValidator(
        CookieMiddleware(SessionMiddleware(TokenAuthMiddleware(SessionUserMiddleware(app))))
    )
