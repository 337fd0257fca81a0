"""Chat benchmark: a course channel with N connected members, messages through ``act send``.

Latency phases (same run, same client machinery as ``bench.fanout``), alternated per
repetition: the bare ``websockets`` broadcast ``baseline``; Lyceum under ``daphne``
(``manage.py serve``); the same ASGI app under ``uvicorn``. Every member socket is a
distinct user subscribed to ``messaging.conversation.<id>``; four sender users take turns
sending ``"<seq> <sent>"`` at ``--chat-rate``/s, so each message takes the whole path:
validation, membership check, rate limit, ordering lock, insert, publish on commit, layer,
fan-out. Each client records receive - sent of ``message.created`` and what it missed.

Throughput phase (services mode, PostgreSQL + Redis): ``--senders`` sockets, spread over
``--chat-processes`` daphne processes (each list item a separate run), each subscribed to
the conversation it writes to and keeping ``--window`` sends in flight for
``--burst-seconds`` (window 1: the next send as soon as the ack is back). Two scenarios:
``spread``, the senders in ``--groups`` group conversations (the realistic case), and
``one``, every sender in one group conversation (the worst case: one topic, one ordering
lock). One ``db_worker`` runs beside the servers, as in production, and works off the
notification jobs. Reported: messages persisted per second (rows counted in PostgreSQL),
p50/p95 ack latency, errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake

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
writers = users[n:]
groups = []
for g in range({groups}):
    group = Conversation.objects.create(kind="group", title=f"Bench group {{g}}")
    Membership.objects.bulk_create(
        [Membership(conversation=group, user=u) for u in writers[g::{groups}]]
    )
    groups.append(group.pk)
room = Conversation.objects.create(kind="group", title="Bench room")
Membership.objects.bulk_create([Membership(conversation=room, user=u) for u in writers])
print(json.dumps({{
    "conversation": c.pk, "tokens": [t.key for t in tokens], "groups": groups, "room": room.pk,
}}))
"""


# -- client processes (``python -m bench.chat --listen ...``) ------------------------------
async def listen(url: str, tokens: list[str], topic: str, storm: bool = False) -> None:
    """Open one socket per token, subscribe, record latencies; answer STOP like bench.clients.

    ``storm``: every socket connects at the same moment (no limit on handshakes in flight),
    and the subscriptions' answers are counted instead of stopping the run at the first
    refusal: READY <sockets> <ok> <refused> <failed> <retried>, as ``bench.clients`` says.
    """
    seqs: list[list[int]] = [[] for _ in tokens]
    lats: list[list[float]] = [[] for _ in tokens]
    closed = [False] * len(tokens)
    sockets = []
    gate = asyncio.Semaphore(len(tokens) if storm else 50)
    counts = {"ok": 0, "refused": 0, "failed": 0, "retried": 0}

    async def subscribe(ws: Any) -> str:
        """``ok``, ``refused`` (an error other than overloaded), after the server's
        ``retry_after`` hints (doubled per try, jittered) as the browser client does."""
        told_to_wait = False
        for attempt in range(8):
            await ws.send(json.dumps({"op": "sub", "ref": "s", "topic": topic}))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("ref") == "s":
                    break
            if frame.get("op") == "ok":
                counts["retried"] += told_to_wait
                return "ok"
            error = frame.get("error") or {}
            if error.get("code") not in {"overloaded", "rate_limited"}:
                return "refused"
            told_to_wait = True
            hint = float(error.get("retry_after") or 1) * 2**attempt
            await asyncio.sleep(hint * (1 + random.random()))
        counts["retried"] += 1
        return "refused"

    async def one(i: int, token: str) -> None:
        async with gate:
            headers = {"Authorization": f"Token {token}"} if token else {}
            for attempt in range(5):
                try:
                    ws = await connect(
                        url, additional_headers=headers, compression=None, proxy=None,
                        open_timeout=120, ping_interval=None, max_queue=None,
                    )  # fmt: skip
                    break
                except (OSError, InvalidHandshake):
                    # A loaded server may drop a handshake (accept backlog full): retry.
                    if attempt == 4:
                        if storm:
                            counts["failed"] += 1
                            return
                        raise
                    await asyncio.sleep(0.5 * (attempt + 1))
            try:
                answer = await subscribe(ws)
            except Exception:
                if not storm:
                    raise
                answer = "failed"
            counts[answer] += 1
            if answer != "ok":
                if not storm:
                    raise RuntimeError(f"sub answered {answer}")
                await ws.close()
                return
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
    print(
        f"READY {len(tokens)} {counts['ok']} {counts['refused']} {counts['failed']} "
        f"{counts['retried']}",
        flush=True,
    )
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
    server_pid: int | None = None,
) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    half = len(listeners) // 2
    groups = [listeners[:half], listeners[half:]]
    procs = []
    log = (log_dir / "chat-clients.log").open("ab")
    storm = ["storm"] if conf.chat_storm else []
    answers = {"ok": 0, "refused": 0, "failed": 0, "retried": 0}
    cpu_before = cpu_seconds([server_pid]) if server_pid else 0.0
    started = time.monotonic()
    try:
        for group in groups:
            tokens_file = log_dir / f"tokens-{uuid.uuid4().hex}.json"
            tokens_file.write_text(json.dumps(group))
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bench.chat", "--listen", url, str(tokens_file), topic,
                    *storm, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE, stderr=log, limit=64 * 1024 * 1024,
                )
            )  # fmt: skip
        for proc in procs:
            line = await fanout.read_line(proc, 300)
            if not line.startswith("READY"):
                raise RuntimeError(f"client process said {line!r}")
            words = line.split()[2:]
            for key, word in zip(("ok", "refused", "failed", "retried"), words, strict=True):
                answers[key] += int(word)
        connect_s = time.monotonic() - started
        await asyncio.sleep(2)
        warm = round(conf.warmup * conf.chat_rate)
        total = warm + round(conf.seconds * conf.chat_rate)
        errors = await drive(url, senders, topic, conf.chat_rate, total)
        await asyncio.sleep(2)
        server_cpu = cpu_seconds([server_pid]) - cpu_before if server_pid else float("nan")
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
        "subscribed": answers["ok"],
        "refused": answers["refused"],
        "failed": answers["failed"],
        "retried": answers["retried"],
        "connect_s": round(connect_s, 2),
        "server_cpu_s": round(server_cpu, 2),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


