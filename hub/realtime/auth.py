"""Who is on the other end of a socket: session cookie (browsers) or DRF token (scripts)."""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings

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


class BrowserOriginValidator(OriginValidator):
    """Browsers always send ``Origin`` on a WebSocket handshake: it must be one of
    ALLOWED_HOSTS (this stops cross-site socket hijacking with the session cookie).
    Scripts, apps and the WebRTC test client send none and authenticate by token."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def gateway_stack(app: Any) -> Any:
    """Origin check, then session auth, then token auth (a token wins over a cookie)."""
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(AuthMiddlewareStack(TokenAuthMiddleware(app)), allowed)
