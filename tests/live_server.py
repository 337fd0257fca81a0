"""Real Lyceum servers in child processes, for browser and scale-out tests.

A server in another process cannot see pytest-django's test database (an in-memory SQLite
database is not shared across processes, and a test transaction is never committed), so
each live environment gets its own database: a SQLite file in embedded mode, a scratch
PostgreSQL database plus its own Redis key prefix in services mode. The first environment of
a test run runs ``seed_demo`` once into a template, a copy of the run's migrated database
(tests/shared_db.py); every environment is a copy of it (a file copy, or ``CREATE DATABASE
... TEMPLATE`` and a copy of its Redis keys), so all live environments of all workers cost
one ``seed_demo`` and no migration of their own. The demo users' password is ``lyceum``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from tests import shared_db

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "lyceum"
START_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    condition: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.1
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(interval)


@dataclass
class LiveEnvironment:
    """The environment variables that point a process at one live database (and Redis)."""

    env: dict[str, str]
    workdir: Path
    services: bool
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def manage(self, *args: str, timeout: float = 300) -> str:
        """Run ``manage.py <args>`` against this environment; its output, or a clear failure."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done.stdout

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            cleanup()
        self.cleanups.clear()


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("LOG_LEVEL", "WARNING")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _drop_scratch_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _clear_redis_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def _embedded_env(env: dict[str, str], root: Path) -> None:
    """Point ``env`` at a file-backed SQLite database, var/ and media/ under ``root``."""
    for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_TEST_PATH"):
        env.pop(name, None)
    env["SQLITE_PATH"] = str(root / "lyceum.sqlite3")
    env["LYCEUM_VAR_DIR"] = str(root / "var")
    env["MEDIA_ROOT"] = str(root / "media")


def _copy_redis_prefix(url: str, source: str, target: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        pipe = client.pipeline(transaction=False)
        for key in client.scan_iter(match=f"{source}:*", count=500):
            dumped = client.dump(key)
            if dumped is not None:
                new_key = target.encode() + key[len(source) :]
                pipe.restore(new_key, 0, dumped, replace=True)
        pipe.execute()
    finally:
        client.close()


# The migrated, seeded template of this test run, by mode: built once for the whole run (all
# xdist workers) from the run's migrated database (tests/shared_db.py), under a lock.
_TEMPLATES: dict[str, str] = {}


def _template(services: bool) -> str:
    """The template's database name (services) or directory (embedded), built once per run."""
    mode = "services" if services else "embedded"
    if mode in _TEMPLATES:
        return _TEMPLATES[mode]
    done = shared_db.run_dir() / f"live-{mode}.done"
    with shared_db.run_lock("live-template"):
        env = _base_env()
        if services:
            template = shared_db.live_template_name()
            env["DATABASE_URL"] = shared_db.database_url(template)
            env["LYCEUM_REDIS_PREFIX"] = template
            env.setdefault("SECRET_KEY", "lyceum-live-tests-" + "x" * 40)
        else:
            root = shared_db.run_dir() / "live-embedded"
            _embedded_env(env, root)
            template = str(root)
        if not done.exists():
            # Dropped (and its Redis keys cleared) by shared_db.end_run when the run ends.
            if services:
                shared_db.create_database(template, template=shared_db.ensure_migrated(True))
            else:
                root.mkdir(parents=True, exist_ok=True)
                with closing(sqlite3.connect(root / "lyceum.sqlite3")) as target:
                    shared_db.copy_sqlite(shared_db.ensure_migrated(False), target)
            prepare = LiveEnvironment(
                env=env, workdir=Path(tempfile.gettempdir()), services=services
            )
            prepare.manage("seed_demo")
            done.touch()
    _TEMPLATES[mode] = template
    return template


@contextmanager
def live_environment(workdir: Path, *, label: str = "e2e") -> Iterator[LiveEnvironment]:
    """A migrated, seeded database of its own (and a Redis prefix in services mode)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = _base_env()
    scratch = f"lyceum_{label}_{os.getpid()}"
    live = LiveEnvironment(env=env, workdir=workdir, services=settings.SERVICES_MODE)
    try:
        template = _template(settings.SERVICES_MODE)
        if settings.SERVICES_MODE:
            parts = urlsplit(settings.DATABASE_URL)
            admin_url = urlunsplit(parts._replace(path="/postgres"))
            # One copy at a time: CREATE DATABASE refuses a template another session is in.
            with shared_db.run_lock("live-template"):
                shared_db.create_database(scratch, template=template)
            live.cleanups.append(lambda: _drop_scratch_database(admin_url, scratch))
            env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{scratch}"))
            env["LYCEUM_REDIS_PREFIX"] = scratch
            env.setdefault("SECRET_KEY", "lyceum-live-tests-" + "x" * 40)
            live.cleanups.append(lambda: _clear_redis_prefix(settings.REDIS_URL, scratch))
            # Leaderboard ranks and anything else the demo left in Redis.
            _copy_redis_prefix(settings.REDIS_URL, template, scratch)
        else:
            # Embedded mode: a file-backed SQLite database and a var/ dir of its own.
            _embedded_env(env, workdir)
            source = Path(template)
            for folder in ("var", "media"):
                if (source / folder).is_dir():
                    shutil.copytree(source / folder, workdir / folder, dirs_exist_ok=True)
            # The backup API copies a consistent database, WAL included.
            with (
                closing(sqlite3.connect(source / "lyceum.sqlite3")) as src,
                closing(sqlite3.connect(workdir / "lyceum.sqlite3")) as dst,
            ):
                src.backup(dst)
        yield live
    finally:
        live.close()


@dataclass
class LiveServer:
    """One ``manage.py serve`` process (daphne, plus the job worker in embedded mode)."""

    url: str
    port: int
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def http_status(url: str, timeout: float = 2) -> int | None:
    """The HTTP status of ``GET url``, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return None


def start_server(
    live: LiveEnvironment, *, name: str = "server", port: int | None = None
) -> LiveServer:
    """Start ``manage.py serve`` on ``port`` (by default a free one) and wait until
    ``/healthz`` answers 200."""
    port = port or free_port()
    log_path = live.workdir / f"{name}-{port}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--quiet",
        ],
        cwd=ROOT,
        env=live.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so stop() reaches every child
    )
    log.close()
    server = LiveServer(
        url=f"http://127.0.0.1:{port}", port=port, process=process, log_path=log_path
    )

    def healthy() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
        return http_status(f"{server.url}/healthz") == 200

    try:
        wait_for(healthy, timeout=START_TIMEOUT, what=f"{name} /healthz")
    except BaseException as exc:
        server.stop()
        if isinstance(exc, TimeoutError):
            raise TimeoutError(f"{exc}\n{server.log_tail()}") from None
        raise
    return server


