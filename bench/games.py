"""``python -m bench games``: a live quiz game with 500 WebSocket players answering within
the same second, in the embedded mode (SQLite, in-memory layer) and the services mode
(PostgreSQL, Redis), one daphne process (``manage.py serve``).

Set-up (``manage.py shell``): a space, a course with a trainer and a bank of single-choice
questions, ``--game-players`` learners with API tokens, and a game of ``--game-rounds``
questions. Then the host's socket (``games.game.<id>`` and ``games.host.<id>``) and every
player's socket (``games.game.<id>``, ``join``) connect. Per round the host acts ``next``;
once every player has the question (``question.opened``) each player answers at a random
moment of the same second (one second after the last one got the question), a tenth of
them send their answer twice (a retry). An answer refused as ``overloaded`` is sent again
after the server's ``retry_after`` (with jitter), as the play page does. Measured per round:

* acks: every first answer answered ``ok``, every repeat ``conflict`` (counted once);
* p50 / p95 / max answer acknowledgement (first send -> ``ok``, retries included);
* how long after the last answer was sent the host's distribution (``answers.count``,
  coalesced by the server) shows every answer, the reveal (``question.closed``: the last
  answer closes the question) arrives at the host, every player's result at the host
  (``question.results``), and the last player's own result (``games.result`` on their
  ``hub.user.<id>``) and reveal;
* the reveal frames' sizes (the host's and a player's);
* where the reveal's time went: the server's own timestamps (the last answer's
  ``answered_at``, the ``question.closed`` row's ``created_at``) against the client's
  clock (same machine);
* the database afterwards: exactly one answer row per player and round.
"""

from __future__ import annotations

import argparse
import asyncio
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
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from bench import fanout
from bench.clients import raise_fd_limit
from bench.fanout import ROOT, Processes, free_port, manage, percentile, wait_for_port

RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/lyceum_bench_games"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
RETRIED = {"overloaded", "unavailable", "rate_limited"}

SETUP = """
import json
from rest_framework.authtoken.models import Token
from classrooms import services as cs
from classrooms.models import QuestionKind
from hub.accounts.models import Role, RoleGrant, Space, SpaceMembership, User
from games import services as gs
space = Space.objects.create(name="Bench games", slug="bench-games")
host = User.objects.create_user(username="gamehost", first_name="Host")
RoleGrant.objects.create(user=host, role=Role.TRAINER)
SpaceMembership.objects.create(space=space, user=host)
course = cs.course_create(author=host, space=space, title="Bench game", published=True)
for i in range({rounds}):
    cs.question_create(user=host, course=course, kind=QuestionKind.SINGLE, text=f"Q{{i}}?",
        choices=[{{"text": "A", "is_correct": True}}, {{"text": "B"}}, {{"text": "C"}},
                 {{"text": "D"}}])
users = User.objects.bulk_create(
    [User(username=f"gp{{i}}", first_name="P", last_name=str(i)) for i in range({players})])
SpaceMembership.objects.bulk_create([SpaceMembership(space=space, user=u) for u in users])
made = Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
tokens = [t.key for t in made]
game = gs.game_create(host=host, course=course, questions={rounds}, seconds=60)
print(json.dumps({{"game": game.pk, "host": Token.objects.create(user=host).key,
    "tokens": tokens}}))
"""

COUNT = """
from django.db.models import Count, Max
from games.models import GameAnswer, GameEvent
rows = [dict(r) for r in GameAnswer.objects.filter(game_id={game}).values("index").annotate(
    n=Count("id"), players=Count("player", distinct=True), last_at=Max("answered_at"))]
closed = {{e.data["index"]: e.created_at for e in GameEvent.objects.filter(
    game_id={game}, type="question.closed")}}
for r in rows:
    r["closed_at"] = closed[r["index"]].timestamp() if r["index"] in closed else None
    r["last_at"] = r["last_at"].timestamp()
print(json.dumps(rows))
"""


