from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnnouncementsConfig(AppConfig):
    name = "hub.announcements"
    label = "announcements"
    verbose_name = _("Announcements")

    def ready(self) -> None:
        from hub.announcements import realtime  # noqa: F401