@contextmanager
def running_server(live: LiveEnvironment, *, name: str = "server") -> Iterator[LiveServer]:
    server = start_server(live, name=name)
    try:
        yield server
    finally:
        server.stop()


# -- REST helpers -----------------------------------------------------------------------------
def api(
    base_url: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: dict[str, Any] | None = None,
    timeout: float = 10,
) -> tuple[int, Any]:
    """One JSON API call; returns ``(status, decoded body)``."""
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        status = exc.code
    return status, json.loads(raw) if raw else None


def api_token(base_url: str, username: str, password: str = DEMO_PASSWORD) -> str:
    """A demo user's API token (``POST /api/v1/auth/token/``)."""
    status, body = api(
        base_url,
        "POST",
        "/api/v1/auth/token/",
        body={"username": username, "password": password},
    )
    if status != 200:
        raise AssertionError(f"token for {username}: {status} {body}")
    return body["token"]


def new_activity(
    base_url: str,
    course_title: str,
    title: str,
    *,
    kind: str = "lesson",
    module: int = 0,
) -> dict[str, Any]:
    """An optional activity the demo trainer adds to module ``module`` (an index: -1 is
    the last) of the demo course ``course_title``; its API representation."""
    trainer = api_token(base_url, "trainer")
    _status, courses = api(base_url, "GET", "/api/v1/courses/", token=trainer)
    course = next(c for c in courses if c["title"] == course_title)
    _status, detail = api(base_url, "GET", f"/api/v1/courses/{course['id']}/", token=trainer)
    status, activity = api(
        base_url,
        "POST",
        f"/api/v1/modules/{detail['modules'][module]['id']}/activities/",
        token=trainer,
        body={"title": title, "kind": kind, "required": False},
    )
    assert status == 201, activity
    return activity
