"""Queue the recordings' retention job (cron daily: ``manage.py recordings_expire``)."""

from django.core.management.base import BaseCommand

from classrooms.tasks import expire_recordings


class Command(BaseCommand):
    help = "Queue the deletion of class recordings older than LYCEUM_RECORDING_RETENTION_DAYS."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--now", action="store_true", help="Delete here instead of queueing.")

    def handle(self, *args, **options) -> None:
        if options["now"]:
            from classrooms import services

            self.stdout.write(f"Deleted {services.recordings_expire()} recordings.")
            return
        result = expire_recordings.enqueue()
        self.stdout.write(f"Queued the recordings' retention job {result.id}.")
