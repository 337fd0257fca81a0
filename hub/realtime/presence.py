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
import time
from collections import defaultdict
from typing import Any

from django.conf import settings


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
        users = self.connections.get(topic, {})
        return [self.payloads[topic][uid] for uid in sorted(users)]


# Forget one connection and, when it was the user's last live one on the topic, what others
# see of the user: atomically, so a join on another process in between is never undone.
# KEYS: the topic's sorted set, its hash; ARGV: member, now, user id. Returns 1 when last.
_LEAVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local prefix = ARGV[3] .. ':'
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[2], '+inf')) do
  if string.sub(member, 1, #prefix) == prefix then return 0 end
end
redis.call('HDEL', KEYS[2], ARGV[3])
return 1
"""


class RedisPresence:
    """Presence in Redis, one round trip per join or leave.

    A connect storm (a company opening the page at 9:00, every socket coming back after a
    deploy) makes hundreds of joins at once: they share a bounded pool and wait for a
    connection (up to ``wait`` seconds) instead of failing because it is momentarily full.
    """

    def __init__(
        self, url: str, prefix: str, ttl: int, *, pool_size: int = 50, wait: float = 10.0
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.ttl = ttl
        self.pool_size = pool_size
        self.wait = wait
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}
        self._leave_scripts: dict[asyncio.AbstractEventLoop, Any] = {}
        # (topic, member) pairs this process refreshes.
        self.local: set[tuple[str, str]] = set()
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
            self._leave_scripts[loop] = client.register_script(_LEAVE)
            self._refreshers[loop] = loop.create_task(self._refresh_forever())
        return client

    def _keys(self, topic: str) -> tuple[str, str]:
        return f"{self.prefix}:presence:{topic}", f"{self.prefix}:presence:{topic}:who"

    async def _live_user_ids(self, redis: Any, key: str) -> set[int]:
        return _user_ids(await redis.zrangebyscore(key, time.time(), "+inf"))

    async def join(self, topic: str, user_id: int, conn_id: str, payload: dict[str, Any]) -> bool:
        redis = self._redis()
        key, who = self._keys(topic)
        member = f"{user_id}:{conn_id}"
        now = time.time()
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zrangebyscore(key, now, "+inf")
            pipe.zadd(key, {member: now + self.ttl})
            pipe.hset(who, str(user_id), json.dumps(payload))
            pipe.expire(key, self.ttl * 2)
            pipe.expire(who, self.ttl * 2)
            before, *_ = await pipe.execute()
        self.local.add((topic, member))
        return user_id not in _user_ids(before)

    async def leave(self, topic: str, user_id: int, conn_id: str) -> bool:
        self._redis()
        key, who = self._keys(topic)
        member = f"{user_id}:{conn_id}"
        self.local.discard((topic, member))
        script = self._leave_scripts[asyncio.get_running_loop()]
        return bool(await script(keys=[key, who], args=[member, time.time(), str(user_id)]))

    async def present(self, topic: str) -> list[dict[str, Any]]:
        redis = self._redis()
        key, who = self._keys(topic)
        user_ids = sorted(await self._live_user_ids(redis, key))
        if not user_ids:
            return []
        payloads = await redis.hmget(who, [str(uid) for uid in user_ids])
        return [json.loads(p) for p in payloads if p is not None]

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            if not self.local:
                continue
            redis = self._redis()
            expiry = time.time() + self.ttl
            async with redis.pipeline(transaction=False) as pipe:
                for topic, member in list(self.local):
                    key, who = self._keys(topic)
                    pipe.zadd(key, {member: expiry})
                    pipe.expire(key, self.ttl * 2)
                    pipe.expire(who, self.ttl * 2)
                await pipe.execute()


def _user_ids(members: list[bytes]) -> set[int]:
    return {int(m.split(b":", 1)[0]) for m in members}


def _build() -> MemoryPresence | RedisPresence:
    conf = settings.LYCEUM_REALTIME
    if settings.REDIS_URL:
        prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "lyceum")
        return RedisPresence(
            settings.REDIS_URL,
            prefix,
            conf["PRESENCE_TTL"],
            pool_size=conf.get("PRESENCE_POOL", 50),
            wait=conf.get("PRESENCE_WAIT", 10.0),
        )
    return MemoryPresence()


_store: MemoryPresence | RedisPresence | None = None


def store() -> MemoryPresence | RedisPresence:
    global _store
    if _store is None:
        _store = _build()
    return _store
