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

import threading

from django.conf import settings

from hub import realtime
from leaderboards.selectors import board_topic

_lock = threading.Lock()
_pending: dict[str, set[int]] = {}


def interval() -> float:
    # 0 publishes each change at once (after commit). The test suite defaults to it so no
    # timer thread fires into a later test; tests of the coalescing set an interval.
    default = 0.0 if getattr(settings, "TESTING", False) else 0.25
    return float(getattr(settings, "LEADERBOARD_PUSH_INTERVAL", default))


def board_changed(key: str, user_id: int) -> None:
    """Note that ``user_id``'s score moved on board ``key``; publish soon, merged."""
    wait = interval()
    if wait <= 0:
        realtime.publish(board_topic(key), "board.changed", {"key": key, "users": [user_id]})
        return
    with _lock:
        armed = key in _pending
        _pending.setdefault(key, set()).add(user_id)
    if not armed:
        timer = threading.Timer(wait, flush, args=(key,))
        timer.daemon = True
        timer.start()


def flush(key: str) -> None:
    with _lock:
        users = _pending.pop(key, None)
    if users:
        # Outside any transaction here, so publish sends at once.
        realtime.publish(board_topic(key), "board.changed", {"key": key, "users": sorted(users)})
