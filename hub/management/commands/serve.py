"""Run Lyceum: daphne, plus (embedded mode) the background-job worker in this process.

In embedded mode the channel layer lives in this process's memory, so jobs that publish
live events (reminders, promotions) must run here too: the worker runs as a thread. In
services mode run workers separately (``manage.py db_worker``), as many as needed.
"""

from __future__ import annotations

import threading

from daphne.endpoints import build_endpoint_description_strings
from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError
from django_tasks_db.management.commands.db_worker import Worker

from hub.bodylimit import bounded_server_class
from hub.shutdown import graceful_server_class

LISTEN_BACKLOG = 1024
# Seconds a WebSocket handshake may wait for the application to accept it (daphne: 5). In a
# connect storm (every socket coming back after a deploy) handshakes queue for a moment;
# 5 s turned most of 1,000 away. A bounded wait, not an unbounded one.
HANDSHAKE_TIMEOUT = 30
# What collectstatic leaves out by default: a file it skips is not in the manifest either.
COLLECTSTATIC_IGNORED = ["CVS", ".*", "*~"]
COLLECTSTATIC = "manage.py collectstatic --noinput"


def static_files_problem() -> str | None:
    """Why every page would fail on its static files, or None if they can be served.

    With a manifest storage (whitenoise's, outside DEBUG and tests) a page that names a
    static file not in ``staticfiles.json`` is a 500 ("Missing staticfiles manifest entry"):
    collectstatic never ran, or the code has files the last run did not see.
    """
    storage = storages["staticfiles"]
    if not isinstance(storage, ManifestFilesMixin):
        return None  # served straight from the apps' static directories
    if storage.read_manifest() is None:
        return (
            f"The static files manifest {storage.path(storage.manifest_name)} is missing, so "
            f"every page would fail. Run `{COLLECTSTATIC}` first (once per release)."
        )
    collected = set(storage.load_manifest()[0])
    missing = sorted(
        path
        for finder in get_finders()
        for path, _ in finder.list(COLLECTSTATIC_IGNORED)
        if storage.hash_key(path) not in collected
    )
    if missing:
        return (
            f"{len(missing)} static file(s) are not in the manifest (e.g. {missing[0]}): the "
            f"code changed since the last collectstatic. Run `{COLLECTSTATIC}` again."
        )
    return None


class Command(BaseCommand):
    help = "Serve HTTP and WebSockets with daphne (and run background jobs in embedded mode)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker", action="store_true", help="do not run background jobs here"
        )
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, host: str, port: int, no_worker: bool, quiet: bool, **options) -> None:
        problem = static_files_problem()
        if problem:
            raise CommandError(problem)
        from hub.asgi import application

        if not settings.SERVICES_MODE and not no_worker:
            worker = Worker(
                queue_names=["*"],
                interval=1.0,
                batch=False,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id=f"embedded-{port}",
                excluded_queue_names=[],
            )
            threading.Thread(target=worker.run, name="lyceum-tasks", daemon=True).start()
        if not quiet:
            mode = (
                "services (PostgreSQL + Redis)"
                if settings.SERVICES_MODE
                else "embedded (SQLite, in-memory layer)"
            )
            mail = (
                f"E-mails are written to {settings.EMAIL_FILE_PATH}/ (one file per sending)\n"
                if settings.EMAIL_BACKEND.endswith(".filebased.EmailBackend")
                else ""
            )
            self.stdout.write(
                self.style.SUCCESS(f"\nLyceum is running at http://{host}:{port}/  [{mode}]\n")
                + "Demo logins (password: lyceum): "
                + "admin, coordinator, trainer, manager, learner, learner2\n"
                + mail
                + "Press Ctrl+C to stop.\n"
            )
        # daphne's server, refusing oversized bodies as they arrive (hub/bodylimit.py) and
        # stopping gracefully on SIGTERM: sockets told to reconnect elsewhere, requests in
        # flight finished (hub/shutdown.py).
        server_class = graceful_server_class(bounded_server_class())
        server_class(
            application=application,
            endpoints=[
                # Twisted listens with a backlog of 50: a burst of new connections (a class
                # of 200 pressing "Register" at once) overflowed it and was reset.
                f"{endpoint}:backlog={LISTEN_BACKLOG}"
                for endpoint in build_endpoint_description_strings(host=host, port=port)
            ],
            action_logger=None,
            http_timeout=None,
            websocket_timeout=86400,
            websocket_handshake_timeout=HANDSHAKE_TIMEOUT,
            verbosity=0,
        ).run()
