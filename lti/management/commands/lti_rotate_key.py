"""Rotate a space's LTI signing key (the old one stays published until retired)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hub.accounts.models import Space
from lti.models import ToolKey
from lti.tool import key_create


class Command(BaseCommand):
    help = (
        "Make a new LTI signing key for a space. Older keys stay in the JWKS so platforms "
        "with a cached copy keep verifying; --retire-old stops publishing them."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("space", help="the space's slug")
        parser.add_argument(
            "--retire-old", action="store_true", help="only unpublish keys older than the newest"
        )

    def handle(self, *args: Any, space: str, retire_old: bool, **options: Any) -> None:
        found = Space.objects.filter(slug=space).first()
        if found is None:
            raise CommandError(f"No space {space!r}.")
        if retire_old:
            newest = ToolKey.objects.filter(space=found, active=True).first()
            if newest is None:
                raise CommandError("This space has no key yet.")
            count = (
                ToolKey.objects.filter(space=found, active=True)
                .exclude(pk=newest.pk)
                .update(active=False)
            )
            self.stdout.write(f"{count} older key(s) retired; {newest.kid} signs.")
            return
        key = key_create(space=found)
        self.stdout.write(f"New key {key.kid} signs from now on.")
