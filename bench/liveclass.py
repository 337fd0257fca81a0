"""``python -m bench liveclass``: how many participants one server process relays, on the
built-in aiortc relay and on Janus, side by side (``--liveclass-backend aiortc,janus``).

A real server (``manage.py serve``, embedded mode, its own SQLite file) and a live class
whose participants are scripted aiortc peers (``bench/liveclass_peers.py``) in client
processes of their own, signalling through ``/ws/`` with token auth. Every publisher sends
generated video at ``--liveclass-width`` x ``--liveclass-height``, ``--liveclass-fps``
(plus a tone with ``--liveclass-audio``); every subscriber decodes what the server relays.
Two shapes, each grown step by step until fewer than 90 % of the frames arrive:

* ``1->N``: the trainer publishes, N learners receive (a lecture with learner cameras off);
* ``NxN``: everyone publishes and receives everyone else (a small room, cameras on).

For each step: frames delivered / frames due (fps x measured seconds, per subscription),
the publishers' own send rate (a starved client shows there, not as a server fault), the
server process's CPU (``/proc/<pid>/stat``, its children included) per second and per
relayed stream, and the client processes' CPU. Results: bench/results/liveclass-<time>.json.

Backends: ``aiortc`` (the server decodes and re-encodes; its CPU is the Python server's) and
``janus`` (a Janus process started with ``deploy/janus`` forwards packets; the server CPU is
Janus's plus the Python server's, which only signals). ``--liveclass-count-packets``: the
clients count received RTP instead of decoding (a frame per packet with the marker bit, a
keyframe per VP8 frame start whose header says so; bench/liveclass_peers.py), so on one
machine the figures are the server's, not the clients' decoders'.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.fanout import (
    Processes,
    base_env,
    embedded_env,
    free_port,
    manage,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"
TICKS = os.sysconf("SC_CLK_TCK")
THRESHOLD = 0.90

MAKE_ROOM = """
import json
from rest_framework.authtoken.models import Token
from classrooms import services
from hub.accounts.models import Role, RoleGrant, Space, SpaceMembership, User
space, _ = Space.objects.get_or_create(slug="bench-live", defaults={"name": "Bench live"})
def person(name, role):
    user, _ = User.objects.get_or_create(username=name)
    RoleGrant.objects.get_or_create(user=user, role=role)
    SpaceMembership.objects.get_or_create(space=space, user=user)
    return user
trainer = person("bench-trainer", Role.TRAINER)
live = services.liveclass_create(actor=trainer, space=space, title="Bench", capacity=%(n)d + 1)
services.liveclass_start(actor=trainer, live_class=live)
people = [trainer] + [person(f"bench-learner-{i}", Role.LEARNER) for i in range(%(n)d)]
out = []
for user in people:
    services.liveclass_join(user=user, live_class=live)
    out.append([Token.objects.get_or_create(user=user)[0].key, user.pk])
print("ROOM " + json.dumps({"id": live.pk, "people": out}))
"""


@dataclass
class Step:
    backend: str  # "aiortc" (the built-in relay) or "janus"
    shape: str  # "1->N" or "NxN"
    participants: int
    publishers: int
    subscriptions: int  # relayed streams: one per (subscriber, publisher) pair
    seconds: float
    delivered: float  # frames received / frames due over all subscriptions
    worst_subscription: float
    publisher_fps: float  # what the publishers actually generated and sent
    server_cpu: float  # CPU seconds per second (1.0 = one core busy)
    server_cpu_per_stream: float
    client_cpu: float
    load_before: float
    load_after: float
    sizes: list[list[int]]
    keyframes: int = 0  # counted by clients that count packets (--liveclass-count-packets)
    error: str = ""


# -- CPU from /proc ---------------------------------------------------------------------------
def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of ``pids`` and all their descendants, in seconds."""
    tree = _children()
    todo, seen, total = list(pids), set(), 0
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(tree.get(pid, []))
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


