"""Topics of the hub: a person's own feed, and a space's announcements."""

from __future__ import annotations

from typing import Any

from notifications.models import Notification

from hub import notify, realtime


@realtime.topic("hub.user")
class UserTopic(realtime.Topic):
    """``hub.user.<id>``: notifications and personal events; only that user may listen."""

    def authorize(self, user: Any, key: str) -> bool:
        return str(user.pk) == key

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        rows = Notification.objects.filter(recipient_id=user.pk, id__gt=since).order_by("id")[
            :limit
        ]
        return [
            realtime.Event("notification.created", notify.notification_payload(n), id=n.id)
            for n in rows
        ]
