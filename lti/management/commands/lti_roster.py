"""Pull the rosters (LTI NRPS) of the platforms' courses into enrolments."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from lti.models import ContextLink
from lti.services import roster_sync


class Command(BaseCommand):
    help = "Pull the members of LTI contexts (NRPS) and enrol them in the mapped courses."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--space", help="only the contexts of this space (slug)")
        parser.add_argument("--context", type=int, help="only this context (id)")

    def handle(self, *args: Any, space: str | None, context: int | None, **options: Any) -> None:
        contexts = ContextLink.objects.exclude(memberships_url="").select_related("platform")
        if space:
            contexts = contexts.filter(platform__space__slug=space)
        if context:
            contexts = contexts.filter(pk=context)
        if not contexts.exists():
            raise CommandError("No LTI context with a roster service matches.")
        failed = 0
        for ctx in contexts:
            try:
                counts = roster_sync(context_id=ctx.pk)
            except ValidationError as exc:
                failed += 1
                self.stderr.write(f"{ctx.platform} · {ctx}: {' '.join(exc.messages)}")
                continue
            self.stdout.write(f"{ctx.platform} · {ctx}: {counts}")
        if failed:
            raise CommandError(f"{failed} roster(s) could not be read.")
