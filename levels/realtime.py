"""``levels.person.<user id>``: a person's level and streak as others see them
(``progress.updated``, ephemeral: a page that missed one shows the state of its load, and
refetches after a reconnect). Whoever may see the profile may listen; the person hears
their own (everything, hidden or not) on ``hub.user.<id>`` as ``levels.progress``."""

from __future__ import annotations

from typing import Any

from hub import realtime
from hub.accounts.models import User
from hub.accounts.selectors import can_see_profile
from hub.params import parse_id


@realtime.topic("levels.person")
class PersonProgressTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        person_id = parse_id(key)
        if person_id is None:
            return False
        person = User.objects.filter(pk=person_id, is_active=True).first()
        return person is not None and can_see_profile(viewer=user, person=person)
