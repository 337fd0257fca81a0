"""Coalesced live pushes of board changes: at most one ``board.changed`` per board every
``LEADERBOARD_PUSH_INTERVAL`` seconds (0.25 by default) per server process.

Why this shape: a busy board (a quiz at the end of a class) changes many times a second;
re-sending ranks on each award would flood every wall screen. The first change of a board
arms a timer; changes until it fires are merged; the flush publishes one event naming the
users whose scores moved, and the client re-requests the board (REST, or the page's own
fetch) — the event carries no ranks, so it never contradicts the store and needs no
database read off the request thread. With N server processes a board gets at most N
events per interval.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401  (its exit hook first: see the end of this file)
import logging
import threading
from collections.abc import Iterable, Mapping

from django.conf import settings

from hub import realtime
from hub.realtime import publishing
from leaderboards.selectors import board_topic

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_pending: dict[str, set[int]] = {}
_timers: dict[str, threading.Timer] = {}


# A push names the users whose scores moved up to this many; beyond, it says how many
# (``users`` null): at thousands of awards a second a named list ran to ~5,000 ids (25-46 KB)
# four times a second to every wall screen, which refetches the board anyway.
NAMED_LIMIT = 100


def changed_payload(key: str, users: Iterable[int]) -> dict[str, object]:
    """The ``board.changed`` data: the board, and who moved (or, for many, how many)."""
    moved = set(users)
    if len(moved) > NAMED_LIMIT:
        return {"key": key, "users": None, "moved": len(moved)}
    return {"key": key, "users": sorted(moved), "moved": len(moved)}


def interval() -> float:
    # 0 publishes each change at once (after commit). The test suite defaults to it so no
    # timer thread fires into a later test; tests of the coalescing set an interval.
    default = 0.0 if getattr(settings, "TESTING", False) else 0.25
    return float(getattr(settings, "LEADERBOARD_PUSH_INTERVAL", default))


def board_changed(key: str, user_id: int) -> None:
    """Note that ``user_id``'s score moved on board ``key``; publish soon, merged."""
    boards_changed({key: (user_id,)})


def boards_changed(changes: Mapping[str, Iterable[int]]) -> None:
    """Note many moves at once (a batch of awards): board key -> users whose score moved.

    One lock and one set update per board, however many awards the batch holds: at
    thousands of awards a second the per-award cost here is what decides whether the
    pushes keep up."""
    wait = interval()
    if wait <= 0:
        for key, users in changes.items():
            realtime.publish(board_topic(key), "board.changed", changed_payload(key, users))
        return
    to_arm = []
    with _lock:
        for key, users in changes.items():
            if key not in _pending:
                _pending[key] = set()
                to_arm.append(key)
            _pending[key].update(users)
    for key in to_arm:
        timer = threading.Timer(wait, flush, args=(key,))
        timer.daemon = True
        with _lock:
            _timers[key] = timer
        timer.start()


def flush(key: str) -> None:
    """Publish the merged change of one board (on its timer thread)."""
    with _lock:
        users = _pending.pop(key, None)
        _timers.pop(key, None)
    if not users:
        return
    topic = board_topic(key)
    text = publishing.event_frame(topic, "board.changed", changed_payload(key, users))
    # Straight to the layer: the changes were committed before they were noted, and
    # realtime.publish would ask the database whether this thread is in a transaction,
    # opening a connection on every timer thread (several a second per busy board).
    try:
        publishing.send_to_layer(topic, text, None)
    except Exception as exc:
        publishing.publish_failed(topic, exc)  # one warning per Redis outage


def flush_all() -> None:
    """Publish every pending board change now, and disarm the timers (a process exiting)."""
    with _lock:
        keys = list(_pending)
        timers = list(_timers.values())
        _timers.clear()
    for timer in timers:
        timer.cancel()
    for key in keys:
        flush(key)


# A short process (``seed_demo``, a sweep) that awards points exits with pushes pending: their
# timer then fired during interpreter shutdown, could not publish ("cannot schedule new
# futures after interpreter shutdown", an ERROR with a traceback at the end of seed_demo) and
# the change was lost. Flush them while the process can still publish: threading's exit
# hooks run before the thread pools refuse work (``atexit`` runs after, too late), in the
# reverse order of registration, so this one runs before concurrent.futures' own.
threading._register_atexit(flush_all)  # type: ignore[attr-defined]
