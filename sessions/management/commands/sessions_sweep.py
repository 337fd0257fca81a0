"""Queue the sessions sweep (cron every 15 minutes: ``manage.py sessions_sweep``)."""

from django.core.management.base import BaseCommand

from sessions.tasks import sweep


class Command(BaseCommand):
    help = (
        "Queue the sweep of expired seat offers, due session reminders and sessions that "
        "have ended (marked completed)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--now", action="store_true", help="Run the sweep here instead of queueing it."
        )

    def handle(self, *args, **options) -> None:
        if options["now"]:
            from sessions import services

            self.stdout.write(f"Swept: {services.sweep()}")
            return
        result = sweep.enqueue()
        self.stdout.write(f"Queued sessions sweep job {result.id}.")
