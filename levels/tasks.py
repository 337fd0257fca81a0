"""Background jobs of levels: pushing the progress of a big batch of awards."""

from __future__ import annotations

from typing import Any

from django_tasks import task


@task()
def push_progress_job(awards: list[dict[str, Any]]) -> int:
    """``levels.services.progress_push`` outside the request that paid a big batch."""
    from levels.services import progress_push

    return progress_push(awards=awards)
