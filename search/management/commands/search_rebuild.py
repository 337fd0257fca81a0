"""Recreate the search documents (and the engine's index and triggers) from the rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from search import fulltext, indexing, registry


class Command(BaseCommand):
    help = "Rebuild the search index from every registered source (or the ones named)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="*", help="source keys (default: all)")

    def handle(self, *args: Any, sources: list[str], **options: Any) -> None:
        known = {s.key: s for s in registry.sources()}
        unknown = [key for key in sources if key not in known]
        if unknown:
            raise CommandError(f"Unknown sources: {', '.join(unknown)} (known: {', '.join(known)})")
        # Recreated if a later migration rebuilt the table (SQLite drops its triggers then).
        fulltext.install()
        for key in sources or list(known):
            count = indexing.rebuild(known[key])
            self.stdout.write(f"{key}: {count} documents")
