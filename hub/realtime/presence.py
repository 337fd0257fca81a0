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


class RedisPresence:
    def __init__(self, url: str, prefix: str, ttl: int) -> None:
        self.url = url
        self.prefix = prefix
        self.ttl = ttl
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}
        # (topic, member) pairs this process refreshes.
        self.local: set[tuple[str, str]] = set()
        self._refreshers: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}

    def _redis(self) -> Any:
        import redis.asyncio as aioredis

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = aioredis.Redis.from_url(self.url)
            self._refreshers[loop] = loop.create_task(self._refresh_forever())
        return client

    def _keys(self, topic: str) -> tuple[str, str]:
        return f"{self.prefix}:presence:{topic}", f"{self.prefix}:presence:{topic}:who"

    async def _live_user_ids(self, redis: Any, key: str) -> set[int]:
        members = await redis.zrangebyscore(key, time.time(), "+inf")
        return {int(m.split(b":", 1)[0]) for m in members}

    async def join(self, topic: str, user_id: int, conn_id: str, payload: dict[str, Any]) -> bool:
        redis = self._redis()
        key, who = self._keys(topic)
        before = await self._live_user_ids(redis, key)
        member = f"{user_id}:{conn_id}"
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {member: time.time() + self.ttl})
            pipe.hset(who, str(user_id), json.dumps(payload))
            pipe.expire(key, self.ttl * 2)
            pipe.expire(who, self.ttl * 2)
            await pipe.execute()
        self.local.add((topic, member))
        return user_id not in before

    async def leave(self, topic: str, user_id: int, conn_id: str) -> bool:
        redis = self._redis()
        key, who = self._keys(topic)
        member = f"{user_id}:{conn_id}"
        self.local.discard((topic, member))
        await redis.zrem(key, member)
        await redis.zremrangebyscore(key, "-inf", time.time())
        if user_id in await self._live_user_ids(redis, key):
            return False
        await redis.hdel(who, str(user_id))
        return True

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


def _build() -> MemoryPresence | RedisPresence:
    conf = settings.LYCEUM_REALTIME
    if settings.REDIS_URL:
        prefix = settings.CHANNEL_LAYERS["default"]["CONFIG"].get("prefix", "lyceum")
        return RedisPresence(settings.REDIS_URL, prefix, conf["PRESENCE_TTL"])
    return MemoryPresence()


_store: MemoryPresence | RedisPresence | None = None


def store() -> MemoryPresence | RedisPresence:
    global _store
    if _store is None:
        _store = _build()
    return _store