class Socket:
    """A gateway client: request/response by ``ref``, events into a queue."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ref = 0
        self.waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.events: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
        # (event type, question index) -> (perf_counter, wall clock, frame size) on arrival
        self.arrivals: dict[tuple[str, int], asyncio.Future[tuple[float, float, int]]] = {}
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        async for text in self.ws:
            now, wall = time.perf_counter(), time.time()
            frame = json.loads(text)
            ref = frame.get("ref")
            if ref is not None and ref in self.waiting:
                self.waiting.pop(ref).set_result(frame)
            elif frame.get("op") == "event":
                self.events.put_nowait((now, frame))
                index = (frame.get("data") or {}).get("index")
                if isinstance(index, int):
                    arrival = self.arrival(frame["type"], index)
                    if not arrival.done():
                        arrival.set_result((now, wall, len(text)))

    def arrival(self, type: str, index: int) -> asyncio.Future[tuple[float, float, int]]:
        """When the event ``type`` of question ``index`` arrived (a future until it does)."""
        key = (type, index)
        if key not in self.arrivals:
            self.arrivals[key] = asyncio.get_running_loop().create_future()
        return self.arrivals[key]

    async def call(self, **frame: Any) -> dict[str, Any]:
        self.ref += 1
        ref = str(self.ref)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[ref] = future
        await self.ws.send(json.dumps({**frame, "ref": ref}))
        return await asyncio.wait_for(future, 60)

    async def next_event(self, type: str) -> tuple[float, dict[str, Any]]:
        while True:
            at, frame = await asyncio.wait_for(self.events.get(), 60)
            if frame.get("type") == type:
                return at, frame


async def open_socket(url: str, token: str) -> Socket:
    ws = await connect(
        url,
        additional_headers={"Authorization": f"Token {token}"},
        proxy=None,
        open_timeout=60,
        ping_interval=None,
        max_queue=None,
    )
    return Socket(ws)


async def play(url: str, setup: dict[str, Any], rounds: int) -> list[dict[str, Any]]:
    game = setup["game"]
    topic, host_topic = f"games.game.{game}", f"games.host.{game}"
    host = await open_socket(url, setup["host"])
    assert (await host.call(op="sub", topic=topic))["op"] == "ok"
    assert (await host.call(op="sub", topic=host_topic))["op"] == "ok"
    players: list[Socket] = []
    for start in range(0, len(setup["tokens"]), 50):
        batch = await asyncio.gather(
            *(open_socket(url, t) for t in setup["tokens"][start : start + 50])
        )
        players.extend(batch)
    for start in range(0, len(players), 50):
        replies = await asyncio.gather(
            *(p.call(op="sub", topic=topic) for p in players[start : start + 50])
        )
        assert all(r["op"] == "ok" for r in replies), replies[:3]
        replies = await asyncio.gather(
            *(
                p.call(op="act", topic=topic, action="join", data={})
                for p in players[start : start + 50]
            )
        )
        assert all(r["op"] == "ok" for r in replies), replies[:3]
        # Each player's own result comes on their own topic (as the page's shell has it).
        replies = await asyncio.gather(
            *(
                p.call(op="sub", topic=f"hub.user.{r['data']['me']['user']}")
                for p, r in zip(players[start : start + 50], replies, strict=True)
            )
        )
        assert all(r["op"] == "ok" for r in replies), replies[:3]
    rows = []
    for index in range(rounds):
        reply = await host.call(op="act", topic=host_topic, action="next", data={})
        assert reply["op"] == "ok", reply
        rows.append(await one_round(host, players, topic, index))
        r = rows[-1]
        print(
            f"    round {index}: {r['outcomes']}  ack p50 {r['ack_p50_ms']:.0f} "
            f"p95 {r['ack_p95_ms']:.0f} max {r['ack_max_ms']:.0f} ms  host saw all "
            f"{r['host_all_counted_after_last_ms']:.0f} ms after the last answer, reveal "
            f"{r['reveal_after_last_ms']:.0f} ms (results at the host "
            f"{r['host_results_after_last_ms']:.0f} ms, every player's reveal "
            f"{r['players_reveal_after_last_ms']:.0f} ms, own result "
            f"{r['players_result_after_last_ms']:.0f} ms; frames: host "
            f"{r['host_reveal_bytes']} + {r['host_results_bytes']} B, player "
            f"{r['player_reveal_bytes']} + {r['player_result_bytes']} B), load "
            f"{r['load_1min']:.1f}",
            flush=True,
        )
    for s in [host, *players]:
        await s.ws.close()
    return rows


async def one_round(host: Socket, players: list[Socket], topic: str, index: int) -> dict[str, Any]:
    opened = await asyncio.gather(*(p.next_event("question.opened") for p in players))
    choices = [c["id"] for c in opened[0][1]["data"]["question"]["choices"]]
    start_at = max(at for at, _frame in opened) + 1.0  # the same second for everyone
    sent: list[float] = []
    sent_wall: list[float] = []
    acks: list[float] = []
    outcomes: dict[str, int] = {}

    async def answer(p: Socket, retry: bool) -> None:
        await asyncio.sleep(max(0.0, start_at + random.random() - time.perf_counter()))
        data = {"index": index, "answer": random.choice(choices)}
        t0 = time.perf_counter()
        sent.append(t0)
        sent_wall.append(time.time())
        first = await p.call(op="act", topic=topic, action="answer", data=data)
        # A busy server says "overloaded" with retry_after: the play page tries again
        # (with jitter) while the question is open; so does this player.
        tries = 1
        while first.get("code") in RETRIED and tries < 10:
            wait = float(first.get("retry_after") or 1.0)
            await asyncio.sleep(wait + random.random() * wait)
            first = await p.call(op="act", topic=topic, action="answer", data=data)
            tries += 1
            outcomes["retried"] = outcomes.get("retried", 0) + 1
        acks.append((time.perf_counter() - t0) * 1000)
        key = first["op"] if first["op"] == "ok" else first.get("code", "?")
        outcomes[key] = outcomes.get(key, 0) + 1
        if retry:
            again = await p.call(op="act", topic=topic, action="answer", data=data)
            key = "repeat_" + (again.get("code") or again["op"])
            outcomes[key] = outcomes.get(key, 0) + 1

    host.events = asyncio.Queue()  # only this round's counts
    host_seen = asyncio.create_task(wait_full(host, len(players), index))
    await asyncio.gather(*(answer(p, i % 10 == 0) for i, p in enumerate(players)))
    last_sent = max(sent)
    full_at, closed_at, closed = await host_seen
    _at, closed_wall, host_reveal_bytes = await host.arrival("question.closed", index)
    reveals = await asyncio.gather(*(p.arrival("question.closed", index) for p in players))
    # A server from before per-person reveals (every result in question.closed: the
    # "before" of docs/PERFORMANCE.md) sends no separate results: the reveal has them.
    every = "results" in closed["data"]
    results_at, _wall, results_bytes = (
        (closed_at, closed_wall, 0) if every else await host.arrival("question.results", index)
    )
    mine = (
        [(r[0], r[1], 0) for r in reveals]
        if every
        else await asyncio.gather(*(p.arrival("games.result", index) for p in players))
    )
    ordered = sorted(acks)
    return {
        "round": index,
        "players": len(players),
        "outcomes": outcomes,
        "answers_spread_ms": (max(sent) - min(sent)) * 1000,
        "ack_p50_ms": percentile(ordered, 50),
        "ack_p95_ms": percentile(ordered, 95),
        "ack_max_ms": ordered[-1],
        "host_all_counted_after_last_ms": (full_at - last_sent) * 1000,
        "reveal_after_last_ms": (closed_at - last_sent) * 1000,
        "host_results_after_last_ms": (results_at - last_sent) * 1000,
        "players_reveal_after_last_ms": (max(r[0] for r in reveals) - last_sent) * 1000,
        "players_result_after_last_ms": (max(m[0] for m in mine) - last_sent) * 1000,
        "host_reveal_bytes": host_reveal_bytes,
        "host_results_bytes": results_bytes,
        "player_reveal_bytes": reveals[0][2],
        "player_result_bytes": mine[0][2],
        "reveal_answered": closed["data"]["distribution"]["answered"],
        "last_sent_wall": max(sent_wall),
        "host_reveal_wall": closed_wall,
        "load_1min": os.getloadavg()[0],
    }


async def wait_full(host: Socket, players: int, index: int) -> tuple[float, float, dict[str, Any]]:
    """When the host's distribution first counts every player, and the reveal arrives."""
    full_at = None
    while True:
        at, frame = await asyncio.wait_for(host.events.get(), 120)
        data = frame["data"]
        if frame["type"] == "answers.count" and data["index"] == index:
            if data["answered"] >= players and full_at is None:
                full_at = at
        elif frame["type"] == "question.closed" and data["index"] == index:
            return (full_at or at), at, frame


