"""Background jobs of duels: the backstop of each question's deadline, and the sweep."""

from __future__ import annotations

import contextlib

from django_tasks import task


@task()
def duel_refresh_job(duel_id: int) -> None:
    """Close what is overdue in one duel (due just after a deadline; idempotent)."""
    from leaderboards.duel_services import duel_refresh
    from leaderboards.models import Duel

    with contextlib.suppress(Duel.DoesNotExist):
        duel_refresh(duel_id=duel_id)


@task()
def duels_sweep_job() -> int:
    """Every overdue duel: lapsed challenges, lapsed runs (forfeit), late questions."""
    from leaderboards.duel_services import duels_sweep

    return duels_sweep()
