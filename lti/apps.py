from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LtiConfig(AppConfig):
    """Lyceum as an LTI 1.3 / LTI Advantage tool launched from another LMS (issue 18)."""

    name = "lti"
    verbose_name = _("LTI tool")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hub import events
        from lti import handlers

        # Grade passback: scores and completions of people who came through LTI.
        events.subscribe("classrooms.activity_completed", handlers.on_activity_completed)
        events.subscribe("classrooms.quiz_submitted", handlers.on_quiz_submitted)
        events.subscribe("classrooms.course_completed", handlers.on_course_completed)

        from django.db.models.signals import post_delete, post_save

        from lti.models import Platform

        # Who may frame the LTI pages follows the registered platforms (lti/framing.py).
        post_save.connect(handlers.forget_frame_origins, sender=Platform)
        post_delete.connect(handlers.forget_frame_origins, sender=Platform)
