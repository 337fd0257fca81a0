"""One migration per test run, shared by every worker and every live server.

Building the test database (every app's migrations) is the most expensive set-up of the
suite: minutes of CPU on a loaded 2-core machine. pytest-xdist workers used to run it once
each, and the live servers' template (tests/live_server.py) ran it again in each worker.
Now the first process that needs a migrated database builds it once for the run, under a
file lock, with ``manage.py migrate --run-syncdb`` (what Django's own test database creation
runs); everyone else copies it:

- embedded mode: a SQLite file, loaded into each worker's in-memory test database with
  SQLite's backup API, and copied to a file for the live servers;
- services mode: a PostgreSQL database used as a ``TEMPLATE`` for each worker's test
  database (Django's parallel test runner clones the same way) and for the live template.

The migrations all still run, in full, once per run (no squashing, no ``--nomigrations``).
The controller process (or the only process, without xdist) names the run and removes what
was built when the run ends (``pytest_configure`` / ``pytest_unconfigure`` in conftest.py).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
# Set by the controller, inherited by the xdist workers (spawned after pytest_configure).
RUN_DIR_ENV = "LYCEUM_TEST_RUN_DIR"
RUN_ID_ENV = "LYCEUM_TEST_RUN_ID"
MIGRATE_TIMEOUT = 1800.0
# How long a test may wait for (or spend on) the run's shared builds, as conftest.py's
# DB_SETUP_TIMEOUT bounds Django's own test database creation.
BUILD_TIMEOUT = 900.0


def start_run() -> bool:
    """Name this run and make its shared directory, unless a parent process already did.

    True when this process owns the run (and must call :func:`end_run`)."""
    if os.environ.get(RUN_DIR_ENV):
        return False
    os.environ[RUN_ID_ENV] = uuid.uuid4().hex[:10]
    os.environ[RUN_DIR_ENV] = tempfile.mkdtemp(prefix="lyceum-test-run-")
    return True


def run_dir() -> Path:
    path = os.environ.get(RUN_DIR_ENV)
    if not path:  # a process started outside pytest's configure (should not happen)
        start_run()
        path = os.environ[RUN_DIR_ENV]
    return Path(path)


def run_id() -> str:
    run_dir()
    return os.environ[RUN_ID_ENV]


@contextmanager
def run_lock(name: str) -> Iterator[None]:
    """An exclusive lock shared by every process of the run (a ``flock`` on a file).

    Waiting for it (another process may be migrating) and what is done under it count as
    building, not against the test's own time: see :func:`_build_time`."""
    with _build_time(), open(run_dir() / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _build_time() -> Iterator[None]:
    """Bound a shared build by BUILD_TIMEOUT instead of the current test's timeout.

    The migration and the demo data are built during the set-up of whichever test needs
    them first (a live server's, a database's): on a loaded machine that alone can outlast
    the test's 120 or 300 s. pytest-timeout's signal method runs on the process timer; it
    is lengthened while building and gets its remaining time back afterwards (as the
    django_db_setup hook of conftest.py does)."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    if not hasattr(signal, "setitimer") or not in_main_thread:
        yield
        return
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    if remaining:
        signal.setitimer(signal.ITIMER_REAL, BUILD_TIMEOUT)
    try:
        yield
    finally:
        if remaining:
            signal.setitimer(signal.ITIMER_REAL, remaining, interval)


def admin_url() -> str:
    """The server's maintenance database (CREATE / DROP DATABASE are run from there)."""
    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/postgres"))


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(settings.DATABASE_URL)._replace(path=f"/{name}"))


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def create_database(name: str, template: str | None = None) -> None:
    """CREATE DATABASE, as a copy of ``template`` when given (dropped first if it exists)."""
    import psycopg

    drop_database(name)
    # PostgreSQL 15's default strategy (WAL_LOG), as Django's parallel runner clones: the
    # FILE_COPY one forces two checkpoints per copy, slow on a server other suites keep busy.
    copy = f' TEMPLATE "{template}"' if template else ""
    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')


def migrated_template_name() -> str:
    """The PostgreSQL database holding the run's migrated (empty) schema."""
    return f"lyceum_migrated_{run_id()}"


def _migrated_sqlite() -> Path:
    return run_dir() / "migrated" / "lyceum.sqlite3"


