"""``paths.team.<id>``: the path progress of one team's members, for its manager (and
admins). Ephemeral events: ``path.progress`` and ``path.overdue`` (an assignment's payload:
``{"id", "path", "user", "progress", "completed", "due_at", "overdue"}``). A learner's own
progress comes as ``paths.progress`` on ``hub.user.<id>``. The due sweep (paths/due.py)
also sends ``enrolment.overdue`` and ``activity.overdue`` (a due item's payload: ``{"kind",
"id", "user", "name", "title", "context", "due_at", "overdue", "late", "progress", ...}``).
"""

from __future__ import annotations

from typing import Any

from classrooms.selectors import can_watch_team_topic
from hub import realtime
from hub.params import parse_id


@realtime.topic("paths.team")
class TeamPathsTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        team_id = parse_id(key)
        return team_id is not None and can_watch_team_topic(user=user, team_id=team_id)
