"""Real counterparts the identity tests talk to: the npm ``oidc-provider`` (an OpenID
Connect provider) run with node, and pysaml2's IdP (``tests/peers/saml_idp.py``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.conftest import skip_or_fail
from tests.live_server import free_port, wait_for

HERE = Path(__file__).resolve().parent
OIDC_DIR = HERE / "oidc"


@contextmanager
def oidc_provider(*, clients: list[dict], accounts: dict[str, dict]) -> Iterator[str]:
    """Start oidc-provider on a free port; yields its issuer URL."""
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is missing: install nodejs")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        skip_or_fail("tests/peers/oidc is not installed: run `make install`")
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "CLIENTS": json.dumps(clients),
        "ACCOUNTS": json.dumps(accounts),
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in the finally below)
    process = subprocess.Popen(
        [node, "server.js"], cwd=OIDC_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    issuer = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        def up() -> bool:
            with (
                suppress(OSError),
                urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2),
            ):
                return True
            return False

        wait_for(up, timeout=30, what="oidc-provider")
        yield issuer
    finally:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()
        log.close()


# -- LTI 1.3 platform (issue 18): lti1p3platform from PyPI, run by tests/peers/lti_platform.py
@contextmanager
def lti_platform(*, people: dict[str, dict], tool: dict | None = None, **extra: object):
    """Start the LTI 1.3 platform peer on a free port; yields its base URL (its issuer)."""
    import sys
    import urllib.request

    try:
        import lti1p3platform  # noqa: F401
    except ImportError:
        skip_or_fail("lti1p3platform is missing: run `make install`")
    port = free_port()
    config = {"port": port, "people": people, "tool": tool or {}, **extra}
    folder = tempfile.TemporaryDirectory()
    path = Path(folder.name) / "config.json"
    path.write_text(json.dumps(config))
    log = tempfile.TemporaryFile()  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, str(HERE / "lti_platform.py"), str(path)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        with suppress(OSError), urllib.request.urlopen(f"{base}/_state", timeout=2):
            return True
        if process.poll() is not None:
            log.seek(0)
            raise AssertionError(f"the LTI platform peer died:\n{log.read().decode()[-3000:]}")
        return False

    try:
        wait_for(up, timeout=30, what="LTI platform peer")
        yield base
    finally:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()
        log.close()
        folder.cleanup()


def peer_json(url: str, method: str = "GET", body: dict | None = None) -> dict:
    """A JSON call to a peer's test hook (``/_state``, ``/_fail``, ``/_tool``)."""
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())
