"""Background jobs of calendars: the invitations (each idempotent: see ``services``)."""

from __future__ import annotations

from django_tasks import task

from calendars import services


@task()
def send_invitation(registration_id: int) -> bool:
    """The calendar invitation of a confirmed seat (see ``services.invitation_send``)."""
    return services.invitation_send(registration_id=registration_id)


@task()
def send_updates(session_id: int, changes: list[str]) -> int:
    """The updated invitations after a session, a part or an occurrence moved."""
    return services.updates_send(session_id=session_id, changes=changes)


@task()
def send_cancellation(registration_id: int) -> bool:
    """The cancellation of an invitation whose seat is gone."""
    return services.cancellation_send(registration_id=registration_id)