async def burst(
    urls: list[str], tokens: list[str], topics: list[str], seconds: float, window: int
) -> dict[str, Any]:
    """Sender ``i`` (on server ``i % len(urls)``) subscribes to ``topics[i]`` and keeps
    ``window`` sends in flight there for ``seconds``; every ack's latency is recorded."""
    ok = errors = 0
    acks: list[float] = []
    ready = 0
    all_ready = asyncio.Event()
    go = asyncio.Event()

    async def sender(i: int, token: str) -> None:
        nonlocal ok, errors, ready
        async with connect(
            urls[i % len(urls)],
            additional_headers={"Authorization": f"Token {token}"},
            compression=None,
            proxy=None,
            ping_interval=None,
            max_queue=None,
            open_timeout=60,
        ) as ws:
            topic = topics[i]
            await ws.send(json.dumps({"op": "sub", "ref": "s", "topic": topic}))
            while (frame := json.loads(await ws.recv())).get("ref") != "s":
                pass
            if frame["op"] != "ok":
                raise RuntimeError(frame)
            ready += 1
            if ready == len(tokens):
                all_ready.set()
            await go.wait()
            stop_at = time.monotonic() + seconds
            sent_at: dict[str, float] = {}
            n = 0
            while time.monotonic() < stop_at or sent_at:
                while len(sent_at) < window and time.monotonic() < stop_at:
                    n += 1
                    ref = f"b{n}"
                    data = {"body": f"burst {n}", "client_id": str(uuid.uuid4())}
                    frame = {"op": "act", "ref": ref, "topic": topic, "action": "send"}
                    sent_at[ref] = time.monotonic()
                    await ws.send(json.dumps(frame | {"data": data}))
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                started = sent_at.pop(str(frame.get("ref", "")), None)
                if started is None:
                    continue  # an event of the conversation (others' messages, presence)
                acks.append((time.monotonic() - started) * 1000)
                if frame["op"] == "ok":
                    ok += 1
                else:
                    errors += 1

    tasks = [asyncio.create_task(sender(i, t)) for i, t in enumerate(tokens)]
    await asyncio.wait_for(all_ready.wait(), 120)
    started = time.monotonic()
    go.set()
    await asyncio.gather(*tasks)
    acks.sort()
    return {
        "acked": ok,
        "errors": errors,
        "elapsed": time.monotonic() - started,
        "ack_p50_ms": percentile(acks, 50),
        "ack_p95_ms": percentile(acks, 95),
    }


