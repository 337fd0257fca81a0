"""Set-up shared by the browser tests of Lyceum as an LTI tool (tests/e2e/test_lti_*.py):
the peer platform (tests/peers/lti_platform.py) registered
in the demo space, both ways."""

from __future__ import annotations

import uuid
from typing import Any

from tests.live_server import api, api_token
from tests.peers import peer_json


def register_peer(url: str, peer: str, *, name: str, tool: str | None = None) -> dict[str, Any]:
    """Register the running peer platform ``peer`` in the demo space (as its admin) and give
    the peer our values: login and launch at ``tool`` (default ``url``), the JWKS at ``url``.
    Returns the platform as the REST API answered it."""
    admin = api_token(url, "admin")
    _status, me = api(url, "GET", "/api/v1/me/", token=admin)
    space_id = next(s["id"] for s in me["spaces"] if s["slug"] == "demo")
    client_id = f"lyceum-{uuid.uuid4().hex[:6]}"
    status, platform = api(
        url,
        "POST",
        "/api/v1/lti/platforms/",
        token=admin,
        body={
            "space": space_id,
            "name": name,
            "issuer": peer,
            "client_id": client_id,
            "deployment_ids": ["dep-1"],
            "auth_login_url": f"{peer}/auth",
            "auth_token_url": f"{peer}/token",
            "key_set_url": f"{peer}/jwks",
        },
    )
    assert status == 201, platform
    tool = tool or url
    peer_json(
        f"{peer}/_tool",
        "POST",
        {
            "client_id": client_id,
            "deployment_id": "dep-1",
            "login_url": f"{tool}/lti/demo/login/",
            "launch_url": f"{tool}/lti/demo/launch/",
            "jwks_url": f"{url}/lti/demo/jwks/",
        },
    )
    return platform


def remove_platform(url: str, platform: dict[str, Any]) -> None:
    api(url, "DELETE", f"/api/v1/lti/platforms/{platform['id']}/", token=api_token(url, "admin"))
