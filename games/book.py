"""The answer book of live quiz games: where an open question's answers are recorded,
counted once and tallied, before they are written to the database in batches.

500 players answering within the same second made 500 database transactions (a share lock
on the game's row, an insert, a commit), each waiting for a database thread: the queue,
not the database, set the acknowledgement time (docs/PERFORMANCE.md, *Live quiz games*).
Here an answer is one atomic operation on the book and no database work at all:

* services mode (``REDIS_URL``): one Lua script per answer (one round trip, pipelined with
  the other sockets' answers): refuse if the question is closed, past its deadline or the
  player answered already (``HSETNX`` semantics), else store the answer, queue the player
  for the next batch and add it to the tally (``HINCRBY`` per option). Every daphne
  process shares it; it outlives the process that acknowledged the answer.
* embedded mode: the same in this process's memory, under a lock (one process serves
  every socket there).

Closing a question is also one atomic operation on the book: it is marked closed (no answer
gets in after) and every answer it holds is returned, to be written with one
``INSERT ... ON CONFLICT DO NOTHING`` (idempotent: the unique constraint on player and
question). In between, ``take_pending`` hands the flusher the answers recorded since its
last batch (see ``games.timers``).

A question the book does not know (``UNKNOWN``: Redis restarted, or the process that
opened it had not committed yet) is opened from the database by ``services.game_answer``,
with the answers already written, so they stay counted once.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings

OK = "ok"
CONFLICT = "conflict"  # this player answered this question already
CLOSED = "closed"  # the question was closed
LATE = "late"  # past the question's deadline
UNKNOWN = "unknown"  # the book has no state for this question: ask the database
FLOOD = "flood"  # too many attempts by this player on this question

# Answer attempts of one player on one question before they are refused as a flood (the
# socket's own token bucket limits all its frames; this one holds across sockets).
MAX_ATTEMPTS = 10
# How long the book keeps a question (Redis keys expire): well past any game's question.
TTL_SECONDS = 6 * 3600
# Players handed to one batch at most (one INSERT each).
BATCH = 1000

Record = tuple[Any, int]  # (the cleaned answer, when it was received, epoch ms)


def options_of(answer: Any) -> list[str]:
    """The tally's keys an answer counts in (each picked choice, or the number)."""
    return [str(v) for v in (answer if isinstance(answer, list) else [answer])]


@dataclass
class Tally:
    answered: int
    counts: dict[str, int]


# -- embedded mode ---------------------------------------------------------------------------
@dataclass
class _Question:
    deadline_ms: int
    closed: bool = False
    answers: dict[int, Record] = field(default_factory=dict)
    pending: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)


