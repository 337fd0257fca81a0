"""``python -m bench calendars``: a personal iCal feed of 1,000 and 5,000 sessions.

Runs in-process against a throw-away test database (SQLite in embedded mode, a scratch
``test_<name>`` PostgreSQL database when DATABASE_URL is set), like ``bench/forums.py``.
For each size, one learner registered for that many sessions (every seventh waitlisted,
some cancelled registrations and cancelled sessions, four time zones, a trainer each,
every tenth session with a second part) fetches ``GET /calendars/feed/<token>.ics``, as a
calendar app does (no login), through every middleware:

* cold: the VEVENT text caches emptied first (every session changed, or the first server
  ever), median of ``--calendar-cold`` runs; in services mode also "new process": only
  this process's cache emptied, the blocks read from the shared cache;
* warm: the same feed again (the usual poll: nothing or a few sessions changed), median
  and p95 of ``--calendar-repeats`` runs;
* revalidation: ``If-None-Match`` with the ETag, answered 304;
* a baseline: the bare ORM read of the same rows (registrations and sessions,
  ``values_list``), same database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_MS = 500
ZONES = ("Europe/Paris", "America/New_York", "UTC", "Asia/Tokyo")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calendar-sizes", default="1000,5000", help="feed sizes, comma-separated")
    parser.add_argument("--calendar-repeats", type=int, default=15)
    parser.add_argument("--calendar-cold", type=int, default=3)


def populate(*, space: Any, coordinator: Any, trainer: Any, user: Any, count: int) -> None:
    """``count`` sessions ``user`` is registered for, built in bulk (also used by
    tests/calendars/test_performance.py)."""
    from datetime import timedelta

    from django.utils import timezone

    from sessions.models import Registration, Session, SessionPart

    start = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    sessions = Session.objects.bulk_create(
        Session(
            space=space,
            kind="virtual" if i % 3 == 0 else "face_to_face",
            title=f"Session {i}",
            description=f"Session **{i}**",
            description_html=f"<p>Session <strong>{i}</strong> &amp; more</p>",
            starts_at=start + timedelta(hours=6 * i),
            ends_at=start + timedelta(hours=6 * i + 2),
            time_zone=ZONES[i % len(ZONES)],
            location="" if i % 3 == 0 else f"Room {i % 12}",
            join_url="https://meet.example.com/r" if i % 3 == 0 else "",
            capacity=20,
            status="cancelled" if i % 50 == 49 else "scheduled",
            created_by=coordinator,
        )
        for i in range(count)
    )
    Session.trainers.through.objects.bulk_create(
        Session.trainers.through(session_id=s.pk, user_id=trainer.pk) for s in sessions
    )
    SessionPart.objects.bulk_create(
        SessionPart(
            session=s,
            starts_at=s.starts_at + timedelta(days=7),
            ends_at=s.ends_at + timedelta(days=7),
        )
        for i, s in enumerate(sessions)
        if i % 10 == 0
    )
    Registration.objects.bulk_create(
        Registration(
            session=s,
            user=user,
            status=("waitlisted" if i % 7 == 0 else "cancelled" if i % 25 == 0 else "confirmed"),
            position=1 if i % 7 == 0 else None,
        )
        for i, s in enumerate(sessions)
    )


def _build(sizes: list[int]) -> dict[int, Any]:
    from hub.accounts.models import Role, Space
    from hub.accounts.services import roles_set, space_add_member, user_create

    space = Space.objects.create(name="Bench", slug="bench-calendars")

    def person(username: str, role: str) -> Any:
        user = user_create(username=username, password="x" * 12, email=f"{username}@example.com")
        roles_set(user=user, roles=[role])
        space_add_member(space=space, user=user)
        return user

    coordinator = person("bench-coordinator", Role.COORDINATOR)
    trainer = person("bench-trainer", Role.TRAINER)
    readers = {}
    for size in sizes:
        reader = person(f"bench-reader-{size}", Role.LEARNER)
        populate(space=space, coordinator=coordinator, trainer=trainer, user=reader, count=size)
        readers[size] = reader
    return readers


def _get(client: Any, path: str, **headers: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    response = client.get(path, **headers)
    return (time.perf_counter() - start) * 1000, response


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(reader: Any, size: int, repeats: int, colds: int) -> dict[str, Any]:
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    from calendars import ics
    from calendars.selectors import personal_feed_entries
    from sessions.models import Registration, Session

    client = Client()
    path = f"/calendars/feed/{reader.feed_token}.ics"
    shared_keys = [
        ics.SHARED_KEY.format(fp)
        for fp in ics.prepare_calendar(personal_feed_entries(user=reader), name="").fingerprints
    ]
    cold = []
    for _ in range(colds):
        ics.blocks.clear()
        cache.delete_many(shared_keys)
        elapsed, response = _get(client, path)
        assert response.status_code == 200, response.status_code
        cold.append(elapsed)
    # Services mode: a process that just started, the blocks in the shared cache.
    started = []
    for _ in range(colds if settings.SERVICES_MODE else 0):
        ics.blocks.clear()
        elapsed, response = _get(client, path)
        started.append(elapsed)
    warm = []
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # Not CaptureQueriesContext: request_started empties the query log it slices.
        queries.append(sql)
        return execute(sql, params, many, context)

    for _ in range(repeats):
        queries.clear()
        with connection.execute_wrapper(count):
            elapsed, response = _get(client, path)
        assert response.status_code == 200
        warm.append(elapsed)
    etag = response["ETag"]
    revalidate = []
    for _ in range(repeats):
        elapsed, unchanged = _get(client, path, HTTP_IF_NONE_MATCH=etag)
        assert unchanged.status_code == 304
        revalidate.append(elapsed)
    baseline = []
    for _ in range(repeats):
        start = time.perf_counter()
        list(Registration.objects.filter(user=reader).values_list("session_id", "status"))
        list(
            Session.objects.filter(registrations__user=reader).values_list(
                "id", "title", "starts_at", "ends_at", "time_zone", "location", "sequence"
            )
        )
        baseline.append((time.perf_counter() - start) * 1000)
    return {
        "sessions": size,
        "events": response.content.count(b"BEGIN:VEVENT"),
        "bytes": len(response.content),
        "queries": len(queries),
        "cold_median_ms": round(statistics.median(cold), 1),
        "new_process_median_ms": round(statistics.median(started), 1) if started else None,
        "warm_median_ms": round(statistics.median(warm), 1),
        "warm_p95_ms": round(_p95(warm), 1),
        "warm_max_ms": round(max(warm), 1),
        "not_modified_median_ms": round(statistics.median(revalidate), 1),
        "baseline_read_ms": round(statistics.median(baseline), 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ.setdefault("LYCEUM_TESTING", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    sizes = [int(s) for s in str(args.calendar_sizes).split(",") if s.strip()]
    mode = "services" if settings.DATABASE_URL else "embedded"
    print(f"calendars personal feed benchmark ({mode}, {connection.vendor})", flush=True)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        start = time.perf_counter()
        readers = _build(sizes)
        built_s = time.perf_counter() - start
        rows = [
            measure(readers[size], size, args.calendar_repeats, args.calendar_cold)
            for size in sizes
        ]
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    for row in rows:
        ok = "ok" if row["warm_median_ms"] < TARGET_MS else "OVER TARGET"
        print(
            f"  {row['sessions']:5} sessions ({row['events']} events, {row['bytes'] // 1024} KiB,"
            f" {row['queries']} queries): warm median {row['warm_median_ms']} ms,"
            f" p95 {row['warm_p95_ms']} ms; cold {row['cold_median_ms']} ms;"
            f" new process {row['new_process_median_ms']} ms;"
            f" 304 {row['not_modified_median_ms']} ms; bare read {row['baseline_read_ms']} ms"
            f"  [{ok}]",
            flush=True,
        )
    print(f"  (built in {built_s:.1f} s, load {os.getloadavg()[0]:.1f})", flush=True)
    result = {
        "benchmark": "calendars",
        "mode": mode,
        "vendor": connection.vendor,
        "rows": rows,
        "load": os.getloadavg()[0],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"calendars-{stamp}.json").write_text(json.dumps(result, indent=2))
    return result
