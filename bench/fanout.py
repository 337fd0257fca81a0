"""Gateway fan-out benchmark: N clients on one topic, events at a fixed rate.

Each phase starts fresh client processes (``bench.clients``), lets them subscribe, then a
driver connection sends ``act publish`` frames carrying ``{"seq", "sent"}`` at the given
rate; every client records receive time - ``sent`` and which ``seq`` it missed. The same
clients and driver run, alternately, against

* ``baseline``: a bare ``websockets`` broadcast server (``bench.baseline_server``), and
* ``lyceum``: ``manage.py serve`` (daphne + the gateway) with the ``bench.ticker`` topic,
  so each event takes the real path: action -> ``publish`` -> on commit -> channel layer ->
  per-process fan-out -> every socket.

Modes: ``embedded`` (SQLite + in-memory layer) and ``services`` (PostgreSQL + Redis
pub/sub layer). The first ``--warmup`` seconds of each phase are not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from bench.clients import raise_fd_limit

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
TOPIC = "bench.ticker.1"
BENCH_USER = "bench"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/lyceum_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


@dataclass
class Target:
    """A server under test: where clients connect, and how they authenticate."""

    name: str
    url: str
    token: str | None = None
    pid: int | None = None  # the server process, for its CPU time


@dataclass
class PhaseResult:
    """One phase: one target, one repetition."""

    mode: str
    target: str
    rep: int
    clients: int
    events: int
    samples: int
    missed: int
    loss: float
    closed_early: int
    act_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    load_before: float  # 1-minute load average of the machine: other work skews the figures
    load_after: float


@dataclass
class Settings:
    clients: int
    rate: float
    seconds: float
    warmup: float
    repeats: int
    processes: int
    pg_url: str
    redis_url: str
    log_dir: Path
    results: list[PhaseResult] = field(default_factory=list)


# -- helpers ---------------------------------------------------------------------------------
def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on port {port} after {timeout:.0f}s")


class Processes:
    """Every child process of the run, stopped at the end whatever happens."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def manage(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


# -- the Lyceum server of one mode -----------------------------------------------------------
def base_env(rate: float) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "PYTEST_VERSION", "SQLITE_PATH", "DEBUG"}
    }
    env.update(
        LYCEUM_BENCH="1",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # The driver acts at --rate: keep the per-connection act bucket above it.
        LYCEUM_WS_ACT_RATE=str(max(10.0, 2 * rate)),
        LYCEUM_WS_ACT_BURST=str(max(20, int(4 * rate))),
    )
    return env


def embedded_env(env: dict[str, str], tmp: Path) -> dict[str, str]:
    return dict(env, SQLITE_PATH=str(tmp / "bench.sqlite3"), LYCEUM_VAR_DIR=str(tmp / "var"))


def services_env(env: dict[str, str], pg_url: str, redis_url: str) -> dict[str, str]:
    return dict(
        env,
        DATABASE_URL=pg_url,
        REDIS_URL=redis_url,
        SECRET_KEY=secrets.token_urlsafe(50),
        # Redis pub/sub channels ignore the db number: a prefix of our own keeps this run's
        # groups apart from any other server or test using the same Redis.
        LYCEUM_REDIS_PREFIX=f"lyceum_bench_{os.getpid()}",
    )


def services_unavailable(pg_url: str, redis_url: str) -> str | None:
    """Why services mode cannot run here, or None."""
    for url, default_port in ((pg_url, 5432), (redis_url, 6379)):
        parts = urllib.parse.urlsplit(url)
        try:
            with socket.create_connection((parts.hostname, parts.port or default_port), 2):
                pass
        except OSError as exc:
            return f"{parts.scheme} at {parts.hostname}:{parts.port or default_port}: {exc}"
    return None


