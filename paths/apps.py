from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PathsConfig(AppConfig):
    name = "paths"
    verbose_name = _("Learning paths")

    def ready(self) -> None:
        from hub import events
        from hub.models import Delivery
        from hub.notify import register_kind
        from paths import realtime, services  # noqa: F401

        register_kind("path_assigned", _("Learning path assigned"), Delivery.IN_APP_AND_EMAIL)
        register_kind("path_due", _("Learning path due soon or overdue"), Delivery.IN_APP_AND_EMAIL)
        # The due-date sweep's other kinds (paths/due.py).
        register_kind("enrolment_due", _("Course due soon or overdue"), Delivery.IN_APP_AND_EMAIL)
        register_kind("activity_due", _("Activity due soon or overdue"), Delivery.IN_APP_AND_EMAIL)
        events.subscribe("classrooms.activity_completed", services.on_activity_completed)
        # A completion taken back (a pass regraded to a fail): progress goes down.
        events.subscribe("classrooms.activity_uncompleted", services.on_activity_completed)
        events.subscribe("classrooms.course_completed", services.on_course_completed)
        events.subscribe("classrooms.activity_redone", services.on_activity_redone)
        from classrooms.selectors import REDO_SINCE
        from paths.selectors import open_cycle_start

        REDO_SINCE.append(
            lambda *, user, activity: open_cycle_start(user_id=user.pk, activity=activity)
        )
