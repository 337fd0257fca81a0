"""Run Lyceum: daphne, plus (embedded mode) the background-job worker in this process.

In embedded mode the channel layer lives in this process's memory, so jobs that publish
live events (reminders, promotions) must run here too: the worker runs as a thread. In
services mode run workers separately (``manage.py db_worker``), as many as needed.
"""

from __future__ import annotations

import threading

from daphne.endpoints import build_endpoint_description_strings
from django.conf import settings
from django.core.management.base import BaseCommand
from django_tasks_db.management.commands.db_worker import Worker

from hub.bodylimit import bounded_server_class

LISTEN_BACKLOG = 1024


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
            self.stdout.write(
                self.style.SUCCESS(f"\nLyceum is running at http://{host}:{port}/  [{mode}]\n")
                + "Demo logins (password: lyceum): "
                + "admin, coordinator, trainer, manager, learner, learner2\n"
                + "Press Ctrl+C to stop.\n"
            )
        # daphne's server, refusing oversized bodies as they arrive (hub/bodylimit.py).
        server_class = bounded_server_class()
        server_class(
            application=application,
            endpoints=[
                # Twisted listens with a backlog of 50: a burst of new connections (a class
                # of 200 pressing "Register" at once) overflowed it and was reset.
                f"{endpoint}:backlog={LISTEN_BACKLOG}"
                for endpoint in build_endpoint_description_strings(host=host, port=port)
            ],
            signal_handlers=True,
            action_logger=None,
            http_timeout=None,
            websocket_timeout=86400,
            verbosity=0,
        ).run()