# -- one step -----------------------------------------------------------------------------------
class Clients:
    """Client processes and their line protocol (see ``bench/liveclass_peers.py``)."""

    def __init__(self, log: Path) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.log = log

    def start(self, args: list[str]) -> None:
        with self.log.open("a") as out:
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bench.liveclass_peers", *args],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=out,
                    text=True,
                    start_new_session=True,
                )
            )

    def expect(self, word: str) -> list[str]:
        lines = []
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if not line.startswith(word):
                raise RuntimeError(f"client said {line!r} (waiting for {word}); see {self.log}")
            lines.append(line)
        return lines

    def tell(self, word: str) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(word + "\n")
            proc.stdin.flush()

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(OSError):
                if proc.stdin:
                    proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def run_step(
    *,
    backend: str,
    shape: str,
    participants: int,
    conf: argparse.Namespace,
    env: dict[str, str],
    port: int,
    server_pids: list[int],
    log_dir: Path,
) -> Step:
    output = manage(["shell", "-c", MAKE_ROOM % {"n": participants - 1}], env)
    room = json.loads(output.split("ROOM ", 1)[1])
    topic = f"classrooms.liveclass.{room['id']}"
    people = room["people"]
    if shape == "1->N":
        # ``participants`` counts everyone in the room: the trainer and N - 1 receivers.
        publishers, receivers = people[:1], people[1:]
    else:
        publishers, receivers = people, people
    publisher_ids = [user_id for _token, user_id in publishers]
    url = f"ws://127.0.0.1:{port}/ws/"
    clients = Clients(log_dir / "clients.log")
    common = [
        "--url", url, "--topic", topic,
        "--width", str(conf.liveclass_width), "--height", str(conf.liveclass_height),
        "--fps", str(conf.liveclass_fps),
    ]  # fmt: skip
    if conf.liveclass_audio:
        common.append("--audio")
    if conf.liveclass_count_packets:
        common.append("--count-packets")
    k = max(1, min(conf.liveclass_processes, len(receivers)))
    if shape == "1->N":
        # The trainer publishes from a process of its own; the receivers share the others.
        groups = [(people[:1], True, False)] + [(receivers[i::k], False, True) for i in range(k)]
    else:
        groups = [(people[i::k], True, True) for i in range(k)]
    load_before = os.getloadavg()[0]
    try:
        for members, publish, receive in groups:
            if not members:
                continue
            args = list(common)
            for token, user_id in members:
                args += ["--participant", f"{token}:{user_id}"]
            if publish:
                args.append("--publish")
            if receive:
                args += ["--subscribe", ",".join(str(i) for i in publisher_ids)]
            clients.start(args)
        clients.expect("PUBLISHED")
        clients.tell("SUBSCRIBE")
        clients.expect("READY")
        time.sleep(conf.liveclass_warmup)
        pids = [p.pid for p in clients.procs]
        server_before, clients_before = cpu_seconds(server_pids), cpu_seconds(pids)
        started = time.monotonic()
        clients.tell("START")
        time.sleep(conf.liveclass_seconds)
        clients.tell("STOP")
        elapsed = time.monotonic() - started
        server_cpu = (cpu_seconds(server_pids) - server_before) / elapsed
        client_cpu = (cpu_seconds(pids) - clients_before) / elapsed
        results = [json.loads(line) for line in clients.expect("{")]
    finally:
        clients.stop()
    received = [n for r in results for n in r["received"]]
    sent = [n for r in results for n in r["sent"]]
    due = conf.liveclass_fps * elapsed
    subscriptions = len(received)
    return Step(
        backend=backend,
        shape=shape,
        participants=participants,
        publishers=len(publishers),
        subscriptions=subscriptions,
        seconds=round(elapsed, 2),
        delivered=round(sum(received) / (due * subscriptions), 3) if subscriptions else 0.0,
        worst_subscription=round(min(received) / due, 3) if received else 0.0,
        publisher_fps=round(sum(sent) / len(sent) / elapsed, 2) if sent else 0.0,
        server_cpu=round(server_cpu, 3),
        server_cpu_per_stream=round(server_cpu / subscriptions, 4) if subscriptions else 0.0,
        client_cpu=round(client_cpu, 3),
        load_before=load_before,
        load_after=os.getloadavg()[0],
        sizes=sorted({tuple(s) for r in results for s in r["sizes"]}),  # type: ignore[arg-type]
        keyframes=sum(r.get("keyframes", 0) for r in results),
    )


