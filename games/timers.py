"""Clock-driven work of live games without a client, in the process that armed it:

* ``schedule(game_id, at)``: after commit, a timer thread runs ``game_refresh`` just after a
  question's deadline (closes it on time), and a django-tasks job due a little later is
  the backstop when this process died (``game_refresh`` is idempotent);
* ``answers_changed(game_id)``: the host's answer distribution and the answers' batch
  write, coalesced: the first answer after a flush marks the game, and the process's one
  flusher thread, ``flush_seconds`` later, writes the answers recorded since (one
  ``INSERT``), publishes the tally once and closes the question once everyone answered.
  500 answers in a second make a handful of events and inserts, not 500; the thread keeps
  its database connection (no thread or connection per flush).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections, connection, transaction

from leaderboards import clock

logger = logging.getLogger(__name__)

BACKSTOP_GRACE = dt.timedelta(seconds=2)
TIMER_SLACK = 0.05
MAX_TIMER_SECONDS = 600

_armed: set[threading.Timer] = set()
_lock = threading.Lock()
# Games with answers not flushed yet, and when the first of them was recorded.
_pending_flush: dict[int, float] = {}
_wake = threading.Condition(_lock)
_flusher: threading.Thread | None = None


def _start(delay: float, fn: Callable[[], None]) -> None:
    timer: threading.Timer

    def run() -> None:
        with _lock:
            _armed.discard(timer)
        close_old_connections()
        try:
            fn()
        except Exception:
            logger.exception("games timer failed")
        finally:
            connection.close()

    timer = threading.Timer(delay, run)
    timer.daemon = True
    with _lock:
        _armed.add(timer)
    timer.start()


def schedule(game_id: int, at: dt.datetime | None) -> None:
    if at is None:
        return
    transaction.on_commit(lambda: _arm(game_id, at))


def _arm(game_id: int, at: dt.datetime) -> None:
    from games.selectors import game_config

    delay = max(0.0, (at - clock.now()).total_seconds()) + TIMER_SLACK
    if game_config().timers and delay <= MAX_TIMER_SECONDS:
        _start(delay, lambda: _refresh(game_id))
    _enqueue_backstop(game_id, at + BACKSTOP_GRACE)


def _refresh(game_id: int) -> None:
    from games.models import Game
    from games.services import game_refresh

    with contextlib.suppress(Game.DoesNotExist):
        game_refresh(game_id=game_id)


def _enqueue_backstop(game_id: int, when: dt.datetime) -> None:
    from django_tasks import default_task_backend

    from games.tasks import game_refresh_job

    if not default_task_backend.supports_defer:
        return
    try:
        game_refresh_job.using(run_after=when).enqueue(game_id)
    except Exception:
        logger.exception("could not enqueue the backstop of game %s", game_id)


def answers_changed(game_id: int) -> None:
    """An answer was recorded in the book: flush the game soon (once per window). Cheap
    and non-blocking (the sockets' event loop calls it), unless timers are off (tests):
    then the flush runs at once in the caller's thread."""
    from games.selectors import game_config

    if not game_config().timers:
        _flush(game_id)
        return
    global _flusher
    with _lock:
        if game_id in _pending_flush:
            return
        _pending_flush[game_id] = time.monotonic()
        if _flusher is None or not _flusher.is_alive():
            _flusher = threading.Thread(target=_flush_forever, name="games-flusher", daemon=True)
            _flusher.start()
        _wake.notify()


def _flush(game_id: int) -> None:
    from games.services import game_flush

    game_flush(game_id=game_id)


def _flush_forever() -> None:
    from games.selectors import game_config

    while True:
        with _lock:
            while not _pending_flush:
                _wake.wait()
            window = game_config().flush_seconds
            first = min(_pending_flush.values())
            delay = first + window - time.monotonic()
            if delay > 0:
                _wake.wait(delay)
                continue
            due = [g for g, at in _pending_flush.items() if at + window <= time.monotonic()]
            for game_id in due:
                del _pending_flush[game_id]  # answers from now on mark it again
        close_old_connections()
        for game_id in due:
            try:
                _flush(game_id)
            except Exception:
                logger.exception("games flush failed for game %s", game_id)


def cancel_all() -> int:
    with _lock:
        timers = list(_armed)
        _armed.clear()
        _pending_flush.clear()
    for timer in timers:
        timer.cancel()
    return len(timers)
