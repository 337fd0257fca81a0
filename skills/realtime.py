"""``skills.team.<id>``: a team's members' skill levels changing, for its manager (and
admins); ``skills.space.<id>``: anyone's in the space, for its coordinators and admins.
Ephemeral ``skill.changed`` events, ``{"cells": [{"user", "skill", "evidenced", "self",
"manager"}, ...]}``; a person's own changes come as ``skills.changed`` on ``hub.user.<id>``.
A matrix that reconnects reloads its rows (the page's script refetches on reopen)."""

from __future__ import annotations

from typing import Any

from classrooms.selectors import can_watch_team_topic
from hub import realtime
from hub.params import parse_id
from skills.selectors import can_manage


@realtime.topic("skills.team")
class TeamSkillsTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        team_id = parse_id(key)
        return team_id is not None and can_watch_team_topic(user=user, team_id=team_id)


@realtime.topic("skills.space")
class SpaceSkillsTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        space_id = parse_id(key)
        return space_id is not None and can_manage(user=user, space_id=space_id)
