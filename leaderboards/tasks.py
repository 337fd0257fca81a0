"""Background jobs: the backstop of each duel question's deadline, the duel sweep, and a
new badge handed to whoever already meets it."""

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


@task()
def badge_catch_up_job(badge_id: int) -> int:
    """A new or changed automatic badge, to everyone who already meets it (idempotent)."""
    from leaderboards.services import badge_catch_up

    return badge_catch_up(badge_id=badge_id)
