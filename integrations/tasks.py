"""Background jobs: the fan-out of a domain event and each webhook delivery try."""

from __future__ import annotations

from django_tasks import task


@task()
def event_fanout_job(name: str, refs: dict, space_id: int, occurred_at: str) -> int:
    from integrations.services import event_fanout

    return event_fanout(name=name, refs=refs, space_id=space_id, occurred_at=occurred_at)


@task()
def event_fanout_many_job(
    name: str, refs: dict, user_ids: list, space_id: int, occurred_at: str
) -> int:
    from integrations.services import event_fanout_many

    return event_fanout_many(
        name=name, refs=refs, user_ids=user_ids, space_id=space_id, occurred_at=occurred_at
    )


@task()
def webhook_deliver_job(delivery_id: int) -> str:
    from integrations.services import webhook_deliver

    return webhook_deliver(delivery_id=delivery_id)


@task()
def xapi_send_job(store_id: int) -> int:
    """Send the statements waiting for one learning record store."""
    from integrations.xapi import xapi_send

    return xapi_send(store_id=store_id)
