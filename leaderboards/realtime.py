"""``leaderboards.board.<key>``: ephemeral ``board.changed`` events, coalesced
(leaderboards/push.py); the client refetches the board. Members of the board's space
(course's space, team) may listen."""

from __future__ import annotations

from typing import Any

from hub import realtime
from leaderboards.selectors import can_view_board


@realtime.topic("leaderboards.board")
class BoardTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        try:
            return can_view_board(user=user, key=key)
        except ValueError:
            return False
