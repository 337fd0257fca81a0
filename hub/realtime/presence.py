"""Who is connected to a topic.

Embedded mode keeps it in this process. Services mode keeps it in Redis so that every
daphne process sees the same list: per topic a sorted set of ``<user>:<connection>``
members scored by their expiry time, refreshed by each process for its own sockets, plus a
hash of what others see of each user. A process that dies stops refreshing and its
entries expire after ``PRESENCE_TTL`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from typing import Any

from django.conf import settings

from hub.outages import is_outage, warn_once

logger = logging.getLogger(__name__)


class MemoryPresence:
    def __init__(self) -> None:
        self.connections: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
        self.payloads: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)

    async def join(self, topic: str, user_id: int, conn_id: str, payload: dict[str, Any]) -> bool:
        """Record a connection; True when it is the user's first on this topic."""
        conns = self.connections[topic][user_id]
        first = not conns
        conns.add(conn_id)
        self.payloads[topic][user_id] = payload
        return first

    async def leave(self, topic: str, user_id: int, conn_id: str) -> bool:
        """Forget a connection; True when the user has no connection left on this topic."""
        users = self.connections.get(topic)
        if users is None or user_id not in users:
            return False
        users[user_id].discard(conn_id)
        if users[user_id]:
            return False
        del users[user_id]
        self.payloads[topic].pop(user_id, None)
        if not users:
            del self.connections[topic]
            self.payloads.pop(topic, None)
        return True

    async def present(self, topic: str) -> list[dict[str, Any]]:
        return self.present_now(topic)

    def present_now(self, topic: str) -> list[dict[str, Any]]:
        """``present`` for sync code (this process's sockets only, as ``present``); from
        another thread a user may leave meanwhile, so a missing payload is skipped."""
        users = self.connections.get(topic, {})
        payloads = self.payloads.get(topic, {})
        return [p for uid in sorted(users) if (p := payloads.get(uid)) is not None]


# Both scripts are atomic, so a join or leave on another process in between is never undone.
# KEYS: the topic's sorted set, its hash. ARGV[1] member ("<user>:<connection>"), ARGV[2]
# now, ARGV[3] user id; join adds ARGV[4] expiry, ARGV[5] payload, ARGV[6] key TTL.
_USER_LIVE = """
local function user_live(key, now, user)
  local prefix = user .. ':'
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, now, '+inf')) do
    if string.sub(member, 1, #prefix) == prefix then return true end
  end
  return false
end
"""
# Returns 1 when this is the user's first live connection on the topic.
_JOIN = (
    _USER_LIVE
    + """
local first = not user_live(KEYS[1], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
if first then return 1 end
return 0
"""
)
# Returns 1 when that was the user's last live connection (what others see of them goes).
_LEAVE = (
    _USER_LIVE
    + """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if user_live(KEYS[1], ARGV[2], ARGV[3]) then return 0 end
redis.call('HDEL', KEYS[2], ARGV[3])
return 1
"""
)
# What others see of each user live on the topic, in user id order.
_PRESENT = """
local ids, seen = {}, {}
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')) do
  local id = string.match(member, '^(%d+):')
  if id and not seen[id] then seen[id] = true; table.insert(ids, tonumber(id)) end
end
if #ids == 0 then return {} end
table.sort(ids)
local payloads = {}
for i = 1, #ids, 1000 do  -- unpack() has a stack limit: read in slices
  local slice = redis.call('HMGET', KEYS[2], unpack(ids, i, math.min(i + 999, #ids)))
  for _, payload in ipairs(slice) do
    if payload then table.insert(payloads, payload) end
  end
end
return payloads
"""
# Presence calls sent in one pipeline at most (a storm's first batch is the largest).
BATCH = 500


