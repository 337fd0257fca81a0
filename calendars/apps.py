from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CalendarsConfig(AppConfig):
    name = "calendars"
    verbose_name = _("Calendars")

    def ready(self) -> None:
        from calendars import services
        from hub import events

        events.subscribe("sessions.seat_confirmed", services.on_seat_confirmed)
        events.subscribe("sessions.rescheduled", services.on_rescheduled)
        events.subscribe("sessions.registration_cancelled", services.on_registration_cancelled)