def recreate_database(pg_url: str) -> None:
    """Drop and create the scratch benchmark database named in ``pg_url``."""
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(pg_url)
    name = parts.path.lstrip("/")
    # lyceum_bench*, or an engineer's own lyceum_<name>_bench (never a working database).
    if not (
        name.startswith("lyceum_bench") or (name.startswith("lyceum_") and name.endswith("_bench"))
    ):
        raise RuntimeError(
            f"refusing to drop {name!r}: the bench database must be lyceum_bench* or lyceum_*_bench"
        )
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))


def prepare_database(env: dict[str, str]) -> str:
    """Migrate, create the bench user; returns its password."""
    password = secrets.token_urlsafe(16)
    manage(["migrate", "--noinput", "-v", "0"], env)
    code = (
        "from django.contrib.auth import get_user_model; U = get_user_model(); "
        f"U.objects.filter(username={BENCH_USER!r}).delete(); "
        f"U.objects.create_user(username={BENCH_USER!r}, password={password!r})"
    )
    manage(["shell", "-c", code], env)
    return password


def fetch_token(port: int, password: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/token/",
        data=json.dumps({"username": BENCH_USER, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=30) as response:
        return json.load(response)["token"]


@contextlib.contextmanager
def servers(mode: str, conf: Settings, procs: Processes) -> Iterator[list[Target]]:
    """Start the baseline and the Lyceum server of ``mode``; yield both targets."""
    tmp = Path(tempfile.mkdtemp(prefix=f"lyceum-bench-{mode}-"))
    try:
        env = base_env(conf.rate)
        if mode == "embedded":
            env = embedded_env(env, tmp)
        else:
            recreate_database(conf.pg_url)
            env = services_env(env, conf.pg_url, conf.redis_url)
        password = prepare_database(env)

        base_port, lyc_port = free_port(), free_port()
        base = procs.start(
            [sys.executable, "-m", "bench.baseline_server", "--port", str(base_port)],
            dict(os.environ),
            conf.log_dir / f"{mode}-baseline.log",
        )
        server = procs.start(
            [
                sys.executable,
                "manage.py",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(lyc_port),
                "--no-worker",
                "--quiet",
            ],
            env,
            conf.log_dir / f"{mode}-lyceum.log",
        )
        wait_for_port(base_port, base)
        wait_for_port(lyc_port, server)
        token = fetch_token(lyc_port, password)
        yield [
            Target("baseline", f"ws://127.0.0.1:{base_port}/", pid=base.pid),
            Target("lyceum", f"ws://127.0.0.1:{lyc_port}/ws/", token, pid=server.pid),
        ]
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


# -- one phase -------------------------------------------------------------------------------
async def drive(target: Target, rate: float, total: int) -> int:
    """Send ``total`` publish actions at ``rate`` per second; returns how many failed."""
    headers = {"Authorization": f"Token {target.token}"} if target.token else {}
    errors = 0
    replies = 0
    async with connect(
        target.url, additional_headers=headers, compression=None, proxy=None, ping_interval=None
    ) as ws:

        async def read() -> None:
            nonlocal errors, replies
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("op") == "error":
                    errors += 1
                if frame.get("op") in {"ok", "error"}:
                    replies += 1
                    if replies == total:
                        return

        reader = asyncio.get_running_loop().create_task(read())
        start = time.monotonic() + 0.1
        for seq in range(total):
            delay = start + seq / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            frame = {
                "op": "act",
                "ref": str(seq),
                "topic": TOPIC,
                "action": "publish",
                "data": {"seq": seq, "sent": time.time()},
            }
            await ws.send(json.dumps(frame))
        try:
            await asyncio.wait_for(reader, 10)
        except TimeoutError:
            errors += total - replies
    return errors


async def read_line(proc: asyncio.subprocess.Process, within: float) -> str:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), within)
    if not line:
        raise RuntimeError(f"client process exited ({await proc.wait()}) without answering")
    return line.decode()


