"""Levels from points (named per space) and a learner's choice to show them (data only).

Points stay in the leaderboards ledger; a level is read from them, a streak from the days
with points. Nothing here is written when points are paid."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Space


class Level(models.Model):
    """Level ``number`` of a space: reached at ``points`` in the space, called ``name``."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="levels")
    number = models.PositiveSmallIntegerField(_("level"))
    name = models.CharField(_("name"), max_length=60)
    points = models.PositiveIntegerField(_("points needed"))

    class Meta:
        verbose_name = _("level")
        verbose_name_plural = _("levels")
        ordering = ["space_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["space", "number"], name="levels_number_once"),
        ]

    def __str__(self) -> str:
        return f"{self.space}: {self.number} {self.name} ({self.points})"


class ProgressDisplay(models.Model):
    """What others see of a learner's level and streak (the learner always sees both)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="progress_display",
    )
    show_level = models.BooleanField(_("show my level to others"), default=True)
    show_streak = models.BooleanField(_("show my streak to others"), default=True)

    class Meta:
        verbose_name = _("level and streak display")
        verbose_name_plural = _("level and streak displays")

    def __str__(self) -> str:
        return f"{self.user}: level {self.show_level}, streak {self.show_streak}"
