from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LevelsConfig(AppConfig):
    name = "levels"
    verbose_name = _("Levels and streaks")

    def ready(self) -> None:
        from hub import events
        from levels import realtime  # noqa: F401  (registers the topic)
        from levels.services import on_points_awarded

        events.subscribe("leaderboards.points_awarded", on_points_awarded)