async def start_clients(
    target: Target, count: int, log: Any, concurrency: int | None = None
) -> asyncio.subprocess.Process:
    """One ``bench.clients`` process of ``count`` sockets on ``TOPIC`` of ``target``
    (``concurrency`` handshakes at a time; its own default when None)."""
    args = [sys.executable, "-m", "bench.clients", "--url", target.url]
    args += ["--clients", str(count), "--topic", TOPIC]
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    if target.token:
        args += ["--token", target.token]
    return await asyncio.create_subprocess_exec(
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
        limit=64 * 1024 * 1024,
    )


async def collect(
    procs: list[asyncio.subprocess.Process], first: int, last: int
) -> tuple[list[float], int, int]:
    """Stop the client processes (``STOP first last``): the latencies (ms) of events
    ``first..last``, how many of them clients missed, how many sockets closed early."""
    latencies: list[float] = []
    missed = closed = 0
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"STOP {first} {last}\n".encode())
        await proc.stdin.drain()
    for proc in procs:
        result = json.loads(await read_line(proc, 60))
        latencies.extend(result["latencies_ms"])
        missed += result["missed"]
        closed += result["closed_early"]
    for proc in procs:
        await asyncio.wait_for(proc.wait(), 30)
    return latencies, missed, closed


async def phase(mode: str, target: Target, rep: int, conf: Settings) -> PhaseResult:
    """Connect the clients, drive events through ``target``, gather what clients saw."""
    load_before = os.getloadavg()[0]
    counts = [conf.clients // conf.processes] * conf.processes
    counts[0] += conf.clients - sum(counts)
    procs: list[asyncio.subprocess.Process] = []
    log = (conf.log_dir / f"{mode}-clients.log").open("ab")
    try:
        for count in counts:
            procs.append(await start_clients(target, count, log))
        for proc in procs:
            line = await read_line(proc, 120)
            if not line.startswith("READY"):
                raise RuntimeError(f"client process said {line!r}")
        await asyncio.sleep(1)

        warm = round(conf.warmup * conf.rate)
        total = warm + round(conf.seconds * conf.rate)
        act_errors = await drive(target, conf.rate, total)
        await asyncio.sleep(2)  # let the last events land

        latencies, missed, closed = await collect(procs, warm, total - 1)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        log.close()

    latencies.sort()
    events = total - warm
    return PhaseResult(
        mode=mode,
        target=target.name,
        rep=rep,
        clients=conf.clients,
        events=events,
        samples=len(latencies),
        missed=missed,
        loss=missed / (events * conf.clients),
        closed_early=closed,
        act_errors=act_errors,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        max_ms=latencies[-1] if latencies else float("nan"),
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


# -- the whole run ---------------------------------------------------------------------------
def run_mode(mode: str, conf: Settings, procs: Processes) -> None:
    with servers(mode, conf, procs) as targets:
        for rep in range(1, conf.repeats + 1):
            # Alternate which server goes first, so drift in the machine favours neither.
            order = targets if rep % 2 else list(reversed(targets))
            for target in order:
                result = asyncio.run(phase(mode, target, rep, conf))
                conf.results.append(result)
                print(
                    f"  {mode:9} rep {rep} {target.name:8} p50 {result.p50_ms:7.1f}  "
                    f"p95 {result.p95_ms:7.1f}  p99 {result.p99_ms:7.1f} ms  "
                    f"loss {result.missed}/{result.events * result.clients}"
                    + (f"  act errors {result.act_errors}" if result.act_errors else "")
                    + (f"  closed {result.closed_early}" if result.closed_early else "")
                    + f"  load {result.load_before:.1f}->{result.load_after:.1f}",
                    flush=True,
                )


def summarise(conf: Settings) -> dict[str, Any]:
    """Median of each figure over repetitions, per mode and target; the p95 ratios."""
    summary: dict[str, Any] = {}
    for mode in dict.fromkeys(r.mode for r in conf.results):
        per: dict[str, Any] = {}
        for name in ("baseline", "lyceum"):
            rows = [r for r in conf.results if r.mode == mode and r.target == name]
            per[name] = {
                key: statistics.median(getattr(r, key) for r in rows)
                for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms")
            } | {
                "missed": sum(r.missed for r in rows),
                "expected": sum(r.events * r.clients for r in rows),
                "act_errors": sum(r.act_errors for r in rows),
            }
        ratios = [
            lyc.p95_ms / base.p95_ms
            for base, lyc in zip(
                [r for r in conf.results if r.mode == mode and r.target == "baseline"],
                [r for r in conf.results if r.mode == mode and r.target == "lyceum"],
                strict=True,
            )
        ]
        per["p95_ratio"] = per["lyceum"]["p95_ms"] / per["baseline"]["p95_ms"]
        per["p95_ratio_per_rep"] = ratios
        # Paired within a repetition (the two phases ran back to back): less exposed to
        # load that other work puts on the machine for a minute or two.
        per["p95_ratio_median_of_reps"] = statistics.median(ratios)
        summary[mode] = per
    return summary


def print_table(summary: dict[str, Any], conf: Settings) -> None:
    print()
    print(
        f"Gateway fan-out: {conf.clients} clients, {conf.rate:g} events/s, "
        f"{conf.seconds:g} s measured per phase, median of {conf.repeats} repetition(s)"
    )
    header = f"{'mode':10} {'server':9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'loss':>12}"
    print(header)
    print("-" * len(header))
    for mode, per in summary.items():
        for name in ("baseline", "lyceum"):
            row = per[name]
            loss = f"{row['missed']}/{row['expected']}"
            print(
                f"{mode:10} {name:9} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} "
                f"{row['p99_ms']:8.1f} {loss:>12}"
            )
        reps = ", ".join(f"{r:.2f}" for r in per["p95_ratio_per_rep"])
        verdict = (
            "OK"
            if per["p95_ratio"] <= 2 and per["lyceum"]["missed"] == 0
            else "MISSES the target (p95 <= 2x baseline, zero loss)"
        )
        print(
            f"{mode:10} p95 ratio lyceum/baseline: {per['p95_ratio']:.2f}x "
            f"(per repetition {reps}; their median {per['p95_ratio_median_of_reps']:.2f}x)  "
            f"{verdict}"
        )
    print()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=float, default=4.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds per phase")
    parser.add_argument("--repeats", type=int, default=3, help="phases per server and mode")
    parser.add_argument("--processes", type=int, default=2, help="client processes per phase")
    parser.add_argument("--mode", choices=["embedded", "services", "both"], default="both")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL),
        help="scratch PostgreSQL database for services mode (dropped and re-created)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="Redis for services mode",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark, print the table, write bench/results/fanout-<time>.json."""
    raise_fd_limit()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_dir = Path(tempfile.mkdtemp(prefix="lyceum-bench-logs-"))
    conf = Settings(
        clients=args.clients,
        rate=args.rate,
        seconds=args.seconds,
        warmup=args.warmup,
        repeats=args.repeats,
        processes=max(1, min(args.processes, args.clients)),
        pg_url=args.pg_url,
        redis_url=args.redis_url,
        log_dir=log_dir,
    )
    modes = ["embedded", "services"] if args.mode == "both" else [args.mode]
    skipped: dict[str, str] = {}
    procs = Processes()
    print(f"fanout: logs in {log_dir}", flush=True)
    try:
        for mode in modes:
            if mode == "services":
                reason = services_unavailable(conf.pg_url, conf.redis_url)
                if reason:
                    skipped[mode] = reason
                    print(f"  services mode skipped: {reason}", flush=True)
                    continue
            run_mode(mode, conf, procs)
    finally:
        procs.stop_all()
    summary = summarise(conf)
    print_table(summary, conf)
    report = {
        "benchmark": "fanout",
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            k: v for k, v in asdict(conf).items() if k not in {"results", "log_dir", "pg_url"}
        },
        "skipped": skipped,
        "summary": summary,
        "phases": [asdict(r) for r in conf.results],
    }
    path = RESULTS_DIR / f"fanout-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"results: {path.relative_to(ROOT)}")
    if conf.results and not skipped:
        shutil.rmtree(log_dir, ignore_errors=True)
    return report
