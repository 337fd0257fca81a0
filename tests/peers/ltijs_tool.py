"""ltijs, a real LTI 1.3 tool (npm, IMS certified), run with node for the external tools
tests. ltijs keeps its data in a database; ltijs-sequelize puts it in a scratch PostgreSQL
database of its own (``ltijs`` needs MongoDB otherwise, and the SQLite driver is a native
build), made here and dropped afterwards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.conftest import skip_or_fail
from tests.live_server import free_port, wait_for

LTIJS_DIR = Path(__file__).resolve().parent / "ltijs"


def _postgres_admin_url() -> str:
    """The PostgreSQL server of the services mode (or the local one on 5432)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


@dataclass
class Ltijs:
    url: str
    log: Path

    def register_platform(self, platform: dict) -> None:
        request = urllib.request.Request(
            f"{self.url}/peer/platform",
            data=json.dumps(platform).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextmanager
def ltijs_tool() -> Iterator[Ltijs]:
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node is missing: install nodejs")
    if not (LTIJS_DIR / "node_modules" / "ltijs").is_dir():
        skip_or_fail("tests/peers/ltijs is not installed: run `make install`")
    import psycopg

    admin = _postgres_admin_url()
    name = f"lyceum_ltijs_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        skip_or_fail(f"ltijs keeps its data in PostgreSQL, which is not reachable: {exc}")
    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="ltijs-")) / "ltijs.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [node, "server.js", str(port), urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))],
        cwd=LTIJS_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    tool = Ltijs(url=f"http://127.0.0.1:{port}", log=log_path)
    try:

        def up() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"ltijs exited:\n{tool.log_tail()}")
            with suppress(OSError), urllib.request.urlopen(f"{tool.url}/keys", timeout=2):
                return True
            return False

        wait_for(up, timeout=60, what="ltijs")
        yield tool
    finally:
        process.terminate()
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()
        log.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
