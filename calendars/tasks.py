"""Background jobs of calendars."""

from __future__ import annotations

from django_tasks import task

from calendars import services


@task()
def send_invitation(registration_id: int) -> bool:
    """The calendar invitation of a confirmed seat (see ``services.invitation_send``)."""
    return services.invitation_send(registration_id=registration_id)
