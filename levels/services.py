"""Writes of levels: a learner's display choice; a space's level names and thresholds."""

from __future__ import annotations

import itertools
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from hub.accounts.models import Space
from levels import selectors
from levels.models import Level, ProgressDisplay


@transaction.atomic
def display_set(
    *, user: Any, show_level: bool | None = None, show_streak: bool | None = None
) -> ProgressDisplay:
    """Show or hide one's level and streak from others (one's own view keeps both)."""
    display, _created = ProgressDisplay.objects.select_for_update().get_or_create(user=user)
    if show_level is not None:
        display.show_level = show_level
    if show_streak is not None:
        display.show_streak = show_streak
    display.save()
    return display


@transaction.atomic
def levels_set(*, actor: Any, space: Space, levels: list[dict[str, Any]]) -> list[Level]:
    """Replace a space's levels: ``[{"name", "points"}, ...]``, the first at 0 points,
    points increasing. An empty list returns the space to the default levels."""
    if not selectors.can_edit_levels(user=actor, space_id=space.pk):
        raise PermissionDenied(_("Only the space's trainers and coordinators set its levels."))
    points = [int(row["points"]) for row in levels]
    if levels and (points[0] != 0 or any(b <= a for a, b in itertools.pairwise(points))):
        raise ValidationError(
            {"levels": _("The first level starts at 0 points and each next one needs more.")}
        )
    Level.objects.filter(space=space).delete()
    return Level.objects.bulk_create(
        [
            Level(space=space, number=i + 1, name=row["name"].strip(), points=row["points"])
            for i, row in enumerate(levels)
        ]
    )
