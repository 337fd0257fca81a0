"""Send due reminders and overdue notices of learning paths, course enrolments and
activities (cron daily or hourly: ``manage.py paths_sweep``; paths/due.py)."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Remind people of learning paths, courses and activities due soon "
        "(LYCEUM_DUE_REMINDER_DAYS); notify overdue ones and their managers."
    )

    def handle(self, *args, **options) -> None:
        from paths import due

        self.stdout.write(f"Swept: {due.sweep()}")
