"""One delayed job per key across processes (hub/coalesce.py): what each ask costs."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError

from hub import coalesce
from hub.coalesce import CoalescedJob


class CountingCache:
    """The cache, counting the round trips made to it."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def add(self, key, *args, **kwargs):
        self.asked.append("add")
        return cache.add(key, *args, **kwargs)

    def get(self, key, *args, **kwargs):
        self.asked.append("get")
        return cache.get(key, *args, **kwargs)


@pytest.fixture
def counted(monkeypatch) -> CountingCache:
    counting = CountingCache()
    monkeypatch.setattr(coalesce, "cache", counting)
    return counting


@pytest.fixture
def key():
    name = f"tests:coalesce:{time.monotonic_ns()}"
    yield name
    cache.delete(name)


def test_the_first_ask_queues_and_the_next_ones_cost_no_round_trip(counted, key) -> None:
    jobs, queued = CoalescedJob("tests"), []
    for _ in range(5):
        jobs.ask(1, key, delay=30, enqueue=lambda: queued.append(1))
    assert queued == [1]
    assert counted.asked == ["add"]
    assert cache.get(key) == pytest.approx(time.time() + 30, abs=5)  # when it is due


def test_another_processes_job_is_read_once_then_trusted_until_it_is_due(counted, key) -> None:
    cache.set(key, time.time() + 20, timeout=60)  # queued by another process, due in 20 s
    jobs, queued = CoalescedJob("tests"), []
    for _ in range(4):
        assert not jobs.ask(1, key, delay=30, enqueue=lambda: queued.append(1))
    assert queued == []
    assert counted.asked == ["add", "get"]


def test_a_job_due_within_the_margin_is_no_reason_to_skip_the_cache(counted, key) -> None:
    cache.set(key, time.time() + 1, timeout=60)  # may start any moment
    jobs = CoalescedJob("tests")
    for _ in range(2):
        jobs.ask(1, key, delay=30, enqueue=lambda: None)
    assert counted.asked == ["add", "get", "add", "get"]


def test_once_the_job_started_the_next_ask_queues_the_next_one(key) -> None:
    jobs, queued = CoalescedJob("tests"), []
    jobs.ask(1, key, delay=0, enqueue=lambda: queued.append(1))
    cache.delete(key)  # what the job does as it starts
    jobs.ask(1, key, delay=0, enqueue=lambda: queued.append(2))
    assert queued == [1, 2]


def test_with_the_cache_down_the_job_is_queued_anyway(monkeypatch, key) -> None:
    class DownCache:
        def add(self, *args, **kwargs):
            raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(coalesce, "cache", DownCache())
    queued: list[int] = []
    assert CoalescedJob("tests").ask(1, key, delay=30, enqueue=lambda: queued.append(1))
    assert queued == [1]


def test_the_memory_forgets_keys_whose_job_has_started(key) -> None:
    jobs = CoalescedJob("tests")
    long_ago = time.monotonic() - 1
    jobs.waiting_until.update({-n: long_ago for n in range(1, coalesce.MAX_REMEMBERED + 2)})
    jobs.ask(1, key, delay=30, enqueue=lambda: None)
    assert set(jobs.waiting_until) == {1}
