from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from hub.audit.services import entries_prune, retention_days


class Command(BaseCommand):
    help = "Delete audit entries older than LYCEUM_AUDIT_RETENTION_DAYS (0: keep everything)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = entries_prune()
        self.stdout.write(f"{deleted} audit entries older than {retention_days()} days deleted")
