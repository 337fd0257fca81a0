"""``python -m bench push``: the cost of one notice pushed to 1,000 devices (docs/OFFLINE.md).

Runs in-process against a throw-away test database, like ``bench/calendars.py``. 1,000
people with one device each (their own P-256 keys and auth secrets, as browsers make them)
are notified once; the measured figure is the push job's body (``hub.webpush.send``):
reading the notices and subscriptions, signing VAPID once per push service, encrypting each
payload (RFC 8291) and posting it to a local push service that answers 201 at once (a
threaded HTTP server in this process, so its own CPU is counted too: a pessimistic figure).
Also measured: the same with 5 % of the devices gone (410) and 1 % hanging (the timeout).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--push-devices", type=int, default=1000)
    parser.add_argument("--push-timeout", type=float, default=2.0)


class _Service:
    def __init__(self) -> None:
        self.count = 0
        self.release = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: one connection per sender thread

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                service.count += 1
                if self.path.startswith("/hang"):
                    service.release.wait(30)
                    return
                code = 410 if self.path.startswith("/gone") else 201
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _round(devices: int, service: _Service, *, gone: float, hang: float) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.db import transaction

    from hub import notify, webpush
    from hub.accounts.models import User
    from hub.models import PushSubscription

    PushSubscription.objects.all().delete()
    users = list(User.objects.filter(username__startswith="push-").order_by("pk"))
    subscriptions = []
    n_gone, n_hang = int(devices * gone), int(devices * hang)
    for i, user in enumerate(users):
        key = ec.generate_private_key(ec.SECP256R1()).public_key()
        point = key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        path = "/hang" if i < n_hang else "/gone" if i < n_hang + n_gone else "/ok"
        subscriptions.append(
            PushSubscription(
                user=user,
                endpoint=f"{service.origin}{path}/{i}",
                p256dh=_b64(point),
                auth=_b64(os.urandom(16)),
            )
        )
    PushSubscription.objects.bulk_create(subscriptions)
    with transaction.atomic():
        created = notify.notify(
            recipients=users,
            kind="announcement",
            verb="Fire drill at 10:00",
            description="Meet at the assembly point in the car park.",
            actor=users[0],
            url="/announcements/1/",
        )
    ids = [n.id for n in created]
    before = service.count
    start = time.perf_counter()
    outcome = webpush.send(ids)
    seconds = time.perf_counter() - start
    return {
        "devices": devices,
        "gone": n_gone,
        "hanging": n_hang,
        "seconds": round(seconds, 2),
        "per_push_ms": round(1000 * seconds / devices, 2),
        "received": service.count - before,
        "outcome": outcome.__dict__,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ.setdefault("LYCEUM_TESTING", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    mode = "services" if settings.DATABASE_URL else "embedded"
    print(f"web push benchmark ({mode}, {connection.vendor})", flush=True)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    service = _Service()
    settings.LYCEUM_WEBPUSH_HOSTS = ["http://127.0.0.1"]
    settings.LYCEUM_WEBPUSH_TIMEOUT = args.push_timeout
    rows = []
    try:
        from hub.accounts.models import User

        User.objects.bulk_create(
            User(username=f"push-{i}", display_name=f"Push {i}", email="")
            for i in range(args.push_devices)
        )
        rows.append(_round(args.push_devices, service, gone=0, hang=0))
        rows.append(_round(args.push_devices, service, gone=0.05, hang=0.01))
    finally:
        service.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    for row in rows:
        print(
            f"  {row['devices']} devices ({row['gone']} gone, {row['hanging']} hanging):"
            f" {row['seconds']} s, {row['per_push_ms']} ms per push; outcome {row['outcome']}",
            flush=True,
        )
    result = {
        "benchmark": "push",
        "mode": mode,
        "concurrency": settings.LYCEUM_WEBPUSH_CONCURRENCY,
        "timeout_s": args.push_timeout,
        "cpus": os.cpu_count(),
        "rows": rows,
        "load": os.getloadavg()[0],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"push-{stamp}.json").write_text(json.dumps(result, indent=2))
    return result
