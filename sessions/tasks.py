"""Background jobs of sessions: notices, reminders, offer expiry, completion, and the sweep.

Every job is idempotent (a job that runs twice sends once: ``NoticeSent`` rows; an offer
expires once: its status is checked under the session's row lock).
"""

from __future__ import annotations

from django_tasks import task

from sessions import services


@task()
def send_notices(registration_ids: list[int], kind: str) -> int:
    """One notice of ``kind`` to each registration's learner (those still true, once)."""
    return sum(services.notice_send(registration_id=pk, kind=kind) for pk in registration_ids)


@task()
def send_reminders(session_id: int) -> int:
    """The reminder ``reminder_hours`` before the start (scheduled for that time)."""
    return services.reminders_send(session_id=session_id)


@task()
def expire_offer(registration_id: int) -> bool:
    """Pass an unanswered seat offer to the next in line (scheduled for its expiry)."""
    return services.offer_expire(registration_id=registration_id)


@task()
def complete_session(session_id: int) -> bool:
    """Mark the session completed (scheduled for its last part's end)."""
    return services.session_complete(session_id=session_id)


@task()
def sweep() -> dict[str, int]:
    """Expired offers, due 'offer expiring' notices, reminders and completions that no job
    handled."""
    return services.sweep()


@task()
def release_reservation(reservation_id: int) -> bool:
    """Give a reservation's seats not named back to the pool (scheduled for its deadline)."""
    return services.reservation_expire(reservation_id=reservation_id)
