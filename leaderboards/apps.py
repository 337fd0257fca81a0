from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeaderboardsConfig(AppConfig):
    name = "leaderboards"
    verbose_name = _("Leaderboards")

    def ready(self) -> None:
        from hub import events
        from hub.notify import register_kind
        from leaderboards import realtime, services  # noqa: F401

        register_kind("leaderboards.badge", _("Badges I earn"))
        events.subscribe("classrooms.activity_completed", services.on_activity_completed)
        events.subscribe("classrooms.course_completed", services.on_course_completed)
