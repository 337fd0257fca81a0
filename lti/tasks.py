"""Background jobs: scores sent back to platforms (AGS) and rosters pulled (NRPS)."""

from __future__ import annotations

from django_tasks import task


@task()
def lti_outcome_job(
    user_id: int, kind: str, ident: int, score: float | None, completed: bool
) -> int:
    """Record the scores a completion or a quiz result owes to platforms, then send each."""
    from lti.services import outcome_record

    ids = outcome_record(user_id=user_id, kind=kind, ident=ident, score=score, completed=completed)
    for score_id in ids:
        lti_score_send_job.enqueue(score_id)
    return len(ids)


@task()
def lti_score_send_job(score_id: int) -> str:
    from lti.services import score_send

    return score_send(score_id=score_id)


@task()
def lti_roster_job(context_id: int) -> dict:
    from lti.services import roster_sync

    return roster_sync(context_id=context_id)
