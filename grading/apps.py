from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradingConfig(AppConfig):
    name = "grading"
    verbose_name = _("Grading")

    def ready(self) -> None:
        from grading import realtime, services  # noqa: F401
        from hub import events
        from hub.models import Delivery
        from hub.notify import register_kind

        register_kind("graded", _("Assignment graded"), Delivery.IN_APP_AND_EMAIL)
        events.subscribe("classrooms.submitted", services.on_submitted)
