"""``hub.space.<id>``: live news of a space (announcements), for its members."""

from __future__ import annotations

from typing import Any

from hub import realtime
from hub.accounts.selectors import is_space_member
from hub.announcements.selectors import announcement_payload, space_announcements_after
from hub.params import parse_id


@realtime.topic("hub.space")
class SpaceTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        space_id = parse_id(key)
        return space_id is not None and is_space_member(user=user, space=space_id)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return [
            realtime.Event("announcement.created", announcement_payload(a), id=a.pk)
            for a in space_announcements_after(space_id=int(key), after_id=since, limit=limit)
        ]
