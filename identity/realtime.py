"""``identity.import.<job id>``: the live progress of a CSV import (ephemeral
``import.progress`` events, then ``import.finished``). Only the person who started it."""

from __future__ import annotations

from typing import Any

from hub import realtime
from hub.params import parse_id
from hub.realtime.publishing import event_frame, send_to_layer
from identity.models import ImportJob


@realtime.topic("identity.import")
class ImportTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        job_id = parse_id(key)
        return bool(
            job_id
            and getattr(user, "is_authenticated", False)
            and ImportJob.objects.filter(pk=job_id, created_by=user).exists()
        )


def send_now(topic: str, type: str, data: dict[str, Any]) -> None:
    """An ephemeral event sent at once, inside the import's transaction (publish() would
    wait for the commit, and the bar would jump from 0 to 100)."""
    send_to_layer(topic, event_frame(topic, type, data), None)
