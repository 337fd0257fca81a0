"""Send path due reminders and overdue notices (cron daily or hourly: ``manage.py paths_sweep``)."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Remind people of learning paths due within a week; notify overdue ones and their managers."
    )

    def handle(self, *args, **options) -> None:
        from paths import services

        self.stdout.write(f"Swept: {services.sweep()}")
