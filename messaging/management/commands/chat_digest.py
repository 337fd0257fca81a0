"""Queue the chat digest (run it from cron once a day: ``manage.py chat_digest``)."""

from django.core.management.base import BaseCommand

from messaging.tasks import send_chat_digests


class Command(BaseCommand):
    help = "Queue the e-mail digest of unread chat messages."

    def handle(self, *args, **options) -> None:
        result = send_chat_digests.enqueue()
        self.stdout.write(f"Queued chat digest job {result.id}.")
