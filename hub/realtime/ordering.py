"""Durable events of one topic must commit in id order.

A client resumes with ``since=<last id seen>``: if two transactions took ids 10 and 11 and
11 committed first, a client could see 11, disconnect, and never be replayed 10. A service
that creates a durable event's row first calls ``hold_topic_order(topic)`` inside its
transaction: on PostgreSQL a transaction-scoped advisory lock per topic makes the writers
of one topic take turns from id assignment to commit. SQLite already runs one writer at a
time (IMMEDIATE transactions), so there it does nothing. After the commits, ``publish``
keeps the same order on the way to the layer (``publishing.CommitOrder``).

A hot path may take the same lock inside its own INSERT statement (one round trip less
while the topic is held): ``topic_lock_key(topic)`` gives the two arguments of
``pg_advisory_xact_lock``.
"""

from __future__ import annotations

import zlib

from django.db import connection

LOCK_CLASS = 0x4C59


def topic_lock_key(topic: str) -> tuple[int, int]:
    """The ``(class, key)`` pair of ``pg_advisory_xact_lock`` that orders ``topic``."""
    return LOCK_CLASS, zlib.crc32(topic.encode()) - 2**31


def hold_topic_order(*topics: str) -> None:
    if connection.vendor != "postgresql" or not topics:
        return
    # Sorted, so two transactions locking the same topics cannot deadlock.
    keys = sorted({topic_lock_key(t)[1] for t in topics})
    with connection.cursor() as cursor:
        if len(keys) == 1:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, keys[0]])
            return
        # Many topics (a batch of notices): one statement, taking the locks in key order.
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, k))"
            " FROM (SELECT unnest(%s::integer[]) AS k ORDER BY 1) AS keys",
            [LOCK_CLASS, keys],
        )
