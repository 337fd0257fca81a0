"""``python -m bench leaderboards``: the 1,000,000-entry board (services mode only).

The parent process makes a scratch PostgreSQL database (``lyceum_bench_leaderboards``,
dropped and re-created), starts one Lyceum server (``manage.py serve``) on it and on Redis
(db 14, a run-specific key prefix), then runs the measurements in a child process
(``python -m bench.leaderboards --child``) so that Django is set up there in services mode
whatever other benchmarks of the same run did. The child:

1. creates a space, a course and ``--lb-users`` learners (the members the services pay);
2. fills the space's all-time board with ``--lb-entries`` (1,000,000) members and its week
   and month boards and the course's three boards with ``--lb-window-entries`` each
   (pipelined ZADD); a board of bare members ``%012d`` for ``redis-benchmark`` (whose
   ``__rand_int__`` has that form, so its commands hit existing members);
3. per repetition, ``--lb-ops`` operations each, ids drawn at random from the big board:
   * baseline: ``redis-benchmark -c 1 -r <entries> ZINCRBY`` and ``ZREVRANK`` (C client,
     one connection, one command per round trip), and the same two commands as bare
     redis-py round trips from this process;
   * the store (``leaderboards.ranks.RedisRankStore``): an award (``incr_many`` on the
     award's six current boards: the sorted sets reorder, so this is the rank update),
     the same followed by reading the new rank back (``rank_of`` on the all-time board),
     the my-rank lookup (``rank_of``), the neighbours (``around``, 2 each side) and both
     together as the board API asks for them; next to them the award as a bare redis-py
     pipeline (6 ZINCRBY + 3 EXPIREAT, one round trip);
   * the whole ``points_award`` service (PostgreSQL row, after-commit store update and
     push, badge check) for ``--lb-service-ops`` awards, and ``board_payload`` (the REST body);
   * ingestion at ``--lb-rate`` events/s for ``--lb-seconds``, consumed as from a queue
     (every 50 ms, whatever is due): first into the store and the push path alone, then
     through ``points_award_many`` (ledger rows too). A WebSocket client subscribed to
     the all-time board's topic on the server records every ``board.changed``: their
     cadence, that they name every user awarded, and how long after the last event the
     last push arrives;
4. checks the boards against the ledger (every learner's score moved by exactly their
   ledger points), then times ``manage.py rebuild_leaderboards`` on the whole ledger.

Figures are medians over repetitions of each repetition's percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import itertools
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/lyceum_bench_leaderboards"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
TARGET_P99_MS = 2.0
BATCH_SECONDS = 0.05  # ingestion: the consumer takes what is due every 50 ms
MAX_BATCH = 5_000
# Reasons paid per repetition: the single-award timing and the ingestion use their own,
# so no event of one repetition is a retry of another's.
SINGLE_REASONS = ("attendance", "answer_accepted", "course_completed")
STREAM_REASONS = ("lesson_done", "quiz_passed", "duel_won")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lb-entries", type=int, default=1_000_000, help="big board size")
    parser.add_argument(
        "--lb-window-entries", type=int, default=100_000, help="week, month, course boards"
    )
    parser.add_argument("--lb-users", type=int, default=20_000, help="learners in the database")
    parser.add_argument("--lb-ops", type=int, default=20_000, help="store operations timed")
    parser.add_argument("--lb-service-ops", type=int, default=2_000)
    parser.add_argument("--lb-rate", type=float, default=10_000, help="point events per second")
    parser.add_argument("--lb-seconds", type=float, default=10.0)
    parser.add_argument("--lb-repeats", type=int, default=3)
    parser.add_argument(
        "--lb-consumers",
        type=int,
        default=3,
        help="ledger ingestion: consumers, each taking the events of its share of the learners",
    )
    parser.add_argument(
        "--lb-pg-url",
        default=os.environ.get("BENCH_LEADERBOARDS_DATABASE_URL", DEFAULT_PG_URL),
        help="scratch PostgreSQL database (dropped and re-created)",
    )
    parser.add_argument(
        "--lb-redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    )


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {k[3:]: v for k, v in vars(args).items() if k.startswith("lb_")}


# -- parent ------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the server, run the child, print the table, write bench/results/*.json."""
    from bench.fanout import (
        Processes,
        base_env,
        free_port,
        manage,
        recreate_database,
        services_env,
        services_unavailable,
        wait_for_port,
    )

    opts = _options(args)
    print("leaderboards: the 1,000,000-entry board (services mode)", flush=True)
    reason = services_unavailable(opts["pg_url"], opts["redis_url"])
    if reason:
        print(f"  skipped: {reason}", flush=True)
        return {"benchmark": "leaderboards", "skipped": reason}
    recreate_database(opts["pg_url"])
    env = services_env(base_env(1.0), opts["pg_url"], opts["redis_url"])
    for name in ("LYCEUM_TESTING", "PYTEST_VERSION"):  # the real push interval, not the tests'
        env.pop(name, None)
    env["DJANGO_SETTINGS_MODULE"] = "hub.settings"
    manage(["migrate", "--noinput", "-v", "0"], env)
    log_dir = Path(tempfile.mkdtemp(prefix="lyceum-bench-leaderboards-"))
    out = log_dir / "result.json"
    procs = Processes()
    try:
        port = free_port()
        server = procs.start(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--no-worker", "--quiet"],
            env,
            log_dir / "server.log",
        )
        wait_for_port(port, server)
        command = [sys.executable, "-m", "bench.leaderboards", "--child", str(port), str(out)]
        done = subprocess.run([*command, json.dumps(opts)], cwd=ROOT, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"the measuring process failed ({done.returncode}); logs {log_dir}")
    finally:
        procs.stop_all()
        _forget_keys(opts["redis_url"], env["LYCEUM_REDIS_PREFIX"])
    result = json.loads(out.read_text())
    summary = summarise(result)
    print_table(result, summary)
    report = {
        "benchmark": "leaderboards",
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {k: v for k, v in opts.items() if k != "pg_url"},
        "summary": summary,
        **result,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"leaderboards-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"results: {path.relative_to(ROOT)}", flush=True)
    return report


def _forget_keys(redis_url: str, prefix: str) -> None:
    """Drop the run's boards (hundreds of MB), even when the child was interrupted."""
    import redis

    client = redis.Redis.from_url(redis_url)
    for name in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.unlink(name)


LATENCIES = (
    ("redis-benchmark ZINCRBY", "bench_zincrby"),
    ("redis-benchmark ZREVRANK", "bench_zrevrank"),
    ("redis-py ZINCRBY round trip", "raw_zincrby"),
    ("redis-py ZREVRANK round trip", "raw_zrevrank"),
    ("redis-py pipeline 6 ZINCRBY+EXPIREAT", "raw_award"),
    ("store: award on 6 boards", "award"),
    ("store: award on 6 boards + rank", "award_rank"),
    ("store: my rank (rank_of)", "rank"),
    ("store: neighbours (around 2)", "around"),
    ("store: my rank + neighbours", "my_rank"),
    ("points_award service (PG+Redis)", "service"),
    ("board_payload (REST body)", "payload"),
)


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    reps = result["repetitions"]
    out: dict[str, Any] = {}
    for _label, key in LATENCIES:
        rows = [r["latency"][key] for r in reps if key in r["latency"]]
        if rows:
            out[key] = {
                q: round(statistics.median(row[q] for row in rows), 3)
                for q in ("p50", "p95", "p99", "max")
            }
    ratios = (
        ("award", "raw_award"),
        ("award", "bench_zincrby"),
        ("award_rank", "bench_zincrby"),
        ("rank", "bench_zrevrank"),
        ("rank", "raw_zrevrank"),
        ("my_rank", "bench_zrevrank"),
    )
    out["p99_ratios"] = {
        f"{key}/{base}": round(out[key]["p99"] / out[base]["p99"], 2)
        for key, base in ratios
        if key in out and base in out
    }
    for phase in ("store", "service"):
        rows = [r["ingest"][phase] for r in reps]
        out[f"ingest_{phase}"] = {
            key: statistics.median(row[key] for row in rows)
            for key in rows[0]
            if isinstance(rows[0][key], int | float)
        }
    return out


def print_table(result: dict[str, Any], summary: dict[str, Any]) -> None:
    setup = result["setup"]
    print()
    print(
        f"Leaderboards: boards of {setup['entries']:,} (all time) and {setup['window_entries']:,}"
        f" (week, month, course) entries, {setup['ops']:,} ops, median of "
        f"{len(result['repetitions'])} repetition(s); load {setup['load']}"
    )
    header = f"{'operation':34} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    for label, key in LATENCIES:
        if key in summary:
            row = summary[key]
            print(
                f"{label:34} {row['p50']:8.3f} {row['p95']:8.3f} {row['p99']:8.3f} "
                f"{row['max']:8.2f}"
            )
    for key, what in (
        ("award", "award"),
        ("award_rank", "award + rank"),
        ("my_rank", "my rank + neighbours"),
    ):
        p99 = summary[key]["p99"]
        ok = "ok" if p99 < TARGET_P99_MS else "OVER the 2 ms target"
        print(f"{what}: p99 {p99:.3f} ms  [{ok}]")
    print("p99 ratios: " + ", ".join(f"{k} {v}x" for k, v in summary["p99_ratios"].items()))
    for phase, what in (("store", "store + pushes"), ("service", "points_award_many")):
        row = summary[f"ingest_{phase}"]
        print(
            f"ingest {what:18}: {row['achieved_rate']:8.0f} events/s "
            f"(asked {row['rate']:.0f}), batch p99 {row['batch_p99_ms']:.1f} ms "
            f"(largest {row['batch_size_max']:.0f} events), max consumer lag "
            f"{row['max_lag_ms']:.0f} ms, {row['pushes']:.0f} pushes "
            f"(gap p50 {row['gap_p50_ms']:.0f} / max {row['gap_max_ms']:.0f} ms), "
            f"last push {row['tail_ms']:.0f} ms after the last event, "
            f"users not named {row['unnamed']:.0f}; CPU per event: Python "
            f"{row['cpu_us_python']:.0f} us, Redis {row['cpu_us_redis']:.0f} us, PostgreSQL "
            f"{row['cpu_us_postgres']:.0f} us -> {row['cpu_bound_rate']:.0f} events/s if idle"
        )
    print(f"boards vs ledger: {result['consistency']}")
    rb = result["rebuild"]
    print(
        f"rebuild_leaderboards: {rb['awards']:,} awards -> {rb['boards']} boards, "
        f"{rb['entries']:,} entries in {rb['seconds']:.2f} s, {rb['queries']} queries"
    )
    print()


# -- child: the measurements -------------------------------------------------------------------
def _ms(samples_ns: list[int]) -> dict[str, float]:
    from bench.fanout import percentile

    ordered = sorted(s / 1e6 for s in samples_ns)
    return {
        "p50": round(percentile(ordered, 50), 4),
        "p95": round(percentile(ordered, 95), 4),
        "p99": round(percentile(ordered, 99), 4),
        "max": round(ordered[-1], 4),
        "n": len(ordered),
    }


def redis_benchmark(redis_url: str, ops: int, entries: int, *command: str) -> dict[str, float]:
    """One connection, one command per round trip, random existing members."""
    parts = urllib.parse.urlsplit(redis_url)
    done = subprocess.run(
        [
            "redis-benchmark",
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 6379),
            "--dbnum",
            (parts.path.lstrip("/") or "0"),
            "-c",
            "1",
            "-n",
            str(ops),
            "-r",
            str(entries),
            "--csv",
            *command,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = [row for row in done.stdout.splitlines() if row.startswith('"') and "rps" not in row][-1]
    cells = [c.strip('"') for c in line.split('","')]
    return {
        "p50": float(cells[4]),
        "p95": float(cells[5]),
        "p99": float(cells[6]),
        "max": float(cells[7]),
        "rps": float(cells[1]),
    }


class Subscriber(threading.Thread):
    """A WebSocket client of the server on one board topic; records each board.changed."""

    def __init__(self, port: int, token: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.url = f"ws://127.0.0.1:{port}/ws/"
        self.token, self.topic = token, topic
        self.ready = threading.Event()
        self.stopping = False
        self.pushes: list[tuple[float, list[int], int]] = []  # (arrival, users, frame bytes)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self.listen())
        except BaseException as exc:  # reported by the measuring thread
            self.error = exc
            self.ready.set()

    async def listen(self) -> None:
        from websockets.asyncio.client import connect

        headers = {"Authorization": f"Token {self.token}"}
        async with connect(
            self.url, additional_headers=headers, proxy=None, max_size=None, ping_interval=None
        ) as ws:
            await ws.send(json.dumps({"op": "sub", "ref": "1", "topic": self.topic}))
            reply = json.loads(await ws.recv())
            if reply.get("op") != "ok":
                raise RuntimeError(f"subscription refused: {reply}")
            self.ready.set()
            while not self.stopping:
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                frame = json.loads(raw)
                if frame.get("type") == "board.changed":
                    self.pushes.append((time.monotonic(), frame["data"]["users"], len(raw)))


def _ingest(
    *,
    process: Any,
    events: list[Any],
    users_of: Any,
    subscriber: Subscriber,
    rate: float,
    interval: float,
    cpu: Any,
) -> dict[str, Any]:
    """Feed ``events`` as a queue consumer would: event i is due at ``i / rate``; every
    BATCH_SECONDS the consumer takes every event due by then (up to MAX_BATCH), so it
    batches more when it falls behind, and its lag (now - due time of the oldest event
    taken) grows without bound if it cannot keep up. Then watch the pushes settle."""
    from bench.fanout import percentile

    durations, lags, sizes = [], [], []
    awarded: set[int] = set()
    first = len(subscriber.pushes)
    cpu_before = cpu()
    start = time.monotonic() + 0.2
    taken = 0
    while taken < len(events):
        now = time.monotonic()
        due = min(len(events), int((now - start) * rate) + 1)
        if due <= taken:
            time.sleep(max(0.0, start + taken / rate - now))
            continue
        batch = events[taken : min(due, taken + MAX_BATCH)]
        lags.append(now - (start + taken / rate))
        process(batch)
        durations.append(time.monotonic() - now)
        sizes.append(len(batch))
        taken += len(batch)
        awarded |= users_of(batch)
        rest = now + BATCH_SECONDS - time.monotonic()
        if rest > 0:
            time.sleep(rest)
    end = time.monotonic()
    # CPU seconds per event of each party: what the load average cannot distort.
    py_us, redis_us, pg_us = (
        round((after - before) / len(events) * 1e6, 1)
        for before, after in zip(cpu_before, cpu(), strict=True)
    )
    # Quiet for three intervals: the last push has landed.
    deadline = end + 10
    while time.monotonic() < deadline:
        last = subscriber.pushes[-1][0] if len(subscriber.pushes) > first else end
        if time.monotonic() - max(last, end) > 3 * interval:
            break
        time.sleep(0.02)
    pushes = subscriber.pushes[first:]
    # A push of many movers gives their number, not their ids (push.NAMED_LIMIT): it names
    # everyone for this check.
    everyone = any(users is None for _t, users, _b in pushes)
    named = set().union(*(set(users or ()) for _t, users, _b in pushes)) if pushes else set()
    arrivals = [t for t, _u, _b in pushes]
    gaps = sorted((b - a) * 1000 for a, b in itertools.pairwise(arrivals))
    ordered = sorted(d * 1000 for d in durations)
    return {
        "rate": rate,
        "events": len(events),
        "achieved_rate": round(len(events) / (end - start), 1),
        "batches": len(sizes),
        "batch_size_max": max(sizes),
        "batch_p50_ms": round(percentile(ordered, 50), 2),
        "batch_p99_ms": round(percentile(ordered, 99), 2),
        "max_lag_ms": round(max(lags) * 1000, 1),
        "pushes": len(pushes),
        "expected_pushes": round((end - start) / interval),
        "gap_p50_ms": round(percentile(gaps, 50), 1) if gaps else 0.0,
        "gap_max_ms": round(gaps[-1], 1) if gaps else 0.0,
        "tail_ms": round((arrivals[-1] - end) * 1000, 1) if arrivals else float("nan"),
        "max_users_in_push": max((len(u or ()) for _t, u, _b in pushes), default=0),
        "max_push_bytes": max((b for _t, _u, b in pushes), default=0),
        "unnamed": 0 if everyone else len(awarded - named),
        "cpu_us_python": py_us,
        "cpu_us_redis": redis_us,
        "cpu_us_postgres": pg_us,
        # One consumer thread (GIL) and two cores for everyone: the rate the CPU allows.
        "cpu_bound_rate": round(
            min(1e6 / max(py_us, 0.1), 2e6 / max(py_us + redis_us + pg_us, 0.1))
        ),
        "load": os.getloadavg()[0],
    }


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _fill(redis: Any, name: str, members: range, fmt: Any, seed: int) -> None:
    """``fmt``: a format string or a function (a board's ``ranks.member``) per member."""
    encode = fmt if callable(fmt) else fmt.format
    rng = random.Random(seed)
    pipe = redis.pipeline(transaction=False)
    step = 10_000
    for first in range(members.start, members.stop, step):
        chunk = range(first, min(first + step, members.stop))
        pipe.zadd(name, {encode(u): rng.randrange(100_000) for u in chunk})
        if len(pipe) >= 5:
            pipe.execute()
    pipe.execute()


def child(port: int, out: Path, opts: dict[str, Any]) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Sum
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from classrooms.services import course_create
    from hub.accounts.models import Role, Space, SpaceMembership, User
    from hub.accounts.services import user_create
    from leaderboards import push, ranks, selectors, services
    from leaderboards.models import PointAward

    assert settings.SERVICES_MODE, "the child runs in services mode"
    entries, window_entries = opts["entries"], opts["window_entries"]
    ops, rate = opts["ops"], opts["rate"]
    rng = random.Random(7)

    # -- people and boards ---------------------------------------------------------------
    t0 = time.perf_counter()
    space = Space.objects.create(name="Bench board", slug="bench-board")
    trainer = user_create(
        username="lb-trainer", password=None, roles=[Role.TRAINER], spaces=[space]
    )
    course = course_create(author=trainer, space=space, title="Bench course", published=True)
    viewer = user_create(username="lb-viewer", password=None, spaces=[space])
    token = Token.objects.create(user=viewer).key
    User.objects.bulk_create(
        (User(username=f"lb{i}", password="!") for i in range(opts["users"])), batch_size=5000
    )
    learners = list(User.objects.filter(username__startswith="lb").exclude(pk=viewer.pk))
    learners = [u for u in learners if u.username[2:].isdigit()]
    SpaceMembership.objects.bulk_create(
        (SpaceMembership(space=space, user=u) for u in learners), batch_size=5000
    )
    real_ids = {u.pk for u in learners}
    top_real = max(real_ids | {viewer.pk, trainer.pk})
    store = ranks.get_store()
    assert isinstance(store, ranks.RedisRankStore)
    redis = store.redis
    space_keys = ranks.current_keys("space", space.pk)
    course_keys = ranks.current_keys("course", course.pk)
    award_keys = space_keys + course_keys
    big = space_keys[0]
    big_name = store.name(big)
    baseline = f"{store.prefix}:redis-benchmark"
    print(f"  {len(learners):,} learners in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    _fill(redis, store.name(big), range(1, entries + 1), ranks.member, 1)
    for n, key in enumerate(award_keys[1:], start=2):
        _fill(redis, store.name(key), range(1, window_entries + 1), ranks.member, n)
    _fill(redis, baseline, range(0, entries), "{:012d}", 9)
    fill_s = time.perf_counter() - t0
    print(f"  boards filled in {fill_s:.1f} s", flush=True)
    # Where each learner starts on each board: the ledger must account for every move.
    ordered_ids = sorted(real_ids)
    ordered_members = [ranks.member(u) for u in ordered_ids]
    initial = {
        key: dict(zip(ordered_ids, redis.zmscore(store.name(key), ordered_members), strict=True))
        for key in award_keys
    }

    subscriber = Subscriber(port, token, selectors.board_topic(big))
    subscriber.start()
    if not subscriber.ready.wait(30) or subscriber.error:
        raise RuntimeError(f"the WebSocket subscriber did not start: {subscriber.error}")

    def raw_award(uid: int) -> None:
        """What the store's award does, as a plain redis-py pipeline (one round trip)."""
        pipe = redis.pipeline(transaction=False)
        for key in award_keys:
            pipe.zincrby(store.name(key), 1, ranks.member(uid))
        for key in award_keys:
            if ranks.parse_board(key).end is not None:
                pipe.expireat(store.name(key), 2_000_000_000)
        pipe.execute()

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pg_pid = cursor.fetchone()[0]

    def cpu() -> tuple[float, float, float]:
        """(this process, Redis, our PostgreSQL backend) CPU seconds so far. Redis counts
        every client's commands: other work on the same Redis inflates its share."""
        info = redis.info("cpu")
        return (
            time.process_time(),
            info["used_cpu_user"] + info["used_cpu_sys"],
            _proc_cpu(pg_pid),
        )

    def outsider_id() -> int:
        return rng.randrange(top_real + 1, entries + 1)  # never a learner of the ledger

    repetitions = []
    consumers = max(1, opts["consumers"])
    pool = ThreadPoolExecutor(max_workers=consumers)
    for rep in range(opts["repeats"]):
        lat: dict[str, Any] = {}
        print(f"  repetition {rep + 1}: baselines", flush=True)
        lat["bench_zincrby"] = redis_benchmark(
            opts["redis_url"], ops, entries, "ZINCRBY", baseline, "1", "__rand_int__"
        )
        lat["bench_zrevrank"] = redis_benchmark(
            opts["redis_url"], ops, entries, "ZREVRANK", baseline, "__rand_int__"
        )
        for label, call in (
            ("raw_zincrby", lambda u: redis.zincrby(big_name, 1, ranks.member(u))),
            ("raw_zrevrank", lambda u: redis.zrevrank(big_name, ranks.member(u))),
            ("raw_award", raw_award),
        ):
            samples = []
            for _ in range(ops):
                uid = outsider_id()
                began = time.perf_counter_ns()
                call(uid)
                samples.append(time.perf_counter_ns() - began)
            lat[label] = _ms(samples)

        print(f"  repetition {rep + 1}: store operations", flush=True)
        for label in ("award", "award_rank", "rank", "around", "my_rank"):
            samples = []
            for _ in range(ops):
                uid = outsider_id()
                began = time.perf_counter_ns()
                if label == "award":
                    store.incr_many([(award_keys, uid, 1)])
                elif label == "award_rank":
                    store.incr_many([(award_keys, uid, 1)])
                    store.rank_of(big, uid)
                elif label == "rank":
                    store.rank_of(big, uid)
                elif label == "around":
                    store.around(big, uid, 2)
                else:
                    store.rank_of(big, uid)
                    store.around(big, uid, 2)
                samples.append(time.perf_counter_ns() - began)
            lat[label] = _ms(samples)

        print(f"  repetition {rep + 1}: services", flush=True)
        samples = []
        reason = SINGLE_REASONS[rep % 3]
        for i in range(opts["service_ops"]):
            source = User(pk=10_000_000 * (rep + 1) + i)  # a distinct source per award
            user = rng.choice(learners)
            began = time.perf_counter_ns()
            services.points_award(
                user=user, reason=reason, source=source, space=space, course=course
            )
            samples.append(time.perf_counter_ns() - began)
        lat["service"] = _ms(samples)
        samples = []
        for _ in range(min(1000, opts["service_ops"])):
            user = rng.choice(learners)
            began = time.perf_counter_ns()
            selectors.board_payload(user=user, key=big)
            samples.append(time.perf_counter_ns() - began)
        lat["payload"] = _ms(samples)

        total = round(rate * opts["seconds"])
        print(f"  repetition {rep + 1}: ingestion, store and pushes", flush=True)
        store_events = [outsider_id() for _ in range(total)]

        def store_process(batch: list[int]) -> None:
            store.incr_many([(award_keys, uid, 1) for uid in batch])
            push.boards_changed({key: batch for key in award_keys})

        ingest = {
            "store": _ingest(
                process=store_process,
                events=store_events,
                users_of=set,
                subscriber=subscriber,
                rate=rate,
                interval=push.interval(),
                cpu=cpu,
            )
        }
        print(f"  repetition {rep + 1}: ingestion through points_award_many", flush=True)
        reason = STREAM_REASONS[rep % 3]
        base = 100_000_000 * (rep + 1)
        stream = [
            {
                "user": rng.choice(learners),
                "reason": reason,
                "source": User(pk=base + i),  # a distinct source per event
                "space": space,
                "course": course,
            }
            for i in range(total)
        ]

        def ledger_process(batch: list[dict[str, Any]]) -> None:
            # Partitioned by learner, as a queue partitions by key: each consumer writes its
            # share in its own transaction; one waits on PostgreSQL while another on Redis.
            shares: list[list[dict[str, Any]]] = [[] for _ in range(consumers)]
            for event in batch:
                shares[event["user"].pk % consumers].append(event)
            for done in [
                pool.submit(services.points_award_many, events=share) for share in shares if share
            ]:
                done.result()

        ingest["service"] = _ingest(
            process=ledger_process,
            events=stream,
            users_of=lambda batch: {e["user"].pk for e in batch},
            subscriber=subscriber,
            rate=rate,
            interval=push.interval(),
            cpu=cpu,
        )
        repetitions.append({"latency": lat, "ingest": ingest, "load": os.getloadavg()[0]})
        for phase, row in ingest.items():
            print(
                f"    ingest {phase}: {row['achieved_rate']:.0f}/s, {row['pushes']} pushes, "
                f"tail {row['tail_ms']} ms, unnamed {row['unnamed']}, CPU us/event "
                f"py {row['cpu_us_python']} redis {row['cpu_us_redis']} "
                f"pg {row['cpu_us_postgres']}",
                flush=True,
            )
        print(
            "    p99 ms: "
            + ", ".join(f"{k} {v['p99']:.3f}" for k, v in lat.items())
            + f"  (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    subscriber.stopping = True

    # -- the boards against the ledger ---------------------------------------------------
    time.sleep(0.1)
    mismatches = 0
    for key in award_keys:
        board = ranks.parse_board(key)
        paid = dict(ranks.ledger_awards(board).values_list("user_id").annotate(total=Sum("amount")))
        now = redis.zmscore(store.name(key), ordered_members)
        for uid, score in zip(ordered_ids, now, strict=True):
            if (score or 0) - (initial[key][uid] or 0) != paid.get(uid, 0):
                mismatches += 1
    consistency = {
        "boards": len(award_keys),
        "learners": len(ordered_ids),
        "mismatches": mismatches,
    }

    # -- rebuild from the ledger ---------------------------------------------------------
    awards = PointAward.objects.count()
    said = io.StringIO()
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        call_command("rebuild_leaderboards", stdout=said)
        seconds = time.perf_counter() - began
    counted = re.search(r"Rebuilt (\d+) boards \((\d+) entries\)", said.getvalue())
    sizes = {key: redis.zcard(store.name(key)) for key in award_keys}
    wrong = 0
    for key in award_keys:
        want = dict(ranks.ledger_scores(ranks.parse_board(key)))
        got = redis.zmscore(store.name(key), [ranks.member(u) for u in want]) if want else []
        wrong += sum(1 for (uid, total), s in zip(want.items(), got, strict=True) if s != total)
    rebuild = {
        "awards": awards,
        "boards": int(counted[1]) if counted else None,
        "entries": int(counted[2]) if counted else sum(sizes.values()),
        "seconds": round(seconds, 3),
        "queries": len(queries.captured_queries),
        "wrong_after_rebuild": wrong,
    }
    for name in redis.scan_iter(match=f"{store.prefix.rsplit(':', 1)[0]}:*", count=1000):
        redis.unlink(name)
    redis.unlink(baseline)
    out.write_text(
        json.dumps(
            {
                "setup": {
                    "entries": entries,
                    "window_entries": window_entries,
                    "ops": ops,
                    "learners": len(learners),
                    "fill_seconds": round(fill_s, 1),
                    "push_interval": push.interval(),
                    "load": round(os.getloadavg()[0], 1),
                },
                "repetitions": repetitions,
                "consistency": consistency,
                "rebuild": rebuild,
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), Path(sys.argv[3]), json.loads(sys.argv[4]))
    else:
        sys.exit("usage: python -m bench leaderboards (this module's --child is internal)")
