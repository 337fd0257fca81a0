"""``python -m bench sessions``: a registration rush on one session, over HTTP.

``--sess-requests`` learners (default 200), each with an API token, all POST
``/api/v1/sessions/<id>/register/`` at the same moment (one thread each, released by a
barrier; all 200 open at once unless ``--sess-inflight`` caps them; the server's connection
pool queues them for PostgreSQL, and its listen backlog takes the burst) to a
``--sess-capacity``-seat session (default 20) served by ``manage.py serve`` (daphne) on
PostgreSQL + Redis (services mode, a scratch ``lyceum_bench_sessions`` database). Checked
after every run, straight from PostgreSQL: exactly ``capacity`` confirmed, the rest
waitlisted at positions 1..n with no gap or duplicate, every answer a 201. Reported: wall
time from the release to the last answer, registrations per second, p50/p95 latency; the
median of ``--sess-repeats`` runs (a fresh session each) is the figure in
docs/PERFORMANCE.md.

``rush()`` is also what tests/sessions/test_http_rush.py runs (fewer requests) in CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# Runs in the server's database (``manage.py shell -c``): learners with tokens, a space and a
# coordinator. Prints the ids and tokens as JSON on its last line.
SETUP = """
import json
from datetime import timedelta
from django.utils import timezone
from rest_framework.authtoken.models import Token
from hub.accounts.models import Role, Space, SpaceMembership, User
from hub.accounts.services import roles_set
space, _ = Space.objects.get_or_create(slug="bench-sessions", defaults={{"name": "Bench"}})
boss = User.objects.filter(username="sessbench-coordinator").first()
if boss is None:
    boss = User.objects.create(username="sessbench-coordinator")
    roles_set(user=boss, roles=[Role.COORDINATOR])
    SpaceMembership.objects.get_or_create(space=space, user=boss)
learners = User.objects.filter(username__startswith="sessbench-l")
have = set(learners.values_list("username", flat=True))
User.objects.bulk_create(
    [User(username=f"sessbench-l{{i}}") for i in range({n}) if f"sessbench-l{{i}}" not in have]
)
people = list(User.objects.filter(username__startswith="sessbench-l").order_by("id")[:{n}])
SpaceMembership.objects.bulk_create(
    [SpaceMembership(space=space, user=u) for u in people], ignore_conflicts=True
)
Token.objects.bulk_create(
    [Token(user=u, key=Token.generate_key()) for u in people], ignore_conflicts=True
)
tokens = dict(Token.objects.filter(user__in=people).values_list("user_id", "key"))
boss_token, _ = Token.objects.get_or_create(user=boss)
print(json.dumps({{"space": space.pk, "coordinator": boss_token.key,
                   "tokens": [tokens[u.pk] for u in people]}}))
"""


# ``manage.py serve``, optionally with persistent connections instead of the settings' pool
# (CONN_MAX_AGE > 0) to show why the pool is there: Django's ASGI handler runs each request's
# sync code in a thread of its own, so persistent connections pile up one per thread.
SERVER = """
import sys
from django.conf import settings
if int(sys.argv[2]):
    settings.DATABASES["default"].get("OPTIONS", {}).pop("pool", None)
    settings.DATABASES["default"]["CONN_MAX_AGE"] = int(sys.argv[2])
