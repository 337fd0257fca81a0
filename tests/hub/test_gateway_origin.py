"""The WebSocket Origin check: the site's own origin, port included (issue 13, item 22)."""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from hub.asgi import application
from hub.realtime.auth import origin_allowed

pytestmark = pytest.mark.django_db(transaction=True)


def scope(origin: str | None, host: str | None = "app.example:8000", scheme: str = "ws") -> dict:
    headers = []
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if host is not None:
        headers.append((b"host", host.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers}


@pytest.fixture(autouse=True)
def _hosts(settings):
    settings.ALLOWED_HOSTS = ["app.example", "127.0.0.1"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://learn.example.org", "https://*.partner.example"]


@pytest.mark.parametrize(
    ("origin", "host", "scheme", "allowed"),
    [
        ("http://app.example:8000", "app.example:8000", "ws", True),
        ("http://APP.example:8000", "app.example:8000", "ws", True),
        ("http://app.example:9999", "app.example:8000", "ws", False),  # the probe
        ("http://app.example", "app.example:8000", "ws", False),
        ("https://app.example:8000", "app.example:8000", "ws", False),  # another scheme
        ("https://app.example", "app.example", "wss", True),
        ("https://app.example:443", "app.example", "wss", True),
        ("http://app.example", "app.example", "wss", False),
        ("http://127.0.0.1:8000", "app.example:8000", "ws", False),  # another allowed host
        ("http://evil.example:8000", "evil.example:8000", "ws", False),  # not allowed at all
        ("https://learn.example.org", "app.example:8000", "ws", True),  # trusted origin
        ("https://learn.example.org:8443", "app.example:8000", "ws", False),
        ("https://eu.partner.example", "app.example:8000", "ws", True),
        ("http://eu.partner.example", "app.example:8000", "ws", False),
        ("null", "app.example:8000", "ws", False),
        ("http://app.example:notaport", "app.example:8000", "ws", False),
        ("http://app.example:99999", "app.example:8000", "ws", False),
        ("file://app.example", "app.example:8000", "ws", False),
    ],
)
def test_origin_must_be_the_sites_own_scheme_host_and_port(origin, host, scheme, allowed):
    assert origin_allowed(scope(origin, host, scheme)) is allowed


def test_no_origin_is_a_script_and_no_host_means_the_default_port():
    assert origin_allowed(scope(None))
    assert origin_allowed(scope("http://app.example", host=None))
    assert not origin_allowed(scope("http://app.example:9999", host=None))


def test_behind_a_tls_proxy_the_forwarded_scheme_counts(settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proxied = scope("https://app.example", "app.example")
    proxied["headers"].append((b"x-forwarded-proto", b"https"))
    assert origin_allowed(proxied)
    assert not origin_allowed(scope("https://app.example", "app.example"))


async def test_a_socket_from_another_port_of_an_allowed_host_is_refused(settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    for origin, expected in (("http://localhost:9999", False), ("http://localhost:8000", True)):
        communicator = WebsocketCommunicator(
            application,
            "/ws/",
            headers=[(b"origin", origin.encode()), (b"host", b"localhost:8000")],
        )
        connected, _ = await communicator.connect()
        assert connected is expected, origin
        await communicator.disconnect()
