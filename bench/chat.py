"""Chat benchmark: a course channel with N connected members, messages through ``act send``.

Latency phases (same run, same client machinery as ``bench.fanout``), alternated per
repetition: the bare ``websockets`` broadcast ``baseline``; Lyceum under ``daphne``
(``manage.py serve``); the same ASGI app under ``uvicorn``. Every member socket is a
distinct user subscribed to ``messaging.conversation.<id>``; four sender users take turns
sending ``"<seq> <sent>"`` at ``--chat-rate``/s, so each message takes the whole path:
validation, membership check, rate limit, ordering lock, insert, publish on commit, layer,
fan-out. Each client records receive - sent of ``message.created`` and what it missed.

Throughput phase (services mode, PostgreSQL): ``--senders`` sockets send as fast as the
server accepts (a window of in-flight acts each) for ``--burst-seconds``; reported: the
messages persisted per second (rows counted in the database) and the send errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from bench import fanout
from bench.clients import raise_fd_limit
from bench.fanout import ROOT, Processes, free_port, manage, percentile, wait_for_port

RESULTS_DIR = ROOT / "bench" / "results"
SENDERS = 4

SETUP = """
import json, sys
from rest_framework.authtoken.models import Token
from hub.accounts.models import User
from messaging.models import Conversation, Membership
n, senders = {members}, {senders}
User.objects.filter(username__startswith="chatbench").delete()
users = User.objects.bulk_create([User(username=f"chatbench{{i}}") for i in range(n + senders)])
users = list(User.objects.filter(username__startswith="chatbench").order_by("id"))
tokens = Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
c = Conversation.objects.create(kind="course", title="Bench course")
Membership.objects.bulk_create([Membership(conversation=c, user=u) for u in users])
print(json.dumps({{"conversation": c.pk, "tokens": [t.key for t in tokens]}}))
"""


# -- client processes (``python -m bench.chat --listen ...``) ------------------------------
async def listen(url: str, tokens: list[str], topic: str) -> None:
    """Open one socket per token, subscribe, record latencies; answer STOP like bench.clients."""
    seqs: list[list[int]] = [[] for _ in tokens]
    lats: list[list[float]] = [[] for _ in tokens]
    closed = [False] * len(tokens)
    sockets = []
    gate = asyncio.Semaphore(50)

    async def one(i: int, token: str) -> None:
        async with gate:
            headers = {"Authorization": f"Token {token}"} if token else {}
            ws = await connect(
                url, additional_headers=headers, compression=None, proxy=None,
                open_timeout=120, ping_interval=None, max_queue=None,
            )  # fmt: skip
            await ws.send(json.dumps({"op": "sub", "ref": "s", "topic": topic}))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("ref") == "s":
                    if frame.get("op") != "ok":
                        raise RuntimeError(frame)
                    break
            sockets.append(ws)

        async def read() -> None:
            now, loads = time.time, json.loads
            try:
                async for raw in ws:
                    t = now()
                    frame = loads(raw)
                    if frame.get("op") != "event":
                        continue
                    data = frame["data"]
                    if "seq" in data:  # baseline
                        seq, sent = data["seq"], data["sent"]
                    elif frame.get("type") == "message.created":
                        seq_s, sent_s = data["body"].split()
                        seq, sent = int(seq_s), float(sent_s)
                    else:
                        continue
                    seqs[i].append(seq)
                    lats[i].append(t - sent)
            except Exception:
                pass
            closed[i] = True

        asyncio.get_running_loop().create_task(read())

    await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens)))
    print(f"READY {len(tokens)}", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    _, first, last = line.split()
    first, last = int(first), int(last)
    latencies: list[float] = []
    missed = 0
    for s, lat in zip(seqs, lats, strict=True):
        seen: set[int] = set()
        for seq, latency in zip(s, lat, strict=True):
            if first <= seq <= last and seq not in seen:
                seen.add(seq)
                latencies.append(round(latency * 1000, 3))
        missed += (last - first + 1) - len(seen)
    print(json.dumps({"latencies_ms": latencies, "missed": missed, "closed_early": sum(closed)}))
    for ws in sockets:
        with contextlib.suppress(Exception):
            await ws.close()


# -- drivers -------------------------------------------------------------------------------
async def drive(url: str, tokens: list[str], topic: str, rate: float, total: int) -> int:
    """Send ``total`` messages at ``rate``/s, round-robin over the sender sockets."""
    errors = replies = 0
    done = asyncio.Event()
    conns = []
    for token in tokens:
        headers = {"Authorization": f"Token {token}"} if token else {}
        conns.append(
            await connect(
                url, additional_headers=headers, compression=None, proxy=None, ping_interval=None
            )
        )

    async def read(ws) -> None:
        nonlocal errors, replies
        with contextlib.suppress(Exception):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("op") in {"ok", "error"} and str(frame.get("ref", "")).startswith("m"):
                    replies += 1
                    errors += frame["op"] == "error"
                    if replies == total:
                        done.set()

    readers = [asyncio.get_running_loop().create_task(read(ws)) for ws in conns]
    start = time.monotonic() + 0.1
    for seq in range(total):
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        body = f"{seq} {time.time()}"
        data = {"body": body, "client_id": str(uuid.uuid4()), "seq": seq, "sent": time.time()}
        if "ws/" in url:
            data = {"body": body, "client_id": data["client_id"]}
        frame = {"op": "act", "ref": f"m{seq}", "topic": topic, "action": "send", "data": data}
        await conns[seq % len(conns)].send(json.dumps(frame))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 15)
    errors += total - replies
    for r in readers:
        r.cancel()
    for ws in conns:
        await ws.close()
    return errors


async def phase(
    name: str,
    url: str,
    listeners: list[str],
    senders: list[str],
    topic: str,
    conf: argparse.Namespace,
    log_dir: Path,
) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    half = len(listeners) // 2
    groups = [listeners[:half], listeners[half:]]
    procs = []
    log = (log_dir / "chat-clients.log").open("ab")
    try:
        for group in groups:
            tokens_file = log_dir / f"tokens-{uuid.uuid4().hex}.json"
            tokens_file.write_text(json.dumps(group))
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bench.chat", "--listen", url, str(tokens_file), topic,
                    cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                    stderr=log, limit=64 * 1024 * 1024,
                )
            )  # fmt: skip
        for proc in procs:
            line = await fanout.read_line(proc, 300)
            if not line.startswith("READY"):
                raise RuntimeError(f"client process said {line!r}")
        await asyncio.sleep(2)
        warm = round(conf.warmup * conf.chat_rate)
        total = warm + round(conf.seconds * conf.chat_rate)
        errors = await drive(url, senders, topic, conf.chat_rate, total)
        await asyncio.sleep(2)
        latencies: list[float] = []
        missed = closed = 0
        for proc in procs:
            proc.stdin.write(f"STOP {warm} {total - 1}\n".encode())
            await proc.stdin.drain()
        for proc in procs:
            result = json.loads(await fanout.read_line(proc, 120))
            latencies += result["latencies_ms"]
            missed += result["missed"]
            closed += result["closed_early"]
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        log.close()
    latencies.sort()
    events = total - warm
    return {
        "target": name,
        "clients": len(listeners),
        "events": events,
        "missed": missed,
        "expected": events * len(listeners),
        "closed_early": closed,
        "act_errors": errors,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


async def burst(
    url: str, tokens: list[str], topic: str, seconds: float, window: int
) -> dict[str, Any]:
    """Every sender keeps ``window`` sends in flight for ``seconds``."""
    stop_at = time.monotonic() + seconds
    ok = errors = 0

    async def sender(token: str) -> None:
        nonlocal ok, errors
        async with connect(
            url,
            additional_headers={"Authorization": f"Token {token}"},
            compression=None,
            proxy=None,
            ping_interval=None,
        ) as ws:
            inflight = 0
            n = 0
            while time.monotonic() < stop_at or inflight:
                while inflight < window and time.monotonic() < stop_at:
                    n += 1
                    await ws.send(
                        json.dumps(
                            {
                                "op": "act",
                                "ref": f"b{n}",
                                "topic": topic,
                                "action": "send",
                                "data": {"body": f"burst {n}", "client_id": str(uuid.uuid4())},
                            }
                        )
                    )
                    inflight += 1
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if str(frame.get("ref", "")).startswith("b"):
                    inflight -= 1
                    if frame["op"] == "ok":
                        ok += 1
                    else:
                        errors += 1

    started = time.monotonic()
    await asyncio.gather(*(sender(t) for t in tokens))
    return {"acked": ok, "errors": errors, "elapsed": time.monotonic() - started}


# -- servers -------------------------------------------------------------------------------
def start_lyceum(
    server: str, env: dict[str, str], procs: Processes, log_dir: Path, mode: str
) -> int:
    port = free_port()
    if server == "daphne":
        args = [
            sys.executable,
            "manage.py",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-worker",
            "--quiet",
        ]
    else:
        args = [
            sys.executable,
            "-m",
            "uvicorn",
            "hub.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--ws",
            "websockets",
            "--no-access-log",
        ]
    proc = procs.start(args, env, log_dir / f"{mode}-{server}.log")
    wait_for_port(port, proc)
    return port


def run_mode(mode: str, conf: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"lyceum-chat-bench-{mode}-"))
    procs = Processes()
    env = fanout.base_env(conf.chat_rate)
    # Senders here talk faster than a person: the benchmark lifts the per-person limits.
    env.update(
        LYCEUM_CHAT_RATE_COUNT="1000000",
        LYCEUM_WS_ACT_RATE="100000",
        LYCEUM_WS_ACT_BURST="100000",
        ASGI_THREADS=str(conf.threads),
    )
    if mode == "embedded":
        env = fanout.embedded_env(env, tmp)
    else:
        fanout.recreate_database(conf.pg_url)
        env = fanout.services_env(env, conf.pg_url, conf.redis_url)
    rows: list[dict[str, Any]] = []
    out: dict[str, Any] = {"phases": rows}
    try:
        manage(["migrate", "--noinput", "-v", "0"], env)
        setup = json.loads(
            manage(
                [
                    "shell",
                    "-c",
                    SETUP.format(members=conf.chat_clients, senders=max(SENDERS, conf.senders)),
                ],
                env,
            )
            .strip()
            .splitlines()[-1]
        )
        tokens = setup["tokens"]
        topic = f"messaging.conversation.{setup['conversation']}"
        listeners, senders = tokens[: conf.chat_clients], tokens[conf.chat_clients :]
        base_port = free_port()
        base = procs.start(
            [sys.executable, "-m", "bench.baseline_server", "--port", str(base_port)],
            dict(os.environ),
            log_dir / f"{mode}-baseline.log",
        )
        wait_for_port(base_port, base)
        servers = ["daphne"] + (["uvicorn"] if conf.uvicorn else [])
        ports = {s: start_lyceum(s, env, procs, log_dir, mode) for s in servers}
        targets = [("baseline", f"ws://127.0.0.1:{base_port}/")] + [
            (s, f"ws://127.0.0.1:{p}/ws/") for s, p in ports.items()
        ]
        for rep in range(1, conf.chat_repeats + 1):
            order = targets if rep % 2 else list(reversed(targets))
            for name, url in order:
                lis = [""] * len(listeners) if name == "baseline" else listeners
                snd = [""] * SENDERS if name == "baseline" else senders[:SENDERS]
                row = asyncio.run(phase(name, url, lis, snd, topic, conf, log_dir)) | {
                    "mode": mode,
                    "rep": rep,
                }
                rows.append(row)
                print(
                    f"  chat {mode:9} rep {rep} {name:8} p50 {row['p50_ms']:7.1f}  p95 {row['p95_ms']:7.1f}  p99 {row['p99_ms']:7.1f} ms  loss {row['missed']}/{row['expected']}  act errors {row['act_errors']}  load {row['load_before']:.1f}->{row['load_after']:.1f}",  # noqa: E501
                    flush=True,
                )
        if mode == "services" and conf.burst_seconds > 0:
            count_sql = f"from messaging.models import Message; print(Message.objects.filter(conversation_id={setup['conversation']}).count())"  # noqa: E501
            for name, port in ports.items():
                before = int(manage(["shell", "-c", count_sql], env).strip().splitlines()[-1])
                result = asyncio.run(
                    burst(
                        f"ws://127.0.0.1:{port}/ws/",
                        senders[: conf.senders],
                        topic,
                        conf.burst_seconds,
                        conf.window,
                    )
                )
                after = int(manage(["shell", "-c", count_sql], env).strip().splitlines()[-1])
                result |= {
                    "server": name,
                    "persisted": after - before,
                    "per_second": (after - before) / result["elapsed"],
                    "senders": conf.senders,
                }
                out.setdefault("throughput", []).append(result)
                print(
                    f"  chat {mode:9} throughput {name:8} {result['per_second']:7.0f} messages/s persisted ({result['persisted']} in {result['elapsed']:.1f} s, {conf.senders} senders, {result['errors']} errors)",  # noqa: E501
                    flush=True,
                )
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in dict.fromkeys(r["target"] for r in rows):
        mine = [r for r in rows if r["target"] == name]
        summary[name] = {k: statistics.median(r[k] for r in mine) for k in ("p50_ms", "p95_ms", "p99_ms")} | {  # noqa: E501
            "missed": sum(r["missed"] for r in mine), "expected": sum(r["expected"] for r in mine),
            "act_errors": sum(r["act_errors"] for r in mine),
        }  # fmt: skip
    base = summary.get("baseline", {}).get("p95_ms")
    for name, row in summary.items():
        if base and name != "baseline":
            row["p95_ratio"] = row["p95_ms"] / base
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chat-clients", type=int, default=500, help="members connected")
    parser.add_argument("--chat-rate", type=float, default=4.0, help="messages per second")
    parser.add_argument("--chat-repeats", type=int, default=2)
    parser.add_argument("--senders", type=int, default=50, help="throughput phase senders")
    parser.add_argument("--window", type=int, default=4, help="acts in flight per sender")
    parser.add_argument("--burst-seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=16, help="ASGI_THREADS of the server")
    parser.add_argument("--no-uvicorn", dest="uvicorn", action="store_false")


def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_fd_limit()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_dir = Path(tempfile.mkdtemp(prefix="lyceum-chat-bench-logs-"))
    print(f"chat: logs in {log_dir}", flush=True)
    if args.uvicorn:
        try:
            import uvicorn  # noqa: F401
        except ImportError:
            print("  uvicorn not installed: daphne only", flush=True)
            args.uvicorn = False
    modes = ["embedded", "services"] if args.mode == "both" else [args.mode]
    report: dict[str, Any] = {
        "benchmark": "chat",
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            k: getattr(args, k)
            for k in (
                "chat_clients",
                "chat_rate",
                "seconds",
                "warmup",
                "chat_repeats",
                "senders",
                "window",
                "burst_seconds",
                "threads",
            )
        },
        "modes": {},
    }
    for mode in modes:
        if mode == "services":
            reason = fanout.services_unavailable(args.pg_url, args.redis_url)
            if reason:
                print(f"  services mode skipped: {reason}", flush=True)
                continue
        out = run_mode(mode, args, log_dir)
        out["summary"] = summarise(out["phases"])
        report["modes"][mode] = out
        for name, row in out["summary"].items():
            ratio = f"  p95 ratio {row['p95_ratio']:.2f}x" if "p95_ratio" in row else ""
            print(
                f"  chat {mode:9} {name:8} median p95 {row['p95_ms']:7.1f} ms  loss {row['missed']}/{row['expected']}{ratio}",  # noqa: E501
                flush=True,
            )
    path = RESULTS_DIR / f"chat-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"results: {path.relative_to(ROOT)}")
    return report


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--listen":
        raise_fd_limit()
        asyncio.run(listen(sys.argv[2], json.loads(Path(sys.argv[3]).read_text()), sys.argv[4]))
