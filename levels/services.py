"""Writes of levels: a learner's display choice; a space's level names and thresholds."""

from __future__ import annotations

import itertools
from datetime import datetime, time
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub import realtime
from hub.accounts.models import Space, User
from leaderboards.models import PointAward
from leaderboards.selectors import person_zone
from levels import selectors
from levels.models import Level, ProgressDisplay

# A batch of awards for more people than this is pushed from a background job, not from
# the request that paid them (the end of a 500-player game).
INLINE_PUSHES = 20


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


# -- pushed live -----------------------------------------------------------------------------
def on_points_awarded(*, awards: list[dict[str, Any]], **_extra: Any) -> None:
    """``leaderboards.points_awarded``: push the new level or streak of whoever changed."""
    if len(awards) > INLINE_PUSHES:
        from levels.tasks import push_progress_job

        transaction.on_commit(lambda: push_progress_job.enqueue(awards))
        return
    progress_push(awards=awards)


def progress_push(*, awards: list[dict[str, Any]]) -> int:
    """For each ``{"user", "space", "amount", "count"}`` (new awards of a person in a space):
    if the points crossed a level, or these awards are the first of the person's day (in
    their time zone: the streak grew), publish their progress. Returns how many were pushed.

    The person hears it on ``hub.user.<id>`` (``levels.progress``, everything); whoever looks
    at their profile on ``levels.person.<id>`` (``progress.updated``, only what they show).
    """
    pushed = 0
    levels_by_space: dict[int, list[selectors.LevelRow]] = {}
    people = User.objects.in_bulk({a["user"] for a in awards})
    for award in awards:
        person = people.get(award["user"])
        if person is None or not person.is_active:
            continue
        space_id = award["space"]
        if space_id not in levels_by_space:
            levels_by_space[space_id] = selectors.levels_of(space_id=space_id)
        levels = levels_by_space[space_id]
        points = selectors.points_in(user=person, space_id=space_id)
        before = selectors.level_payload(points=points - award["amount"], levels=levels)
        after = selectors.level_payload(points=points, levels=levels)
        zone = person_zone(user=person, space_id=space_id)
        day_start = datetime.combine(timezone.now().astimezone(zone).date(), time.min, zone)
        today = PointAward.objects.filter(
            user=person, space_id=space_id, created_at__gte=day_start
        ).count()
        changed = []
        if before["number"] != after["number"]:
            changed.append("level")
        if 0 < today <= award["count"]:  # nothing earlier today: the day joins the streak
            changed.append("streak")
        if not changed:
            continue
        mine = selectors.progress_payload(viewer=person, person=person, space_id=space_id)
        realtime.publish(person.topic, "levels.progress", {**mine, "changed": changed})
        public = selectors.public_progress_payload(person=person, space_id=space_id)
        if public["level"] is not None or public["streak"] is not None:
            realtime.publish(
                f"levels.person.{person.pk}", "progress.updated", {**public, "changed": changed}
            )
        pushed += 1
    return pushed
