"""``python -m bench certifications``: the nightly pass and a background bulk issue.

Runs in-process against a throw-away test database (SQLite in embedded mode, a scratch
``test_<name>`` PostgreSQL database when DATABASE_URL is set), like ``bench/calendars.py``:

* the nightly pass (``certifications.services.sweep``) over ``--cert-awards`` awards (100,000
  by default) of which ``--cert-expiring`` (90,000) are past their expiry at once, each
  holder in a team with a manager (every notice: the person, and a digest per manager per
  batch); time, queries in all and per batch of 1,000;
* a bulk issue of ``--cert-issue`` people (10,000) run as the background job
  (``bulk_start`` then the job's body, as the worker runs it), the progress events counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cert-awards", type=int, default=100_000)
    parser.add_argument("--cert-expiring", type=int, default=90_000)
    parser.add_argument("--cert-issue", type=int, default=10_000)


def _people(space: Any, n: int, prefix: str) -> list[Any]:
    from hub.accounts.models import SpaceMembership, Team, User

    users = User.objects.bulk_create(
        (User(username=f"{prefix}{i}", email=f"{prefix}{i}@example.test") for i in range(n)),
        batch_size=2000,
    )
    SpaceMembership.objects.bulk_create(
        (SpaceMembership(space=space, user=u) for u in users), batch_size=2000
    )
    # Teams of 50, each with its manager.
    managers = User.objects.bulk_create(User(username=f"{prefix}-mgr{i}") for i in range(0, n, 50))
    teams = Team.objects.bulk_create(
        Team(name=f"{prefix} team {i}", space=space, manager=m) for i, m in enumerate(managers)
    )
    Through = Team.members.through
    Through.objects.bulk_create(
        (Through(team=teams[i // 50], user=u) for i, u in enumerate(users)), batch_size=5000
    )
    return users


def _sweep(space: Any, cert: Any, awards: int, expiring: int) -> dict[str, Any]:
    from django.db import connection, reset_queries
    from django.utils import timezone

    from certifications import services
    from certifications.models import Award, State

    users = _people(space, awards, "s")
    now = timezone.now()
    Award.objects.bulk_create(
        (
            Award(
                certification=cert,
                user=u,
                state=State.CERTIFIED,
                issued_at=now - dt.timedelta(days=800),
                # The first ``expiring`` are past expiry; the rest far from their window.
                expires_at=now - dt.timedelta(days=1)
                if i < expiring
                else now + dt.timedelta(days=400),
            )
            for i, u in enumerate(users)
        ),
        batch_size=5000,
    )
    reset_queries()
    start = time.perf_counter()
    counts = services.sweep(now=now)
    seconds = time.perf_counter() - start
    queries = len(connection.queries)
    batches = -(-expiring // 1000)
    return {
        "awards": awards,
        "expiring": expiring,
        "counts": counts,
        "seconds": round(seconds, 1),
        "queries": queries,
        "batches": batches,
        "queries_per_batch": round(queries / max(batches, 1), 1),
    }


def _bulk(space: Any, cert: Any, coordinator: Any, n: int) -> dict[str, Any]:
    from django.db import connection, reset_queries

    from certifications import services
    from identity import realtime as identity_realtime

    users = _people(space, n, "b")
    events: list[str] = []
    real_send = identity_realtime.send_now

    def counting(topic: str, type: str, data: dict[str, Any]) -> None:
        events.append(type)
        real_send(topic, type, data)

    identity_realtime.send_now = counting
    try:
        reset_queries()
        start = time.perf_counter()
        job = services.bulk_start(
            actor=coordinator,
            certification=cert,
            action="issue",
            usernames=[u.username for u in users],
        )
        started = time.perf_counter() - start
        services.bulk_job_run(job_id=job.pk)
        seconds = time.perf_counter() - start
    finally:
        identity_realtime.send_now = real_send
    job.refresh_from_db()
    return {
        "people": n,
        "status": job.status,
        "start_seconds": round(started, 1),
        "seconds": round(seconds, 1),
        "queries": len(connection.queries),
        "progress_events": events.count("bulk.progress"),
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
    print(f"certifications benchmark ({mode}, {connection.vendor})", flush=True)
    setup_test_environment()
    settings.DEBUG = True  # connection.queries
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        from certifications import services
        from classrooms import services as classrooms_services
        from hub.accounts.models import Role, Space, SpaceMembership, User

        space = Space.objects.create(name="Bench", slug="bench")
        coordinator = User.objects.create(username="bench-coordinator")
        coordinator.role_grants.create(role=Role.COORDINATOR)
        coordinator.role_grants.create(role=Role.TRAINER)
        SpaceMembership.objects.create(space=space, user=coordinator)
        course = classrooms_services.course_create(
            author=coordinator, space=space, title="Forklift", published=True
        )
        cert = services.certification_create(
            user=coordinator, space=space, title="Forklift licence", course=course
        )
        bulk = _bulk(space, cert, coordinator, args.cert_issue)
        print(
            f"  background bulk issue of {bulk['people']}: {bulk['seconds']} s"
            f" (checked and queued in {bulk['start_seconds']} s), {bulk['queries']} queries,"
            f" {bulk['progress_events']} progress events, {bulk['status']}",
            flush=True,
        )
        other = services.certification_create(
            user=coordinator, space=space, title="Ladders", course=course
        )
        sweep = _sweep(space, other, args.cert_awards, args.cert_expiring)
        print(
            f"  nightly pass over {sweep['awards']} awards, {sweep['expiring']} expiring:"
            f" {sweep['seconds']} s, {sweep['queries']} queries"
            f" ({sweep['queries_per_batch']} per batch of 1,000), {sweep['counts']}",
            flush=True,
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    load = os.getloadavg()[0]
    print(f"  (load {load:.1f})", flush=True)
    result = {
        "benchmark": "certifications",
        "mode": mode,
        "vendor": connection.vendor,
        "bulk": bulk,
        "sweep": sweep,
        "load": load,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"certifications-{stamp}.json").write_text(json.dumps(result, indent=2))
    return result
