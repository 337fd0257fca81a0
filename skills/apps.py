from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SkillsConfig(AppConfig):
    name = "skills"
    verbose_name = _("Skills")

    def ready(self) -> None:
        from hub import events
        from skills import realtime, services  # noqa: F401

        # Completing, attending or earning what a skill is linked to evidences it.
        events.subscribe("classrooms.course_completed", services.on_course_completed)
        events.subscribe("classrooms.activity_completed", services.on_activity_completed)
        events.subscribe("sessions.attended", services.on_session_attended)
        events.subscribe("leaderboards.badge_earned", services.on_badge_earned)
