"""The nightly certification pass (cron: ``manage.py certifications_sweep``)."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Open recertification windows (assign recertification paths) and expire awards."

    def handle(self, *args, **options) -> None:
        from certifications import services

        self.stdout.write(f"Swept: {services.sweep()}")
