"""ASGI entry point: HTTP through Django, WebSockets at /ws/ through the gateway."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from hub.bodylimit import BodyLimitMiddleware  # noqa: E402
from hub.realtime.auth import gateway_stack  # noqa: E402
from hub.realtime.gateway import Gateway  # noqa: E402

application = ProtocolTypeRouter(
    {
        # An oversized body is refused (413) before it is read (hub/bodylimit.py).
        "http": BodyLimitMiddleware(django_asgi_app),
        "websocket": gateway_stack(URLRouter([path("ws/", Gateway())])),
    }
)