# -- the run ------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("liveclass")
    group.add_argument("--liveclass-shapes", default="1->N,NxN", help="1->N, NxN or both")
    group.add_argument(
        "--liveclass-steps-1n", default="2,4,8,12,16,24,32", help="participants per 1->N step"
    )
    group.add_argument("--liveclass-steps-nn", default="2,3,4,5,6,8", help="participants NxN")
    group.add_argument("--liveclass-width", type=int, default=320)
    group.add_argument("--liveclass-height", type=int, default=240)
    group.add_argument("--liveclass-fps", type=float, default=15)
    group.add_argument("--liveclass-audio", action="store_true", help="publish a tone too")
    group.add_argument("--liveclass-seconds", type=float, default=10, help="measured per step")
    group.add_argument("--liveclass-warmup", type=float, default=3, help="unmeasured per step")
    group.add_argument(
        "--liveclass-processes", type=int, default=2, help="client processes per step"
    )
    group.add_argument(
        "--liveclass-backend",
        default="aiortc",
        help="aiortc (the built-in relay), janus, or both side by side: aiortc,janus",
    )
    group.add_argument("--liveclass-steps-1n-janus", default="2,8,25,50,100")
    group.add_argument("--liveclass-steps-nn-janus", default="2,4,6,8,10,12")
    group.add_argument(
        "--liveclass-count-packets",
        action="store_true",
        help="clients count RTP frames and keyframes instead of decoding (measure the server)",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Grow each shape until delivery drops below 90 %, for each backend; print and save."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    tmp = Path(tempfile.mkdtemp(prefix="lyceum-bench-liveclass-"))
    log_dir = tmp / "logs"
    log_dir.mkdir()
    steps: list[Step] = []
    capacity: dict[str, dict[str, int]] = {}
    print(f"liveclass: logs in {log_dir}", flush=True)
    backends = [b.strip() for b in args.liveclass_backend.split(",") if b.strip()]
    for backend in backends:
        if backend not in {"aiortc", "janus"}:
            raise SystemExit(f"unknown backend {backend!r}: aiortc or janus")
        capacity[backend] = {}
        steps += run_backend(backend, args, tmp / backend, log_dir, capacity[backend])
    report = {
        "benchmark": "liveclass",
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {k: v for k, v in vars(args).items() if k.startswith("liveclass_")},
        "capacity": capacity,
        "steps": [asdict(s) for s in steps],
    }
    print()
    for backend, shapes in capacity.items():
        print(
            f"{backend}: largest room with >= 90 % of frames delivered: "
            + ", ".join(f"{shape}: {n} participants" for shape, n in shapes.items())
        )
    path = RESULTS_DIR / f"liveclass-{stamp}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"results: {path.relative_to(ROOT)}")
    if steps:
        shutil.rmtree(tmp, ignore_errors=True)
    return report


def run_backend(
    backend: str,
    args: argparse.Namespace,
    tmp: Path,
    log_dir: Path,
    capacity: dict[str, int],
) -> list[Step]:
    """One server (and, for ``janus``, one Janus process) through every step of each shape."""
    from classrooms.janus_process import janus_missing, start_janus

    tmp.mkdir(parents=True)
    env = embedded_env(base_env(10), tmp)
    env.update(LYCEUM_LIVECLASS_CAPACITY="1000", MEDIA_ROOT=str(tmp / "media"))
    procs = Processes()
    steps: list[Step] = []
    janus = None
    try:
        if backend == "janus":
            if reason := janus_missing():
                raise SystemExit(reason)
            janus = start_janus(tmp / "janus")
            env.update(LYCEUM_JANUS_URLS=janus.url, LYCEUM_JANUS_CAPACITY="1000")
        manage(["migrate", "--noinput", "-v", "0"], env)
        port = free_port()
        server = procs.start(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--no-worker", "--quiet"],
            env,
            log_dir / f"server-{backend}.log",
        )  # fmt: skip
        wait_for_port(port, server)
        # The media server's CPU: the Python server's, and Janus's when it forwards.
        server_pids = [server.pid] + ([janus.pid] if janus else [])
        shapes = [s.strip() for s in args.liveclass_shapes.split(",") if s.strip()]
        for shape in shapes:
            if backend == "janus":
                sizes = (
                    args.liveclass_steps_1n_janus
                    if shape == "1->N"
                    else args.liveclass_steps_nn_janus
                )
            else:
                sizes = args.liveclass_steps_1n if shape == "1->N" else args.liveclass_steps_nn
            for participants in (int(n) for n in sizes.split(",")):
                try:
                    step = run_step(
                        backend=backend,
                        shape=shape,
                        participants=participants,
                        conf=args,
                        env=env,
                        port=port,
                        server_pids=server_pids,
                        log_dir=log_dir,
                    )
                except Exception as exc:  # a step that cannot even connect: the end
                    print(f"  {backend} {shape} {participants}: failed: {exc}", flush=True)
                    break
                steps.append(step)
                print(
                    f"  {backend:6} {shape:5} {participants:3} in the room  "
                    f"{step.subscriptions:4} streams  "
                    f"delivered {step.delivered:6.1%} (worst {step.worst_subscription:6.1%})  "
                    f"sent {step.publisher_fps:5.1f} fps  server CPU {step.server_cpu:5.2f} "
                    f"({step.server_cpu_per_stream * 100:5.2f} % per stream)  "
                    f"clients CPU {step.client_cpu:5.2f}  keyframes {step.keyframes}  "
                    f"load {step.load_before:.1f}->{step.load_after:.1f}",
                    flush=True,
                )
                if step.delivered >= THRESHOLD:
                    capacity[shape] = participants
                else:
                    break
    finally:
        procs.stop_all()
        if janus is not None:
            janus.stop()
    return steps
