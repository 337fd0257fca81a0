"""Cards that other apps' pages include: the coordinator's conflicts card (home page)."""

from __future__ import annotations

from typing import Any

from django import template

from hub.accounts.selectors import spaces_of
from sessions import selectors

register = template.Library()


@register.inclusion_tag("sessions/_conflicts_card.html", takes_context=True)
def conflicts_card(context: dict[str, Any]) -> dict[str, Any]:
    """How many conflicts the spaces one coordinates have, kept current over /ws/ by
    ``sessions/conflicts_card.js`` from each ``sessions.conflicts.<space>`` topic."""
    user = context["request"].user
    spaces = [s for s in spaces_of(user=user) if selectors.can_schedule_in(user=user, space=s)]
    counts = {s.pk: selectors.conflicts_count(space_ids=[s.pk]) for s in spaces}
    return {"spaces": spaces, "count": sum(counts.values()), "counts": counts}
