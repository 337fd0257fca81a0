"""Connect storms: N clients that all connect and subscribe at once, then a fan-out.

What happens at 9:00 when a company opens the page, and when every socket reconnects
after a deploy. For each step of ``--sweep`` (250, 500, 1,000, 1,500, 2,000 clients by
default), fresh client processes (``bench.clients``) open every socket at the same moment
(no handshake limit), each subscribes to one topic, then the driver sends events at
``--rate`` for ``--seconds``. Per step and server it records how many subscriptions were
answered ``ok`` (refused, failed), the events lost, latency percentiles, and the server
process's CPU seconds from the first handshake to the last event (``/proc``).

The same clients and driver run, alternately, against the bare ``websockets`` broadcast
server and Lyceum (``bench.fanout``'s servers: the real path of an event, action ->
publish on commit -> channel layer -> every socket), in embedded and services mode.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.chat import cpu_seconds
from bench.clients import raise_fd_limit
from bench.fanout import (
    RESULTS_DIR,
    ROOT,
    Processes,
    Settings,
    Target,
    collect,
    drive,
    percentile,
    read_line,
    servers,
    services_unavailable,
    start_clients,
)

SWEEP = (250, 500, 1000, 1500, 2000)


@dataclass
class Step:
    mode: str
    target: str
    clients: int
    subscribed: int
    refused: int
    failed: int
    retried: int  # told `overloaded` at least once, then came back (subscribed or not)
    connect_s: float  # from the first handshake to every client having an answer
    missed: int
    loss: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    server_cpu_s: float
    load_before: float


async def step(mode: str, target: Target, clients: int, conf: Settings) -> Step:
    load_before = os.getloadavg()[0]
    counts = [clients // conf.processes] * conf.processes
    counts[0] += clients - sum(counts)
    procs: list[asyncio.subprocess.Process] = []
    cpu_before = cpu_seconds([target.pid]) if target.pid else 0.0
    started = time.monotonic()
    subscribed = refused = failed = retried = 0
    log = (conf.log_dir / f"{mode}-storm-clients.log").open("ab")
    try:
        for count in counts:
            # No handshake limit: every socket of the step connects at the same moment.
            procs.append(await start_clients(target, count, log, concurrency=count))
        for proc in procs:
            words = (await read_line(proc, 180)).split()
            if not words or words[0] != "READY":
                raise RuntimeError(f"client process said {words!r}")
            subscribed += int(words[1])
            refused += int(words[2])
            failed += int(words[3])
            retried += int(words[4])
        connect_s = time.monotonic() - started

        warm = round(conf.warmup * conf.rate)
        total = warm + round(conf.seconds * conf.rate)
        await drive(target, conf.rate, total)
        await asyncio.sleep(2)  # let the last events land
        server_cpu = (cpu_seconds([target.pid]) - cpu_before) if target.pid else float("nan")

        latencies, missed, _ = await collect(procs, warm, total - 1)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        log.close()
    latencies.sort()
    events = total - warm
    return Step(
        mode=mode,
        target=target.name,
        clients=clients,
        subscribed=subscribed,
        refused=refused,
        failed=failed,
        retried=retried,
        connect_s=round(connect_s, 2),
        missed=missed,
        loss=missed / (events * clients),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        server_cpu_s=round(server_cpu, 2),
        load_before=load_before,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # --rate, --seconds, --warmup, --processes, --mode, --pg-url and --redis-url are
    # bench.fanout's options (one parser serves every benchmark).
    parser.add_argument(
        "--sweep",
        default=",".join(str(n) for n in SWEEP),
        help="storm: client counts, comma-separated (each step connects them all at once)",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the sweep, print a table, write bench/results/storm-<time>.json."""
    raise_fd_limit()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    sweep = [int(n) for n in args.sweep.split(",") if n.strip()]
    conf = Settings(
        clients=max(sweep),
        rate=args.rate,
        seconds=args.seconds,
        warmup=args.warmup,
        repeats=1,
        processes=max(1, args.processes),
        pg_url=args.pg_url,
        redis_url=args.redis_url,
        log_dir=Path(tempfile.mkdtemp(prefix="lyceum-bench-logs-")),
    )
    modes = ["embedded", "services"] if args.mode == "both" else [args.mode]
    steps: list[Step] = []
    skipped: dict[str, str] = {}
    procs = Processes()
    print(f"storm: logs in {conf.log_dir}", flush=True)
    try:
        for mode in modes:
            reason = (
                services_unavailable(conf.pg_url, conf.redis_url) if mode == "services" else None
            )
            if reason:
                skipped[mode] = reason
                continue
            with servers(mode, conf, procs) as targets:
                for n, clients in enumerate(sweep):
                    # Alternate which server goes first, so drift favours neither.
                    for target in targets if n % 2 == 0 else list(reversed(targets)):
                        result = asyncio.run(step(mode, target, clients, conf))
                        steps.append(result)
                        print(
                            f"  {mode:9} {clients:5} {target.name:8} "
                            f"ok {result.subscribed}/{clients} (refused {result.refused}, "
                            f"failed {result.failed}, retried {result.retried}) "
                            f"in {result.connect_s:5.1f} s  "
                            f"lost {result.missed}  p50 {result.p50_ms:6.1f} "
                            f"p95 {result.p95_ms:6.1f} p99 {result.p99_ms:6.1f} ms  "
                            f"cpu {result.server_cpu_s:5.2f} s  load {result.load_before:.1f}",
                            flush=True,
                        )
    finally:
        procs.stop_all()
    ratios = {}
    for mode in dict.fromkeys(s.mode for s in steps):
        for clients in sweep:
            pair = {s.target: s for s in steps if s.mode == mode and s.clients == clients}
            if {"baseline", "lyceum"} <= set(pair) and pair["baseline"].server_cpu_s > 0:
                ratios[f"{mode}-{clients}"] = {
                    "cpu_ratio": pair["lyceum"].server_cpu_s / pair["baseline"].server_cpu_s,
                    "p95_ratio": pair["lyceum"].p95_ms / pair["baseline"].p95_ms,
                }
    if ratios:
        print(
            "lyceum / baseline, per step: "
            + ", ".join(
                f"{k} cpu {v['cpu_ratio']:.1f}x p95 {v['p95_ratio']:.2f}x"
                for k, v in ratios.items()
            )
        )
        print(f"median cpu ratio {statistics.median(v['cpu_ratio'] for v in ratios.values()):.1f}x")
    report = {
        "benchmark": "storm",
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {"sweep": sweep, "rate": conf.rate, "seconds": conf.seconds},
        "skipped": skipped,
        "ratios": ratios,
        "steps": [asdict(s) for s in steps],
    }
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"storm-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"results: {path.relative_to(ROOT)}")
    return report