def _manage_env(postgres: bool, root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("LOG_LEVEL", "WARNING")
    if postgres:
        env["DATABASE_URL"] = database_url(migrated_template_name())
        env.setdefault("SECRET_KEY", "lyceum-live-tests-" + "x" * 40)
    else:
        for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_TEST_PATH"):
            env.pop(name, None)
        env["SQLITE_PATH"] = str(root / "lyceum.sqlite3")
        env["LYCEUM_VAR_DIR"] = str(root / "var")
        env["MEDIA_ROOT"] = str(root / "media")
    return env


# The `manage.py migrate` under way in this process, if any: end_run stops it when the run
# ends before it does (an interrupted run, a --collect-only).
_migrating: subprocess.Popen | None = None


def _migrate(postgres: bool, root: Path) -> None:
    global _migrating
    process = subprocess.Popen(
        [sys.executable, "manage.py", "migrate", "--noinput", "--run-syncdb"],
        cwd=ROOT,
        env=_manage_env(postgres, root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _migrating = process
    try:
        output, _ = process.communicate(timeout=MIGRATE_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    finally:
        _migrating = None
    if process.returncode != 0:
        raise RuntimeError(f"manage.py migrate failed ({process.returncode}):\n{output[-6000:]}")


def ensure_migrated(postgres: bool) -> str:
    """Build the run's migrated database once: its name (PostgreSQL) or file path (SQLite)."""
    done = run_dir() / ("migrated-postgres.done" if postgres else "migrated-sqlite.done")
    with run_lock("migrate"):
        if not done.exists():
            root = _migrated_sqlite().parent
            root.mkdir(parents=True, exist_ok=True)
            if postgres:
                create_database(migrated_template_name())
            else:  # what a failed attempt left
                _migrated_sqlite().unlink(missing_ok=True)
            _migrate(postgres, root)
            done.touch()
    return migrated_template_name() if postgres else str(_migrated_sqlite())


_early: threading.Thread | None = None


def start_migrating_early() -> None:
    """Build the migrated database in a background thread of this (controller) process.

    Workers that need it before it is done wait on the same lock; a failure here is only
    logged: the first worker to need the database then builds it itself and reports it."""
    global _early

    def build() -> None:
        try:
            ensure_migrated(bool(settings.DATABASE_URL))
        except Exception as exc:
            print(f"building the migrated test database failed: {exc}", file=sys.stderr)

    _early = threading.Thread(target=build, name="lyceum-migrate", daemon=True)
    _early.start()


def copy_sqlite(source: str | Path, target: sqlite3.Connection) -> None:
    """Copy a SQLite database file into ``target`` (a consistent copy, WAL included)."""
    with closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src:
        src.backup(target)


def setup_test_databases(verbosity: int) -> list[tuple[Any, str, bool]]:
    """Each worker's test database as a copy of the run's migrated one.

    Returns what ``django.test.utils.setup_databases`` returns, for ``teardown_databases``.
    Only the ``default`` database exists in this project.
    """
    from django.db import connections

    connection = connections["default"]
    postgres = connection.vendor == "postgresql"
    old_name = connection.settings_dict["NAME"]
    source = ensure_migrated(postgres)
    test_name = connection.creation._get_test_db_name()
    connection.close()
    if postgres:
        if verbosity >= 1:
            print(f"Cloning test database {test_name} from {source}")
        # Clones one at a time: CREATE DATABASE refuses a template another session uses.
        with run_lock("migrate"):
            create_database(test_name, template=source)
    settings.DATABASES["default"]["NAME"] = test_name
    connection.settings_dict["NAME"] = test_name
    connection.ensure_connection()
    if not postgres:
        # The in-memory, shared-cache database lives as long as this connection (Django
        # never closes an in-memory test database's connection).
        copy_sqlite(source, connection.connection)
    return [(connection, old_name, True)]


def close_other_sessions() -> None:
    """End the other PostgreSQL sessions on this worker's test database (before its DROP)."""
    from django.db import connections

    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    connection.close()
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]],
        )


def can_share_test_database() -> bool:
    """PostgreSQL, or SQLite in memory (a SQLITE_TEST_PATH file keeps Django's own path)."""
    from django.db import connections

    connection = connections["default"]
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and connection.creation.is_in_memory_db(
        connection.creation._get_test_db_name()
    )


def live_template_name() -> str:
    """The PostgreSQL database (and Redis key prefix) of the live servers' seeded template."""
    return f"lyceum_live_{run_id()}"


def end_run() -> None:
    """Remove what the run built (called by the process that started it)."""
    path = os.environ.get(RUN_DIR_ENV)
    if not path:
        return
    if _early is not None:
        building = _migrating
        if building is not None and building.poll() is None:
            building.kill()
        _early.join(timeout=60)
    built = {p.name for p in Path(path).glob("*.done")}
    try:
        if "migrated-postgres.done" in built:
            drop_database(migrated_template_name())
        if "live-services.done" in built:
            drop_database(live_template_name())
            _clear_redis_prefix(settings.REDIS_URL, live_template_name())
    except Exception as exc:
        print(f"could not remove the run's template databases: {exc}", file=sys.stderr)
    shutil.rmtree(path, ignore_errors=True)


def _clear_redis_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