import django
django.setup()
from django.core.management import call_command
call_command("serve", host="127.0.0.1", port=int(sys.argv[1]), no_worker=True, quiet=True)
"""


def call(base_url: str, path: str, token: str, body: dict | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body or {}).encode(),
        method="POST",
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, _decode(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _decode(exc.read())


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return raw[:200].decode(errors="replace")  # an HTML error page


def create_session(base_url: str, coordinator_token: str, space_id: int, capacity: int) -> int:
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    status, body = call(
        base_url,
        "/api/v1/sessions/",
        coordinator_token,
        {
            "space": space_id,
            "kind": "face_to_face",
            "title": f"Rush {time.time_ns()}",
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
            "capacity": capacity,
        },
    )
    if status != 201:
        raise RuntimeError(f"creating the session: {status} {body}")
    return body["id"]


def rush(
    base_url: str, session_id: int, tokens: list[str], inflight: int | None = None
) -> dict[str, Any]:
    """Every token registers at once; returns statuses, answers, wall time and latencies.

    ``inflight`` caps the requests open at the same time (each one in flight holds a
    PostgreSQL connection on the server: see docs/PERFORMANCE.md); the others wait their
    turn, and their latency counts from the common start.
    """
    barrier = threading.Barrier(len(tokens) + 1)
    gate = threading.BoundedSemaphore(inflight or len(tokens))
    answers: list[tuple[int, Any] | None] = [None] * len(tokens)
    latencies: list[float] = [0.0] * len(tokens)
    start = [0.0]

    def one(i: int, token: str) -> None:
        barrier.wait()
        try:
            with gate:
                answers[i] = call(base_url, f"/api/v1/sessions/{session_id}/register/", token)
        except Exception as exc:  # a refused or reset connection counts as an error
            answers[i] = (0, repr(exc))
        latencies[i] = time.perf_counter() - start[0]

    threads = [threading.Thread(target=one, args=(i, t), daemon=True) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    start[0] = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join(180)
    wall = time.perf_counter() - start[0]
    ordered = sorted(latencies)
    return {
        "answers": answers,
        "wall_s": wall,
        "per_second": len(tokens) / wall if wall else float("inf"),
        "p50_ms": 1000 * ordered[len(ordered) // 2],
        "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
    }


def check(answers: list[Any], capacity: int) -> dict[str, Any]:
    """What the answers say: confirmed, waitlisted positions, errors (the caller compares
    with the database too)."""
    ok = [body for status, body in answers if status == 201]
    positions = sorted(b["position"] for b in ok if b["status"] == "waitlisted")
    failures = [f"{status} {str(body)[:120]}" for status, body in answers if status != 201]
    return {
        "errors": len(answers) - len(ok),
        "error_samples": sorted(set(failures))[:5],
        "confirmed": sum(b["status"] == "confirmed" for b in ok),
        "waitlisted": len(positions),
        "positions_contiguous": positions == list(range(1, len(positions) + 1)),
    }


def database_state(pg_url: str, session_id: int) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT status, position FROM training_sessions_registration WHERE session_id = %s",
            [session_id],
        ).fetchall()
    positions = sorted(p for s, p in rows if s == "waitlisted")
    return {
        "confirmed": sum(s == "confirmed" for s, _ in rows),
        "waitlisted": len(positions),
        "positions_contiguous": positions == list(range(1, len(positions) + 1)),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sess-requests", type=int, default=200, help="concurrent learners")
    parser.add_argument("--sess-capacity", type=int, default=20, help="seats of the session")
    parser.add_argument("--sess-repeats", type=int, default=3, help="runs (median reported)")
    parser.add_argument(
        "--sess-processes", type=int, default=1, help="daphne processes (round-robin)"
    )
    parser.add_argument(
        "--sess-conn-max-age",
        type=int,
        default=0,
        help="0: the settings' connection pool; N > 0: no pool, persistent connections for N s",
    )
    parser.add_argument(
        "--sess-inflight",
        type=int,
        default=0,
        help="cap on the requests open at once (0: no cap, all of them together)",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench import fanout
    from bench.clients import raise_fd_limit
    from bench.fanout import Processes, free_port, manage, wait_for_port

    raise_fd_limit()
    pg_url = getattr(args, "pg_url", None) or os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/lyceum_bench"
    )
    redis_url = getattr(args, "redis_url", None) or "redis://127.0.0.1:6379/0"
    # A database of its own: other benchmarks may use lyceum_bench at the same time.
    parts = urllib.parse.urlsplit(pg_url)
    pg_url = urllib.parse.urlunsplit(parts._replace(path="/lyceum_bench_sessions"))
    reason = fanout.services_unavailable(pg_url, redis_url)
    if reason:
        print(f"sessions: skipped (needs PostgreSQL and Redis): {reason}", flush=True)
        return {"skipped": reason}
    log_dir = Path(tempfile.mkdtemp(prefix="lyceum-sessions-bench-"))
    print(f"sessions: logs in {log_dir}", flush=True)
    procs = Processes()
    fanout.recreate_database(pg_url)
    env = fanout.services_env(fanout.base_env(4.0), pg_url, redis_url)
    # Many learners from one address: lift the per-user write throttle out of the way.
    env["LYCEUM_WRITE_RATE"] = "100000/min"
    runs: list[dict[str, Any]] = []
    try:
        manage(["migrate", "--noinput", "-v", "0"], env)
        setup = json.loads(
            manage(["shell", "-c", SETUP.format(n=args.sess_requests)], env)
            .strip()
            .splitlines()[-1]
        )
        urls = []
        for i in range(args.sess_processes):
            port = free_port()
            proc = procs.start(
                [sys.executable, "-c", SERVER, str(port), str(args.sess_conn_max_age)],
                env | {"DJANGO_SETTINGS_MODULE": "hub.settings"},
                log_dir / f"server-{i}.log",
            )
            wait_for_port(port, proc)
            urls.append(f"http://127.0.0.1:{port}")
        for rep in range(1, args.sess_repeats + 1):
            session_id = create_session(
                urls[0], setup["coordinator"], setup["space"], args.sess_capacity
            )
            # Warm each server (first request imports views, opens a connection).
            for url in urls:
                call(url, f"/api/v1/sessions/{session_id}/cancel/", setup["coordinator"])
            tokens = setup["tokens"][: args.sess_requests]
            result = rush_spread(urls, session_id, tokens, args.sess_inflight or None)
            answers = check(result.pop("answers"), args.sess_capacity)
            stored = database_state(pg_url, session_id)
            expected_wait = args.sess_requests - args.sess_capacity
            ok = (
                answers["errors"] == 0
                and stored["confirmed"] == args.sess_capacity
                and stored["waitlisted"] == expected_wait
                and stored["positions_contiguous"]
                and answers == {**stored, "errors": 0, "error_samples": []}
            )
            row = {"rep": rep, **result, "answers": answers, "database": stored, "ok": ok}
            runs.append(row)
            print(
                f"  sessions rep {rep}: {args.sess_requests} registrations in "
                f"{row['wall_s']:.2f}s = {row['per_second']:.0f}/s  p50 {row['p50_ms']:.0f} ms  "
                f"p95 {row['p95_ms']:.0f} ms  confirmed {stored['confirmed']}  waitlisted "
                f"{stored['waitlisted']} contiguous {stored['positions_contiguous']}  "
                f"errors {answers['errors']} {answers['error_samples']}  "
                f"{'OK' if ok else 'FAILED'}",
                flush=True,
            )
    finally:
        procs.stop_all()
    report = {
        "benchmark": "sessions",
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load": os.getloadavg(),
        },
        "settings": {
            "requests": args.sess_requests,
            "capacity": args.sess_capacity,
            "processes": args.sess_processes,
            "inflight": args.sess_inflight,
            "conn_max_age": args.sess_conn_max_age,
        },
        "runs": runs,
        "median_per_second": statistics.median(r["per_second"] for r in runs) if runs else None,
        "all_ok": all(r["ok"] for r in runs),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"sessions-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(
        f"sessions: median {report['median_per_second']:.0f} registrations/s over "
        f"{len(runs)} runs, all correct: {report['all_ok']} -> {path}",
        flush=True,
    )
    return report


def rush_spread(
    urls: list[str], session_id: int, tokens: list[str], inflight: int | None
) -> dict[str, Any]:
    """``rush`` with the learners spread round-robin over several servers."""
    if len(urls) == 1:
        return rush(urls[0], session_id, tokens, inflight)
    barrier = threading.Barrier(len(urls))
    results: list[dict[str, Any]] = [{} for _ in urls]

    def part(i: int) -> None:
        barrier.wait()
        share = inflight // len(urls) if inflight else None
        results[i] = rush(urls[i], session_id, tokens[i :: len(urls)], share)

    threads = [threading.Thread(target=part, args=(i,)) for i in range(len(urls))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "answers": [a for r in results for a in r["answers"]],
        "wall_s": wall,
        "per_second": len(tokens) / wall,
        "p50_ms": statistics.median(r["p50_ms"] for r in results),
        "p95_ms": max(r["p95_ms"] for r in results),
    }
