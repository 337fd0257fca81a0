from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingSessionsConfig(AppConfig):
    name = "sessions"
    # "sessions" is django.contrib.sessions' label.
    label = "training_sessions"
    verbose_name = _("Scheduled sessions")

    def ready(self) -> None:
        from hub.models import Delivery
        from hub.notify import register_kind
        from sessions import realtime  # noqa: F401

        register_kind("session_registration", _("Session registrations"), Delivery.IN_APP_AND_EMAIL)
        register_kind(
            "session_promoted",
            _("Promoted from a waiting list"),
            Delivery.IN_APP_AND_EMAIL,
            roles=["learner"],
        )
        register_kind("session_cancelled", _("Session cancelled"), Delivery.IN_APP_AND_EMAIL)
        register_kind(
            "session_approval",
            _("Session approval requests"),
            Delivery.IN_APP,
            roles=["manager", "coordinator"],
        )
        register_kind("session_reminder", _("Session reminders"), Delivery.IN_APP_AND_EMAIL)
        # In the app only by default: the updated invitation is e-mailed by calendars/.
        register_kind("session_changed", _("Session moved"), Delivery.IN_APP)
        register_kind(
            "session_feedback", _("Feedback requests"), Delivery.IN_APP_AND_EMAIL, roles=["learner"]
        )