class MemoryBook:
    """The book in this process (embedded mode: the only process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._questions: dict[tuple[int, int], _Question] = {}

    def open(
        self, game_id: int, index: int, *, deadline_ms: int, known: dict[int, Record] | None = None
    ) -> None:
        """Start recording question ``index`` (once: a question already known is kept).
        ``known``: answers already in the database (counted, not written again)."""
        with self._lock:
            if (game_id, index) in self._questions:
                return
            q = self._questions[(game_id, index)] = _Question(deadline_ms=deadline_ms)
            for player_id, record in (known or {}).items():
                q.answers[player_id] = record
                for option in options_of(record[0]):
                    q.counts[option] = q.counts.get(option, 0) + 1

    def record(self, game_id: int, index: int, player_id: int, answer: Any, at_ms: int) -> str:
        with self._lock:
            q = self._questions.get((game_id, index))
            if q is None:
                return UNKNOWN
            tries = q.attempts[player_id] = q.attempts.get(player_id, 0) + 1
            if tries > MAX_ATTEMPTS:
                return FLOOD
            if player_id in q.answers:
                return CONFLICT
            if q.closed:
                return CLOSED
            if at_ms > q.deadline_ms:
                return LATE
            q.answers[player_id] = (answer, at_ms)
            q.pending.append(player_id)
            for option in options_of(answer):
                q.counts[option] = q.counts.get(option, 0) + 1
            return OK

    async def arecord(
        self, game_id: int, index: int, player_id: int, answer: Any, at_ms: int
    ) -> str:
        return self.record(game_id, index, player_id, answer, at_ms)

    def take_pending(self, game_id: int, index: int) -> dict[int, Record]:
        with self._lock:
            q = self._questions.get((game_id, index))
            if q is None or not q.pending:
                return {}
            taken, q.pending = q.pending, []
            return {p: q.answers[p] for p in taken}

    def close(self, game_id: int, index: int, *, deadline_ms: int) -> dict[int, Record]:
        with self._lock:
            q = self._questions.setdefault((game_id, index), _Question(deadline_ms=deadline_ms))
            q.closed = True
            q.pending = []
            return dict(q.answers)

    def tally(self, game_id: int, index: int) -> Tally | None:
        with self._lock:
            q = self._questions.get((game_id, index))
            if q is None:
                return None
            return Tally(answered=len(q.answers), counts=dict(q.counts))

    def answer_of(self, game_id: int, index: int, player_id: int) -> Record | None:
        with self._lock:
            q = self._questions.get((game_id, index))
            return None if q is None else q.answers.get(player_id)

    def forget(self, game_id: int) -> None:
        """The game is over: its questions leave memory (the database has every answer)."""
        with self._lock:
            for key in [k for k in self._questions if k[0] == game_id]:
                del self._questions[key]

    def reset(self) -> None:
        with self._lock:
            self._questions.clear()


# -- services mode ---------------------------------------------------------------------------
# KEYS: state (hash: deadline, closed), answers (hash player -> [answer, at_ms]), tally
# (hash option -> count, "n" -> answered), pending (list of players), attempts (hash).
# ARGV: player, record, at_ms, max attempts, ttl, then the answer's options.
_RECORD = """
local st = redis.call('HMGET', KEYS[1], 'deadline', 'closed')
if not st[1] then return 'unknown' end
local tries = redis.call('HINCRBY', KEYS[5], ARGV[1], 1)
if tries == 1 then redis.call('EXPIRE', KEYS[5], ARGV[5]) end
if tries > tonumber(ARGV[4]) then return 'flood' end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'conflict' end
if st[2] == '1' then return 'closed' end
if tonumber(ARGV[3]) > tonumber(st[1]) then return 'late' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[4], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'n', 1)
for i = 6, #ARGV do redis.call('HINCRBY', KEYS[3], ARGV[i], 1) end
for i = 2, 4 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
return 'ok'
"""
# KEYS: state, answers, tally. ARGV: deadline, ttl, n known answers, then n (player,
# record) pairs, then (option, count) pairs of their tally. Nothing if already known.
_OPEN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'deadline', ARGV[1], 'closed', '0')
local n = tonumber(ARGV[3])
local i = 4
for _ = 1, n do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2 end
if n > 0 then redis.call('HSET', KEYS[3], 'n', n) end
while i <= #ARGV do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]); i = i + 2 end
for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ARGV[2]) end
return 1
"""
# KEYS: state, answers, pending. ARGV: deadline (if unknown), ttl. Every answer held.
_CLOSE = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('HSET', KEYS[1], 'deadline', ARGV[1]) end
redis.call('HSET', KEYS[1], 'closed', '1')
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[3])
return redis.call('HGETALL', KEYS[2])
"""
# KEYS: pending, answers. ARGV: how many. The players taken and their records.
_TAKE = """
local ids = redis.call('LPOP', KEYS[1], ARGV[1])
if not ids then return {} end
return {ids, redis.call('HMGET', KEYS[2], unpack(ids))}
"""


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisBook:
    """The book in Redis, shared by every process of the deployment."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(url)
        self._record, self._open, self._close, self._take = (
            self.client.register_script(s) for s in (_RECORD, _OPEN, _CLOSE, _TAKE)
        )
        self._async: dict[asyncio.AbstractEventLoop, tuple[Any, Any]] = {}

    def _keys(self, game_id: int, index: int) -> dict[str, str]:
        base = f"{self.prefix}:{game_id}:{index}"
        return {k: f"{base}:{k}" for k in ("state", "answers", "tally", "pending", "attempts")}

    def _record_call(
        self, game_id: int, index: int, player_id: int, answer: Any, at_ms: int
    ) -> tuple[list[str], list[Any]]:
        k = self._keys(game_id, index)
        keys = [k["state"], k["answers"], k["tally"], k["pending"], k["attempts"]]
        record = json.dumps([answer, at_ms])
        args = [player_id, record, at_ms, MAX_ATTEMPTS, TTL_SECONDS, *options_of(answer)]
        return keys, args

    def open(
        self, game_id: int, index: int, *, deadline_ms: int, known: dict[int, Record] | None = None
    ) -> None:
        k = self._keys(game_id, index)
        known = known or {}
        counts: dict[str, int] = {}
        args: list[Any] = [deadline_ms, TTL_SECONDS, len(known)]
        for player_id, record in known.items():
            args += [player_id, json.dumps(list(record))]
            for option in options_of(record[0]):
                counts[option] = counts.get(option, 0) + 1
        for option, n in counts.items():
            args += [option, n]
        self._open(keys=[k["state"], k["answers"], k["tally"]], args=args)

    def record(self, game_id: int, index: int, player_id: int, answer: Any, at_ms: int) -> str:
        keys, args = self._record_call(game_id, index, player_id, answer, at_ms)
        return _decode(self._record(keys=keys, args=args))

    async def arecord(
        self, game_id: int, index: int, player_id: int, answer: Any, at_ms: int
    ) -> str:
        """The socket's path: the script joins the answers of the other sockets in one
        pipeline (``hub.realtime.presence._ScriptBatch``: a burst is a few round trips)."""
        batch, script = self._async_client()
        keys, args = self._record_call(game_id, index, player_id, answer, at_ms)
        return _decode(await batch.call(script, keys, args))

    def _async_client(self) -> tuple[Any, Any]:
        import redis.asyncio as aioredis

        from hub.realtime.presence import _ScriptBatch

        loop = asyncio.get_running_loop()
        found = self._async.get(loop)
        if found is None:
            pool = aioredis.BlockingConnectionPool.from_url(self.url, max_connections=20)
            client = aioredis.Redis(connection_pool=pool)
            found = self._async[loop] = (_ScriptBatch(client), client.register_script(_RECORD))
        return found

    @staticmethod
    def _records(ids: list[Any], values: list[Any]) -> dict[int, Record]:
        out: dict[int, Record] = {}
        for player, value in zip(ids, values, strict=True):
            if value is not None:
                answer, at_ms = json.loads(value)
                out[int(player)] = (answer, int(at_ms))
        return out

    def take_pending(self, game_id: int, index: int) -> dict[int, Record]:
        k = self._keys(game_id, index)
        taken: dict[int, Record] = {}
        while True:
            found = self._take(keys=[k["pending"], k["answers"]], args=[BATCH])
            if not found:
                return taken
            ids, values = found
            taken.update(self._records(ids, values))
            if len(ids) < BATCH:
                return taken

    def close(self, game_id: int, index: int, *, deadline_ms: int) -> dict[int, Record]:
        k = self._keys(game_id, index)
        flat = self._close(
            keys=[k["state"], k["answers"], k["pending"]], args=[deadline_ms, TTL_SECONDS]
        )
        return self._records(flat[0::2], flat[1::2])

    def tally(self, game_id: int, index: int) -> Tally | None:
        k = self._keys(game_id, index)
        with self.client.pipeline(transaction=False) as pipe:
            pipe.exists(k["state"])
            pipe.hgetall(k["tally"])
            known, raw = pipe.execute()
        if not known:
            return None
        counts = {_decode(key): int(v) for key, v in raw.items()}
        return Tally(answered=counts.pop("n", 0), counts=counts)

    def answer_of(self, game_id: int, index: int, player_id: int) -> Record | None:
        value = self.client.hget(self._keys(game_id, index)["answers"], player_id)
        if value is None:
            return None
        answer, at_ms = json.loads(value)
        return answer, int(at_ms)

    def forget(self, game_id: int) -> None:
        """Nothing to do: the keys expire (a repeat after the end is still a conflict)."""

    def reset(self) -> None:
        """Tests: forget every question (their game ids come back with a new database)."""
        keys = list(self.client.scan_iter(match=f"{self.prefix}:*", count=1000))
        if keys:
            self.client.delete(*keys)


@lru_cache(maxsize=1)
def _book(redis_url: str, prefix: str) -> MemoryBook | RedisBook:
    return RedisBook(redis_url, prefix) if redis_url else MemoryBook()


def book() -> MemoryBook | RedisBook:
    """This deployment's book: Redis with ``REDIS_URL``, else this process's memory."""
    from leaderboards.ranks import base_prefix

    url = getattr(settings, "REDIS_URL", "") or ""
    return _book(url, f"{base_prefix()}:games" if url else "")
