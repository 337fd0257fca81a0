"""A load-generator process: N WebSocket clients subscribed to one topic.

Started by ``bench.fanout`` and ``bench.storm`` (one or two per phase, so the clients use
both cores). It prints ``READY <subscribed> <refused> <failed> <retried>`` once every
client has tried (subscribed: answered ``ok``; refused: an ``error`` frame; failed: no
connection or no answer; retried: told at least once to come back later, ``overloaded``
with ``retry_after``, which it honours as the browser client does). Then it records, for
each ``event`` frame, its ``seq`` and latency (receive time - ``data["sent"]``). On the
stdin line ``STOP <first> <last>`` it prints one JSON line: the latencies (ms) of the
events with ``first <= seq <= last`` and how many of those each client missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

# Error codes after which a client tries its `sub` again, and how many times in all.
RETRIED_CODES = {"overloaded", "unavailable", "rate_limited"}
MAX_TRIES = 6


def raise_fd_limit() -> None:
    """Room for hundreds of sockets in one process."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Client:
    """One socket: subscribe, then record (seq, latency) of every event."""

    def __init__(self, url: str, headers: dict[str, str], topic: str) -> None:
        self.url = url
        self.headers = headers
        self.topic = topic
        self.ws: ClientConnection | None = None
        self.seqs: list[int] = []
        self.latencies: list[float] = []
        self.status = "failed"  # "subscribed" | "refused" | "failed"
        self.retried = False
        self.closed_early = False
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ws = await connect(
            self.url,
            additional_headers=self.headers,
            compression=None,
            proxy=None,
            open_timeout=60,
            ping_interval=None,
            max_queue=None,
        )
        for attempt in range(MAX_TRIES):
            ref = str(attempt + 1)
            await self.ws.send(json.dumps({"op": "sub", "ref": ref, "topic": self.topic}))
            frame = json.loads(await self.ws.recv())
            while frame.get("ref") != ref:
                frame = json.loads(await self.ws.recv())
            if frame.get("op") == "ok":
                self.status = "subscribed"
                break
            if frame.get("code") in RETRIED_CODES and attempt + 1 < MAX_TRIES:
                # As frontend/static/js/realtime.js does: the hint, doubled per try, jittered.
                self.retried = True
                delay = min(30.0, frame.get("retry_after", 1.0) * 2**attempt)
                await asyncio.sleep(delay + random.random() * delay)
                continue
            print(f"subscription refused: {frame}", file=sys.stderr)
            self.status = "refused"
            return
        self.task = asyncio.get_running_loop().create_task(self.listen())

    async def listen(self) -> None:
        assert self.ws is not None
        seqs, latencies, now, loads = self.seqs, self.latencies, time.time, json.loads
        try:
            async for raw in self.ws:
                received = now()
                frame = loads(raw)
                if frame.get("op") == "event":
                    data = frame["data"]
                    seqs.append(data["seq"])
                    latencies.append(received - data["sent"])
        except Exception:
            self.closed_early = True
        else:
            self.closed_early = True

    def results(self, first: int, last: int) -> tuple[list[float], int]:
        """Latencies (ms) of events in [first, last], and how many of those were missed."""
        seen: set[int] = set()
        kept: list[float] = []
        for seq, latency in zip(self.seqs, self.latencies, strict=True):
            if first <= seq <= last and seq not in seen:
                seen.add(seq)
                kept.append(round(latency * 1000, 3))
        return kept, (last - first + 1) - len(seen)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.ws is not None:
            await self.ws.close()


async def run(url: str, token: str | None, count: int, topic: str, concurrency: int) -> None:
    headers = {"Authorization": f"Token {token}"} if token else {}
    clients = [Client(url, headers, topic) for _ in range(count)]
    gate = asyncio.Semaphore(concurrency)

    async def open_one(client: Client) -> None:
        async with gate:
            try:
                await client.open()
            except Exception as exc:  # counted as failed: a storm may turn some away
                print(f"connection failed: {exc!r}", file=sys.stderr)

    await asyncio.gather(*(open_one(c) for c in clients))
    statuses = [c.status for c in clients]
    print(
        f"READY {statuses.count('subscribed')} {statuses.count('refused')} "
        f"{statuses.count('failed')} {sum(c.retried for c in clients)}",
        flush=True,
    )

    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    parts = line.split()
    if len(parts) != 3 or parts[0] != "STOP":
        raise SystemExit(f"unexpected command {line!r}")
    first, last = int(parts[1]), int(parts[2])
    latencies: list[float] = []
    missed = 0
    closed_early = 0
    for client in clients:
        kept, lost = client.results(first, last)
        latencies.extend(kept)
        missed += lost
        closed_early += client.closed_early
    result: dict[str, Any] = {
        "clients": count,
        "latencies_ms": latencies,
        "missed": missed,
        "closed_early": closed_early,
    }
    print(json.dumps(result), flush=True)
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token")
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--topic", default="bench.ticker.1")
    parser.add_argument("--concurrency", type=int, default=50, help="handshakes at a time")
    args = parser.parse_args()
    raise_fd_limit()
    asyncio.run(run(args.url, args.token, args.clients, args.topic, args.concurrency))


if __name__ == "__main__":
    main()
