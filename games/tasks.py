"""Background jobs of live games: the backstop that closes a question on time when the
process whose timer should have done it died."""

from __future__ import annotations

import contextlib

from django_tasks import task


@task()
def game_refresh_job(game_id: int) -> None:
    from games.models import Game
    from games.services import game_refresh

    with contextlib.suppress(Game.DoesNotExist):
        game_refresh(game_id=game_id)


@task()
def game_complete_quiz_job(game_id: int) -> None:
    """A quiz's game finished: complete the quiz for the players who passed it."""
    from games.models import Game
    from games.services import game_complete_quiz

    with contextlib.suppress(Game.DoesNotExist):
        game_complete_quiz(game_id=game_id)
