"""Rewrite the rank store's boards from the points ledger (services mode: Redis)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from leaderboards import ranks
from leaderboards.models import PointAward

# Rows fetched per round trip while streaming a scope's totals.
CHUNK = 20_000


def _totals(qs: QuerySet, owner: str, now: dt.datetime) -> Iterator[tuple[int, int, list]]:
    """(board owner id, user id, [all time, week, month]) for every person with points,
    ordered by owner: one query per scope, however many boards it holds."""
    sums: dict[str, Any] = {"all": Sum("amount")}
    for window in ("week", "month"):
        start, end = ranks.window_bounds(window, now)
        sums[window] = Sum("amount", filter=Q(created_at__gte=start, created_at__lt=end))
    rows = qs.values(owner, "user_id").annotate(**sums).order_by(owner)
    for row in rows.iterator(chunk_size=CHUNK):
        yield row[owner], row["user_id"], [row["all"], row["week"], row["month"]]


class Command(BaseCommand):
    help = "Rebuild every current leaderboard (all time, this week, this month) from the ledger."

    def handle(self, *args: Any, **options: Any) -> None:
        from hub.accounts.models import Team

        store = ranks.get_store()
        if isinstance(store, ranks.DatabaseRankStore):
            self.stdout.write("Embedded mode: boards are read from the ledger, nothing to do.")
            return
        now = timezone.now()
        # Hidden learners and 0-point rows stay off public boards (as ranks.ledger_scores).
        public = PointAward.objects.exclude(user__ranking_preference__hidden=True).exclude(amount=0)
        # order_by(): the model's default ordering (created_at) would join the DISTINCT
        # and bring back one row per award instead of one per space.
        ledger = PointAward.objects.order_by()
        spaces = set(ledger.values_list("space_id", flat=True).distinct())
        courses = set(ledger.exclude(course=None).values_list("course_id", flat=True).distinct())
        teams = set(Team.objects.filter(space_id__in=spaces).values_list("id", flat=True))
        scopes = (
            ("space", spaces, public, "space_id"),
            ("course", courses, public.exclude(course=None), "course_id"),
            # A team's board: its members' awards in the team's space.
            ("team", teams, public.filter(user__teams__space_id=F("space_id")), "user__teams__id"),
        )
        boards = entries = 0
        for scope, owners, qs, owner_field in scopes:
            done: set[int] = set()
            current: int | None = None
            windows: list[list[tuple[int, int]]] = [[], [], []]
            for owner, user_id, totals in [*_totals(qs, owner_field, now), (None, 0, [])]:
                if owner != current and current is not None:
                    entries += self._write(store, scope, current, windows, now)
                    boards += 3
                    done.add(current)
                    windows = [[], [], []]
                current = owner
                for i, total in enumerate(totals):
                    if total is not None:
                        windows[i].append((user_id, total))
            for owner in owners - done:  # boards with nobody left on them: emptied
                entries += self._write(store, scope, owner, [[], [], []], now)
                boards += 3
        self.stdout.write(f"Rebuilt {boards} boards ({entries} entries).")
        legacy = store.drop_legacy_boards() if isinstance(store, ranks.RedisRankStore) else 0
        if legacy:
            self.stdout.write(f"Deleted {legacy} boards of the first format (plain user ids).")

    @staticmethod
    def _write(
        store: ranks.RankStore,
        scope: str,
        owner: int,
        windows: list[list[tuple[int, int]]],
        now: dt.datetime,
    ) -> int:
        for key, rows in zip(ranks.current_keys(scope, owner, now), windows, strict=True):
            store.rebuild(key, rows)
        return sum(len(rows) for rows in windows)
