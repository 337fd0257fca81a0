"""Reads of levels and streaks: a person's level in a space (from their points), their
current streak of active days (days with points), and what a viewer may see of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leaderboards.models import PointAward

# One streak for the whole product: the home page and the levels read the same days.
from leaderboards.selectors import can_manage_gamification, current_streak
from levels.models import Level, ProgressDisplay

# A space without levels of its own uses these (points needed, name).
DEFAULT_LEVELS: tuple[tuple[int, Any], ...] = (
    (0, gettext_lazy("Newcomer")),
    (100, gettext_lazy("Explorer")),
    (300, gettext_lazy("Contributor")),
    (700, gettext_lazy("Regular")),
    (1500, gettext_lazy("Expert")),
    (3000, gettext_lazy("Mentor")),
    (6000, gettext_lazy("Master")),
)


@dataclass(frozen=True)
class LevelRow:
    number: int
    name: str
    points: int


def levels_of(*, space_id: int) -> list[LevelRow]:
    rows = [
        LevelRow(lv.number, lv.name, lv.points)
        for lv in Level.objects.filter(space_id=space_id).order_by("points", "number")
    ]
    if rows:
        return rows
    return [LevelRow(i + 1, str(name), pts) for i, (pts, name) in enumerate(DEFAULT_LEVELS)]


def points_in(*, user: Any, space_id: int) -> int:
    total = PointAward.objects.filter(user=user, space_id=space_id).aggregate(s=Sum("amount"))
    return int(total["s"] or 0)


def level_payload(*, points: int, levels: list[LevelRow]) -> dict[str, Any]:
    current = levels[0]
    following = None
    for i, row in enumerate(levels):
        if points >= row.points:
            current = row
            following = levels[i + 1] if i + 1 < len(levels) else None
    progress = 100
    if following is not None:
        span = max(1, following.points - current.points)
        progress = max(0, min(100, round(100 * (points - current.points) / span)))
    return {
        "number": current.number,
        "name": current.name,
        "points": points,
        "next": (
            {"number": following.number, "name": following.name, "points": following.points}
            if following
            else None
        ),
        "progress": progress,
    }


def display_of(*, user: Any) -> ProgressDisplay:
    found = ProgressDisplay.objects.filter(user_id=user.pk).first()
    return found or ProgressDisplay(user_id=user.pk)


def progress_payload(*, viewer: Any, person: Any, space_id: int) -> dict[str, Any]:
    """``person``'s level and streak as ``viewer`` may see them: the person always sees
    both (with the flags saying what others see); others only what is shown."""
    display = display_of(user=person)
    me = viewer.pk == person.pk
    data: dict[str, Any] = {
        "user": person.pk,
        "space": space_id,
        "show_level": display.show_level,
        "show_streak": display.show_streak,
        "level": None,
        "streak": None,
    }
    if me or display.show_level:
        data["level"] = level_payload(
            points=points_in(user=person, space_id=space_id), levels=levels_of(space_id=space_id)
        )
    if me or display.show_streak:
        data["streak"] = current_streak(user=person, space_id=space_id)
    return data


def public_progress_payload(*, person: Any, space_id: int) -> dict[str, Any]:
    """What anyone but ``person`` may see of their level and streak."""
    return progress_payload(viewer=_Someone(), person=person, space_id=space_id)


class _Someone:
    """A viewer who is not the person (``pk`` matches nobody)."""

    pk = None


def can_edit_levels(*, user: Any, space_id: int) -> bool:
    return can_manage_gamification(user=user, space_id=space_id)


def streak_label(days: int) -> str:
    from django.utils.translation import ngettext

    return ngettext("%(n)s day in a row", "%(n)s days in a row", days) % {"n": days}


def level_label(level: dict[str, Any]) -> str:
    return _("Level %(number)s · %(name)s") % level
