"""Queue the recomputation of forum trust levels (run it from cron once a day:
``manage.py forums_trust``); events recompute them too, this catches what time alone
changes."""

from django.core.management.base import BaseCommand

from forums.tasks import recompute_trust_levels


class Command(BaseCommand):
    help = "Queue the recomputation of every member's forum trust level."

    def handle(self, *args, **options) -> None:
        result = recompute_trust_levels.enqueue()
        self.stdout.write(f"Queued trust level job {result.id}.")
