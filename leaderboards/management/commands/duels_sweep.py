"""Move on every overdue quiz duel now (run it from cron every few minutes:
``manage.py duels_sweep``): lapsed challenges, asynchronous runs past 24 h (forfeits),
live questions whose process died before closing them."""

from django.core.management.base import BaseCommand

from leaderboards.duel_services import duels_sweep


class Command(BaseCommand):
    help = "Close overdue quiz duels (lapsed challenges and runs, late questions)."

    def handle(self, *args, **options) -> None:
        done = duels_sweep()
        self.stdout.write(f"{done} duel(s) moved on.")
