"""Closing duel questions on time without a client.

``schedule(duel_id, at)`` (inside the service's transaction) arms, once it commits:

* a timer thread in this process that runs ``duel_refresh`` just after ``at`` (the usual
  path: the process that opened a question closes it on time), and
* a django-tasks job due ``BACKSTOP_GRACE`` after ``at``, the backstop when this process
  died before its timer fired (``duel_refresh`` is idempotent: a question closes once).

Reads and answers also close what is overdue, and ``manage.py duels_sweep`` sweeps.
Tests set ``DUEL_TIMERS = False`` and drive a fake clock instead of waiting.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from django.db import close_old_connections, connection, transaction

from leaderboards import clock

logger = logging.getLogger(__name__)

BACKSTOP_GRACE = dt.timedelta(seconds=2)
TIMER_SLACK = 0.05  # fire just after the deadline, not just before it
# A timer is a sleeping thread: only short deadlines (questions, the ready wait) get one;
# a challenge or a run lapsing in a day is left to its job and the sweep.
MAX_TIMER_SECONDS = 300

_armed: set[threading.Timer] = set()
_armed_lock = threading.Lock()


def schedule(duel_id: int, at: dt.datetime | None) -> None:
    if at is None:
        return
    transaction.on_commit(lambda: _arm(duel_id, at))


def _arm(duel_id: int, at: dt.datetime) -> None:
    from leaderboards.duel_selectors import duel_config

    delay = max(0.0, (at - clock.now()).total_seconds()) + TIMER_SLACK
    if duel_config().timers and delay <= MAX_TIMER_SECONDS:
        timer = threading.Timer(delay, lambda: _fire(duel_id, timer))
        timer.daemon = True
        with _armed_lock:
            _armed.add(timer)
        timer.start()
    _enqueue_backstop(duel_id, at + BACKSTOP_GRACE)


def _enqueue_backstop(duel_id: int, when: dt.datetime) -> None:
    from django_tasks import default_task_backend

    from leaderboards.tasks import duel_refresh_job

    if not default_task_backend.supports_defer:
        return  # the sweep still catches it
    try:
        duel_refresh_job.using(run_after=when).enqueue(duel_id)
    except Exception:
        logger.exception("could not enqueue the backstop of duel %s", duel_id)


def cancel_all() -> int:
    """Disarm every pending timer of this process (test teardown); returns how many."""
    with _armed_lock:
        timers = list(_armed)
        _armed.clear()
    for timer in timers:
        timer.cancel()
    return len(timers)


def _fire(duel_id: int, timer: threading.Timer) -> None:
    from leaderboards.duel_services import duel_refresh
    from leaderboards.models import Duel

    with _armed_lock:
        _armed.discard(timer)
    close_old_connections()
    try:
        duel_refresh(duel_id=duel_id)
    except Duel.DoesNotExist:
        pass
    except Exception:
        logger.exception("duel %s: timer refresh failed", duel_id)
    finally:
        connection.close()
