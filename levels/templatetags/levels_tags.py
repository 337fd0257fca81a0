"""``{% progress_chips person %}``: a person's level and streak as the viewer may see them
(the home page's learner panel, the profile)."""

from __future__ import annotations

from typing import Any

from django import template

from hub.accounts.selectors import spaces_of
from levels import selectors

register = template.Library()


@register.inclusion_tag("levels/_chips.html", takes_context=True)
def progress_chips(context: dict[str, Any], person: Any = None) -> dict[str, Any]:
    request = context.get("request")
    viewer = getattr(request, "user", None)
    person = person or viewer
    space = spaces_of(user=person).first() if person is not None else None
    if viewer is None or space is None:
        return {"progress": None}
    progress = selectors.progress_payload(viewer=viewer, person=person, space_id=space.pk)
    return {
        "progress": progress,
        "is_me": viewer.pk == person.pk,
        "level_text": selectors.level_label(progress["level"]) if progress["level"] else "",
        "streak_text": (
            selectors.streak_label(progress["streak"]) if progress["streak"] is not None else ""
        ),
    }
