from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClassroomsConfig(AppConfig):
    name = "classrooms"
    verbose_name = _("Classrooms")

    def ready(self) -> None:
        from classrooms import realtime, selectors  # noqa: F401
        from hub import files

        files.register("classrooms/covers", selectors.cover_file_name)
        files.register("classrooms/media", selectors.media_file_name)
        files.register("classrooms/submissions", selectors.submission_file_name)
        files.register("liveclass-recordings", selectors.recording_file_name)
        from hub.models import Delivery
        from hub.notify import register_kind

        # The learner and their managers are told (classrooms.services._course_completed).
        register_kind(
            "course_completed",
            _("Course completed"),
            Delivery.IN_APP_AND_EMAIL,
            roles=["learner", "manager"],
        )
        register_kind(
            "liveclass_started",
            _("Live class starting"),
            Delivery.IN_APP,
            roles=["learner", "trainer"],
        )