def run_mode(mode: str, conf: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"lyceum-games-bench-{mode}-"))
    procs = Processes()
    env = fanout.base_env(10)
    env.update(LYCEUM_WS_ACT_RATE="1000", LYCEUM_WS_ACT_BURST="1000")
    if mode == "embedded":
        env = fanout.embedded_env(env, tmp)
    else:
        fanout.recreate_database(conf.games_pg_url)
        env = fanout.services_env(env, conf.games_pg_url, conf.games_redis_url)
    try:
        manage(["migrate", "--noinput", "-v", "0"], env)
        manage(["collectstatic", "--noinput", "-v", "0"], env)  # serve refuses without it
        setup = json.loads(
            manage(
                ["shell", "-c", SETUP.format(players=conf.game_players, rounds=conf.game_rounds)],
                env,
            )
            .strip()
            .splitlines()[-1]
        )
        port = free_port()
        args = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
        proc = procs.start([*args, "--no-worker", "--quiet"], env, log_dir / f"{mode}.log")
        wait_for_port(port, proc)
        load_before = os.getloadavg()[0]
        rows = asyncio.run(play(f"ws://127.0.0.1:{port}/ws/", setup, conf.game_rounds))
        counted = json.loads(
            manage(["shell", "-c", "import json\n" + COUNT.format(game=setup["game"])], env)
            .strip()
            .splitlines()[-1]
        )
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    by_index = {r["index"]: r for r in counted}
    for row in rows:
        server = by_index.get(row["round"])
        if server and server.get("closed_at"):
            # The server's clock (same machine): when it wrote the reveal after the last
            # answer it recorded, and how long the written reveal took to reach the host.
            row["server_closed_after_last_answer_ms"] = (
                server["closed_at"] - server["last_at"]
            ) * 1000
            row["host_receipt_after_server_closed_ms"] = (
                row["host_reveal_wall"] - server["closed_at"]
            ) * 1000
            print(
                f"    round {row['round']}: the server wrote the reveal "
                f"{row['server_closed_after_last_answer_ms']:.0f} ms after the last answer it "
                f"recorded; the host had it {row['host_receipt_after_server_closed_ms']:.0f} ms "
                "later",
                flush=True,
            )
    return {
        "mode": mode,
        "rounds": rows,
        "database": counted,
        "load_before": load_before,
        "summary": {
            k: statistics.median(r[k] for r in rows)
            for k in (
                "ack_p50_ms",
                "ack_p95_ms",
                "ack_max_ms",
                "host_all_counted_after_last_ms",
                "reveal_after_last_ms",
                "host_results_after_last_ms",
                "players_reveal_after_last_ms",
                "players_result_after_last_ms",
                "load_1min",
                "server_closed_after_last_answer_ms",
                "host_receipt_after_server_closed_ms",
            )
            if all(k in r for r in rows)
        },
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--game-players", type=int, default=500)
    parser.add_argument("--game-rounds", type=int, default=3)
    parser.add_argument(
        "--games-pg-url", default=os.environ.get("BENCH_GAMES_DATABASE_URL", DEFAULT_PG_URL)
    )
    parser.add_argument(
        "--games-redis-url", default=os.environ.get("BENCH_GAMES_REDIS_URL", DEFAULT_REDIS_URL)
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_fd_limit()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_dir = Path(tempfile.mkdtemp(prefix="lyceum-games-bench-logs-"))
    print(f"games: logs in {log_dir}", flush=True)
    modes = ["embedded", "services"] if args.mode == "both" else [args.mode]
    report: dict[str, Any] = {
        "benchmark": "games",
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {"players": args.game_players, "rounds": args.game_rounds},
        "modes": [],
    }
    for mode in modes:
        print(f"  games {mode}: {args.game_players} players", flush=True)
        result = run_mode(mode, args, log_dir)
        report["modes"].append(result)
        print(f"  games {mode}: {json.dumps(result['summary'])}", flush=True)
        print(f"  games {mode}: database {result['database']}", flush=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"games-{stamp}.json").write_text(json.dumps(report, indent=2))
    return report