class _ScriptBatch:
    """Script calls of many sockets sent to Redis together, one pipeline per batch.

    A connect storm (a company opening the page at 9:00, every socket coming back after a
    deploy) makes hundreds of joins at once. Each alone took a pooled connection and a round
    trip, and past the pool's size they failed (redis-py's ``MaxConnectionsError``). Here
    the calls that arrive while a batch is in flight wait for the next one: a storm takes a
    few round trips on one connection.
    """

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.pending: list[tuple[Any, list[str], list[Any], asyncio.Future]] = []
        self.flushing = False
        self._task: asyncio.Task | None = None  # held: the loop keeps only a weak reference

    async def call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        future = asyncio.get_running_loop().create_future()
        self.pending.append((script, keys, args, future))
        if not self.flushing:
            self.flushing = True
            self._task = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending[:BATCH], self.pending[BATCH:]
                try:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for script, keys, args, _ in batch:
                            await script(keys=keys, args=args, client=pipe)  # queued only
                        results = await pipe.execute(raise_on_error=False)
                except Exception as exc:  # Redis down or unreachable: every caller hears it
                    results = [exc] * len(batch)
                if len(results) != len(batch):
                    results = [RuntimeError("presence: pipeline answered short")] * len(batch)
                for (*_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self.flushing = False


class RedisPresence:
    """Presence in Redis: joins, leaves and reads are atomic scripts batched into
    pipelines, over a bounded pool whose callers wait (up to ``wait`` seconds) for a free
    connection."""

    def __init__(
        self, url: str, prefix: str, ttl: int, *, pool_size: int = 20, wait: float = 10.0
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.ttl = ttl
        self.pool_size = pool_size
        self.wait = wait
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}
        self._batches: dict[asyncio.AbstractEventLoop, _ScriptBatch] = {}
        self._scripts: dict[asyncio.AbstractEventLoop, tuple[Any, ...]] = {}
        # (topic, member) pairs this process refreshes.
        self.local: set[tuple[str, str]] = set()
        # Sync callers (the job worker's notification runs): one client for the process.
        self._sync: tuple[Any, Any] | None = None
        self._refreshers: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}

    def _redis(self) -> Any:
        import redis.asyncio as aioredis

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            pool = aioredis.BlockingConnectionPool.from_url(
                self.url, max_connections=self.pool_size, timeout=self.wait
            )
            client = self._clients[loop] = aioredis.Redis(connection_pool=pool)
            self._batches[loop] = _ScriptBatch(client)
            self._scripts[loop] = tuple(
                client.register_script(script) for script in (_JOIN, _LEAVE, _PRESENT)
            )
            self._refreshers[loop] = loop.create_task(self._refresh_forever())
        return client

    def _keys(self, topic: str) -> tuple[str, str]:
        return f"{self.prefix}:presence:{topic}", f"{self.prefix}:presence:{topic}:who"

    async def _run(self, which: int, keys: list[str], args: list[Any]) -> Any:
        self._redis()
        loop = asyncio.get_running_loop()
        return await self._batches[loop].call(self._scripts[loop][which], keys, args)

    async def join(self, topic: str, user_id: int, conn_id: str, payload: dict[str, Any]) -> bool:
        key, who = self._keys(topic)
        member = f"{user_id}:{conn_id}"
        now = time.time()
        args = [member, now, user_id, now + self.ttl, json.dumps(payload), self.ttl * 2]
        first = await self._run(0, [key, who], args)
        self.local.add((topic, member))
        return bool(first)

    async def leave(self, topic: str, user_id: int, conn_id: str) -> bool:
        key, who = self._keys(topic)
        member = f"{user_id}:{conn_id}"
        self.local.discard((topic, member))
        return bool(await self._run(1, [key, who], [member, time.time(), user_id]))

    async def present(self, topic: str) -> list[dict[str, Any]]:
        key, who = self._keys(topic)
        payloads = await self._run(2, [key, who], [time.time()])
        return [json.loads(p) for p in payloads]

    def present_now(self, topic: str) -> list[dict[str, Any]]:
        """``present`` for sync code, on a sync client of its own.

        Through ``async_to_sync`` each call ran on a new event loop, so each built a client,
        a connection pool, its scripts and a refresher task for that loop (kept in the
        per-loop dicts after the loop was gone): several milliseconds of CPU per
        notification job in the worker, and memory that grew with every job.
        """
        if self._sync is None:
            import redis

            client = redis.Redis.from_url(self.url)
            self._sync = (client, client.register_script(_PRESENT))
        _client, script = self._sync
        key, who = self._keys(topic)
        return [json.loads(p) for p in script(keys=[key, who], args=[time.time()])]

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            if not self.local:
                continue
            try:
                await self._refresh()
            except Exception as exc:
                # Redis is down: try again next round (this task must outlive the outage,
                # or every entry of this process expires once Redis is back).
                if not is_outage(exc):
                    logger.exception("presence refresh failed")
                else:
                    warn_once("presence", "presence (Redis) is unreachable: %s", exc)

    async def _refresh(self) -> None:
        redis = self._redis()
        expiry = time.time() + self.ttl
        async with redis.pipeline(transaction=False) as pipe:
            for topic, member in list(self.local):
                key, who = self._keys(topic)
                pipe.zadd(key, {member: expiry})
                pipe.expire(key, self.ttl * 2)
                pipe.expire(who, self.ttl * 2)
            await pipe.execute()


def _build() -> MemoryPresence | RedisPresence:
    conf = settings.LYCEUM_REALTIME
    if settings.REDIS_URL:
        prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "lyceum")
        return RedisPresence(
            settings.REDIS_URL,
            prefix,
            conf["PRESENCE_TTL"],
            pool_size=conf.get("PRESENCE_POOL", 20),
            wait=conf.get("PRESENCE_WAIT", 10.0),
        )
    return MemoryPresence()


_store: MemoryPresence | RedisPresence | None = None


def store() -> MemoryPresence | RedisPresence:
    global _store
    if _store is None:
        _store = _build()
    return _store
