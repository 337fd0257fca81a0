"""Clock-driven work of live games without a client, in the process that armed it:

* ``schedule(game_id, at)``: after commit, a timer thread runs ``game_refresh`` just after a
  question's deadline (closes it on time), and a django-tasks job due a little later is
  the backstop when this process died (``game_refresh`` is idempotent);
* ``answers_changed(game_id)``: the host's answer distribution, coalesced: the first answer
  arms one flush ``flush_seconds`` later that reads the counts once and publishes them
  (500 answers in a second make a handful of events, not 500); the flush also closes the
  question once everyone has answered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable

from django.db import close_old_connections, connection, transaction

from leaderboards import clock

logger = logging.getLogger(__name__)

BACKSTOP_GRACE = dt.timedelta(seconds=2)
TIMER_SLACK = 0.05
MAX_TIMER_SECONDS = 600

_armed: set[threading.Timer] = set()
_pending_flush: set[int] = set()
_lock = threading.Lock()


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
    """After an answer committed: flush the distribution soon (once per window)."""
    from games.selectors import game_config

    conf = game_config()
    with _lock:
        if game_id in _pending_flush:
            return
        _pending_flush.add(game_id)

    def flush() -> None:
        with _lock:
            _pending_flush.discard(game_id)
        from games.services import game_flush

        game_flush(game_id=game_id)

    if conf.timers:
        _start(conf.flush_seconds, flush)
    else:
        flush()  # tests: at once, in the caller's thread


def cancel_all() -> int:
    with _lock:
        timers = list(_armed)
        _armed.clear()
        _pending_flush.clear()
    for timer in timers:
        timer.cancel()
    return len(timers)
