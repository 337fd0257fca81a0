"""Queue the daily forum digest (run it from cron once a day: ``manage.py forums_digest``)."""

from django.core.management.base import BaseCommand

from forums.tasks import send_forum_digests


class Command(BaseCommand):
    help = "Queue the daily forum digest e-mails."

    def handle(self, *args, **options) -> None:
        result = send_forum_digests.enqueue()
        self.stdout.write(f"Queued forum digest job {result.id}.")