def count_messages(pg_url: str, conversation_ids: list[int]) -> int:
    """Rows persisted, counted in PostgreSQL itself."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM messaging_message WHERE conversation_id = ANY(%s)",
            [conversation_ids],
        ).fetchone()
    return int(row[0])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time used so far by these processes (all their threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wait_until_idle(pid: int, timeout: float = 60.0) -> None:
    """Until the process has used under 50 ms of CPU in the last second (its start-up done)."""
    deadline = time.monotonic() + timeout
    before = cpu_seconds([pid])
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds([pid])
        if now - before < 0.05:
            return
        before = now


def database_pids(pg_url: str) -> list[int]:
    """The PostgreSQL backends serving the bench database (same machine)."""
    import psycopg

    name = pg_url.rsplit("/", 1)[-1]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return [row[0] for row in rows]


def throughput(
    env: dict[str, str],
    setup: dict[str, Any],
    senders: list[str],
    conf: argparse.Namespace,
    log_dir: Path,
) -> list[dict[str, Any]]:
    """The throughput scenarios against 1..N daphne processes (one ``db_worker`` beside)."""
    groups = setup["groups"]
    scenarios = {
        "spread": [
            f"messaging.conversation.{groups[i % len(groups)]}" for i in range(len(senders))
        ],
        "one": [f"messaging.conversation.{setup['room']}"] * len(senders),
    }
    ids = {"spread": groups, "one": [setup["room"]]}
    rows: list[dict[str, Any]] = []
    for count in conf.chat_processes:
        procs = Processes()
        try:
            # The job worker first, and settled before the bursts: its start-up (imports,
            # checks: ~1.3 s of CPU) once landed in the first scenario's CPU per message.
            worker = procs.start(
                [sys.executable, "manage.py", "db_worker", "--interval", "0.5"],
                env,
                log_dir / "throughput-worker.log",
            )
            ports = [
                start_lyceum("daphne", env, procs, log_dir, f"throughput-{count}-{n}")
                for n in range(count)
            ]
            wait_until_idle(worker.pid)
            urls = [f"ws://127.0.0.1:{port}/ws/" for port in ports]
            app_pids = [p.pid for p in procs.procs]
            for name, topics in scenarios.items():
                if name not in conf.chat_scenarios:
                    continue
                before = count_messages(conf.pg_url, ids[name])
                # Backends of the servers' pools open during the first burst: those that
                # were not there before count with all their CPU time.
                db_before = {pid: cpu_seconds([pid]) for pid in database_pids(conf.pg_url)}
                cpu_app, cpu_clients = cpu_seconds(app_pids), cpu_seconds([os.getpid()])
                cpu_worker = cpu_seconds([worker.pid])
                result = asyncio.run(burst(urls, senders, topics, conf.burst_seconds, conf.window))
                persisted = count_messages(conf.pg_url, ids[name]) - before
                cpu_app = cpu_seconds(app_pids) - cpu_app
                cpu_worker = cpu_seconds([worker.pid]) - cpu_worker
                cpu_clients = cpu_seconds([os.getpid()]) - cpu_clients
                cpu_db = sum(
                    cpu_seconds([pid]) - db_before.get(pid, 0.0)
                    for pid in database_pids(conf.pg_url)
                )
                result |= {
                    # CPU per message, whatever else the machine runs: server processes and
                    # job worker ("app"), PostgreSQL backends already connected ("db").
                    "cpu_ms_app": 1000 * cpu_app / max(1, persisted),
                    "cpu_ms_db": 1000 * cpu_db / max(1, persisted),
                    # The job worker's part of "app" (notification and search jobs).
                    "cpu_ms_worker": 1000 * cpu_worker / max(1, persisted),
                    # The 50 sending sockets of this process (they share the machine).
                    "cpu_ms_clients": 1000 * cpu_clients / max(1, persisted),
                    "scenario": name,
                    "processes": count,
                    "senders": len(senders),
                    "conversations": len(ids[name]),
                    "persisted": persisted,
                    "per_second": persisted / result["elapsed"],
                    "load": os.getloadavg()[0],
                }
                rows.append(result)
                print(
                    f"  chat services  throughput {name:6} {count} daphne  {result['per_second']:6.0f} messages/s persisted ({persisted} in {result['elapsed']:.1f} s, {len(senders)} senders in {len(ids[name])} conversations)  ack p50 {result['ack_p50_ms']:6.1f}  p95 {result['ack_p95_ms']:6.1f} ms  errors {result['errors']}  CPU/message app {result['cpu_ms_app']:.2f} ms (worker {result['cpu_ms_worker']:.2f}) db {result['cpu_ms_db']:.2f} ms clients {result['cpu_ms_clients']:.2f} ms  load {result['load']:.1f}",  # noqa: E501
                    flush=True,
                )
        finally:
            procs.stop_all()
    return rows


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
                    SETUP.format(
                        members=max([conf.chat_clients, *conf.chat_sweep]),
                        senders=max(SENDERS, conf.senders),
                        groups=conf.groups,
                    ),
                ],
                env,
            )
            .strip()
            .splitlines()[-1]
        )
        tokens = setup["tokens"]
        topic = f"messaging.conversation.{setup['conversation']}"
        members = max([conf.chat_clients, *conf.chat_sweep])
        listeners, senders = tokens[:members], tokens[members:]
        base_port = free_port()
        base = procs.start(
            [sys.executable, "-m", "bench.baseline_server", "--port", str(base_port)],
            dict(os.environ),
            log_dir / f"{mode}-baseline.log",
        )
        wait_for_port(base_port, base)
        servers = ["daphne"] + (["uvicorn"] if conf.uvicorn else [])
        ports: dict[str, int] = {}
        pids = {"baseline": base.pid}
        for server in servers:
            ports[server] = start_lyceum(server, env, procs, log_dir, mode)
            pids[server] = procs.procs[-1].pid  # the server just started
        targets = [("baseline", f"ws://127.0.0.1:{base_port}/")] + [
            (s, f"ws://127.0.0.1:{p}/ws/") for s, p in ports.items()
        ]
        # A sweep (--chat-sweep): one repetition per size, the first N members listening.
        sizes = conf.chat_sweep or [len(listeners)]
        for rep in range(1, conf.chat_repeats + 1):
            for n, size in enumerate(sizes):
                flip = (rep + n) % 2 == 0
                order = list(reversed(targets)) if flip else targets
                for name, url in order:
                    lis = [""] * size if name == "baseline" else listeners[:size]
                    snd = [""] * SENDERS if name == "baseline" else senders[:SENDERS]
                    row = asyncio.run(
                        phase(name, url, lis, snd, topic, conf, log_dir, pids.get(name))
                    ) | {"mode": mode, "rep": rep}
                    rows.append(row)
                    print(
                        f"  chat {mode:9} rep {rep} {name:8} clients {size:5} ok {row['subscribed']} (refused {row['refused']}, failed {row['failed']}, retried {row['retried']}) in {row['connect_s']:.1f} s  p50 {row['p50_ms']:7.1f}  p95 {row['p95_ms']:7.1f}  p99 {row['p99_ms']:7.1f} ms  loss {row['missed']}/{row['expected']}  act errors {row['act_errors']}  cpu {row['server_cpu_s']:.2f} s  load {row['load_before']:.1f}->{row['load_after']:.1f}",  # noqa: E501
                        flush=True,
                    )
        if mode == "services" and conf.burst_seconds > 0:
            procs.stop_all()  # the latency phases' servers: the machine to the next phase
            out["throughput"] = throughput(env, setup, senders[: conf.senders], conf, log_dir)
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
    parser.add_argument("--groups", type=int, default=10, help="throughput: conversations")
    parser.add_argument(
        "--chat-processes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[2],
        help="throughput: daphne processes, e.g. 2,4 (one run each)",
    )
    parser.add_argument(
        "--chat-scenarios",
        type=lambda text: [n.strip() for n in text.split(",") if n.strip()],
        default=["spread", "one"],
        help="throughput scenarios to run: spread, one (default both)",
    )
    parser.add_argument("--window", type=int, default=1, help="acts in flight per sender")
    parser.add_argument("--burst-seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=16, help="ASGI_THREADS of the server")
    parser.add_argument("--no-uvicorn", dest="uvicorn", action="store_false")
    parser.add_argument(
        "--chat-storm",
        action="store_true",
        help="members connect all at once; subscriptions refused are counted, not fatal",
    )
    parser.add_argument(
        "--chat-sweep",
        type=lambda text: [int(n) for n in text.split(",") if n.strip()],
        default=[],
        help="member counts, e.g. 250,500,1000,1500,2000 (one latency phase each)",
    )


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
                "groups",
                "chat_processes",
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
    if len(sys.argv) in {5, 6} and sys.argv[1] == "--listen":
        raise_fd_limit()
        tokens_ = json.loads(Path(sys.argv[3]).read_text())
        asyncio.run(listen(sys.argv[2], tokens_, sys.argv[4], storm=sys.argv[5:] == ["storm"]))
