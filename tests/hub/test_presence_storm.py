"""Presence in Redis under a connect storm (services mode).

At 9:00, or when every socket comes back after a deploy, hundreds of sockets join and
leave presence at once. With redis-py's default pool (100 connections, then
``MaxConnectionsError``) and two round trips per join, a storm of 250 made most `sub`
requests answer `internal`. Joins now take one round trip and wait for a pooled connection.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from django.conf import settings

from hub.realtime.presence import RedisPresence

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (services mode)")

STORM = 1_000


@pytest.fixture
async def store():
    prefix = f"storm-{uuid.uuid4().hex[:8]}"
    presence = RedisPresence(settings.REDIS_URL, prefix, ttl=60)
    yield presence
    redis = presence._redis()
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)
    for task in presence._refreshers.values():
        task.cancel()
    await redis.aclose()


async def test_a_thousand_joins_at_once_all_succeed(store: RedisPresence) -> None:
    topic = "messaging.conversation.1"
    # Ten sockets per person: the first of each person is the one "first" join.
    firsts = await asyncio.gather(
        *(
            store.join(topic, n // 10, f"c{n}", {"id": n // 10, "name": f"P{n // 10}"})
            for n in range(STORM)
        )
    )
    assert sum(firsts) == STORM // 10
    assert [p["id"] for p in await store.present(topic)] == list(range(STORM // 10))

    lasts = await asyncio.gather(*(store.leave(topic, n // 10, f"c{n}") for n in range(STORM)))
    assert sum(lasts) == STORM // 10
    assert await store.present(topic) == []


async def test_leaving_keeps_a_person_connected_elsewhere(store: RedisPresence) -> None:
    topic = "classrooms.liveclass.7"
    assert await store.join(topic, 7, "a", {"id": 7}) is True
    assert await store.join(topic, 7, "b", {"id": 7}) is False
    # User 70's member "70:x" must not count as user 7's connection.
    await store.join(topic, 70, "x", {"id": 70})
    assert await store.leave(topic, 7, "a") is False
    assert [p["id"] for p in await store.present(topic)] == [7, 70]
    assert await store.leave(topic, 7, "b") is True
    assert [p["id"] for p in await store.present(topic)] == [70]


async def test_a_crowded_topic_lists_everyone_once_in_id_order(store: RedisPresence) -> None:
    topic = "hub.space.1"
    people = 2_500  # more than one slice of the read script
    await asyncio.gather(
        *(store.join(topic, n, c, {"id": n}) for n in range(people, 0, -1) for c in ("a", "b"))
    )
    assert [p["id"] for p in await store.present(topic)] == list(range(1, people + 1))


async def test_sync_callers_read_presence_on_one_client_of_their_own(
    store: RedisPresence,
) -> None:
    """The job worker asks who is present from sync code, once per notification run. It
    used to go through ``async_to_sync``: a new event loop per call, and with it a new
    client, pool and refresher task kept in the per-loop dicts. ``present_now`` answers
    what ``present`` answers, on one sync client whatever the number of calls."""
    from asgiref.sync import sync_to_async

    topic = "messaging.conversation.9"
    await store.join(topic, 9, "a", {"id": 9, "name": "Nine"})
    await store.join(topic, 3, "b", {"id": 3, "name": "Three"})
    loops_before = len(store._clients)
    for _ in range(5):
        present = await sync_to_async(store.present_now, thread_sensitive=False)(topic)
        assert present == await store.present(topic)
    assert [p["id"] for p in present] == [3, 9]
    assert len(store._clients) == loops_before  # no client per call
    await store.leave(topic, 3, "b")
    assert await sync_to_async(store.present_now)(topic) == [{"id": 9, "name": "Nine"}]
    store._sync[0].close()
