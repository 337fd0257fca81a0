"""Rewrite the rank store's boards from the points ledger (services mode: Redis)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from leaderboards import ranks
from leaderboards.models import PointAward


class Command(BaseCommand):
    help = "Rebuild every current leaderboard (all time, this week, this month) from the ledger."

    def handle(self, *args: Any, **options: Any) -> None:
        from hub.accounts.models import Team

        store = ranks.get_store()
        if isinstance(store, ranks.DatabaseRankStore):
            self.stdout.write("Embedded mode: boards are read from the ledger, nothing to do.")
            return
        spaces = set(PointAward.objects.values_list("space_id", flat=True).distinct())
        courses = set(
            PointAward.objects.exclude(course=None).values_list("course_id", flat=True).distinct()
        )
        teams = set(Team.objects.filter(space_id__in=spaces).values_list("id", flat=True))
        boards = entries = 0
        for scope, ids in (("space", spaces), ("course", courses), ("team", teams)):
            for ident in sorted(ids):
                for key in ranks.current_keys(scope, ident):
                    entries += ranks.rebuild_board(key, store)
                    boards += 1
        self.stdout.write(f"Rebuilt {boards} boards ({entries} entries).")
