"""The rank store: one interface, two engines (ARCHITECTURE §5).

* ``DatabaseRankStore`` (embedded mode) computes every read from the ledger
  (``PointAward``) with the board's filter and window; writes are no-ops because the
  ledger row is the write.
* ``RedisRankStore`` (services mode) keeps one sorted set per board: ``ZINCRBY`` on award,
  ``ZREVRANK`` / ``ZREVRANGE ... WITHSCORES`` / ``ZCOUNT`` on read. Week and month boards
  expire a week after their window ends. Everything is rebuildable from the ledger
  (``manage.py rebuild_leaderboards``).

Board keys: ``<scope>-<id>-<window>`` with scope ``space`` | ``course`` | ``team`` and
window ``all`` | ``week-2026W48`` (ISO week) | ``month-2026-11``.

Ranks are competition ranks ("1224"): 1 + the number of entries with a strictly higher
score, so ties share a rank whatever the engine's order among equal scores. Hidden
learners are never written to Redis boards (and are removed when they hide); the
database store filters them out on read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

BOARD_KEY = re.compile(
    r"^(?P<scope>space|course|team)-(?P<id>\d+)-"
    r"(?P<window>all|week-(?P<year>\d{4})W(?P<week>\d{2})|month-(?P<myear>\d{4})-(?P<month>\d{2}))$"
)
SCOPES = ("space", "course", "team")
WINDOWS = ("all", "week", "month")
EXPIRY_AFTER_WINDOW = dt.timedelta(days=7)


@dataclass(frozen=True)
class Entry:
    user_id: int
    score: int
    rank: int


@dataclass(frozen=True)
class Board:
    scope: str
    id: int
    window: str  # "all" | "week" | "month"
    start: dt.datetime | None
    end: dt.datetime | None

    @property
    def key(self) -> str:
        return board_key(self.scope, self.id, self.window, self.start)


def window_bounds(
    window: str, when: dt.datetime | None = None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start, end) of the window containing ``when`` (now), in the current time zone."""
    if window == "all":
        return None, None
    local = timezone.localtime(when or timezone.now())
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=7)
    if window == "month":
        start = day.replace(day=1)
        nxt = (start + dt.timedelta(days=32)).replace(day=1)
        return start, nxt
    raise ValueError(window)


def board_key(scope: str, id: int, window: str, when: dt.datetime | None = None) -> str:
    if scope not in SCOPES:
        raise ValueError(scope)
    if window == "all":
        return f"{scope}-{id}-all"
    local = timezone.localtime(when or timezone.now())
    if window == "week":
        year, week, _ = local.isocalendar()
        return f"{scope}-{id}-week-{year}W{week:02d}"
    if window == "month":
        return f"{scope}-{id}-month-{local.year}-{local.month:02d}"
    raise ValueError(window)


def parse_board(key: str) -> Board:
    """The board a key names; ``ValueError`` for anything else."""
    m = BOARD_KEY.match(key or "")
    if not m:
        raise ValueError(f"not a board key: {key!r}")
    scope, ident = m["scope"], int(m["id"])
    if m["year"]:
        monday = dt.date.fromisocalendar(int(m["year"]), int(m["week"]), 1)
        start = timezone.make_aware(dt.datetime.combine(monday, dt.time()))
        return Board(scope, ident, "week", start, start + dt.timedelta(days=7))
    if m["myear"]:
        month = int(m["month"])
        if not 1 <= month <= 12:
            raise ValueError(f"not a board key: {key!r}")
        start = timezone.make_aware(dt.datetime(int(m["myear"]), month, 1))
        return Board(scope, ident, "month", start, (start + dt.timedelta(days=32)).replace(day=1))
    return Board(scope, ident, "all", None, None)


def current_keys(scope: str, id: int, when: dt.datetime | None = None) -> list[str]:
    """The all-time, this-week and this-month keys of one board."""
    return [board_key(scope, id, w, when) for w in WINDOWS]


def _ranked(
    rows: Iterable[tuple[int, int]], first_rank: int = 1, first_pos: int = 0
) -> list[Entry]:
    """Competition ranks for rows sorted by score descending; the first row sits at 0-based
    position ``first_pos`` of the board with rank ``first_rank`` (lower when it ties with
    rows above the window)."""
    out: list[Entry] = []
    for i, (uid, score) in enumerate(rows):
        if not out:
            rank = first_rank
        elif out[-1].score == score:
            rank = out[-1].rank
        else:
            rank = first_pos + i + 1
        out.append(Entry(int(uid), int(score), rank))
    return out


class RankStore(Protocol):
    def incr(self, board_key: str, user_id: int, amount: int) -> None: ...
    def rank_of(self, board_key: str, user_id: int) -> int | None: ...
    def score_of(self, board_key: str, user_id: int) -> int | None: ...
    def top(self, board_key: str, n: int) -> list[Entry]: ...
    def around(self, board_key: str, user_id: int, n: int) -> list[Entry]: ...
    def remove(self, board_key: str, user_id: int) -> None: ...
    def rebuild(self, board_key: str, rows: Iterable[tuple[int, int]]) -> None: ...


# -- the ledger as the truth -------------------------------------------------------------------
def ledger_awards(board: Board) -> QuerySet:
    """The ledger rows that count on ``board`` (hidden learners included)."""
    from leaderboards.models import PointAward

    qs = PointAward.objects.all()
    if board.scope == "space":
        qs = qs.filter(space_id=board.id)
    elif board.scope == "course":
        qs = qs.filter(course_id=board.id)
    else:
        from hub.accounts.models import Team

        team = Team.objects.filter(pk=board.id).values_list("space_id", flat=True).first()
        qs = qs.filter(space_id=team, user__teams__id=board.id)
    if board.start is not None:
        qs = qs.filter(created_at__gte=board.start, created_at__lt=board.end)
    return qs


def ledger_scores(board: Board, *, public: bool = True) -> list[tuple[int, int]]:
    """(user id, points) on ``board`` from the ledger, best first (ties by user id)."""
    qs = ledger_awards(board)
    if public:
        qs = qs.exclude(Q(user__ranking_preference__hidden=True))
    rows = qs.values("user_id").annotate(total=Sum("amount")).order_by("-total", "user_id")
    return [(r["user_id"], r["total"]) for r in rows]


class DatabaseRankStore:
    """Reads computed from the ledger; fine for an embedded installation's board sizes."""

    def incr(self, board_key: str, user_id: int, amount: int) -> None:
        parse_board(board_key)  # the ledger row is the write

    def remove(self, board_key: str, user_id: int) -> None:
        parse_board(board_key)  # hidden learners are filtered on read

    def rebuild(self, board_key: str, rows: Iterable[tuple[int, int]]) -> None:
        parse_board(board_key)  # nothing cached to rebuild

    def _entries(self, board_key: str) -> list[Entry]:
        return _ranked(ledger_scores(parse_board(board_key)))

    def score_of(self, board_key: str, user_id: int) -> int | None:
        return next((e.score for e in self._entries(board_key) if e.user_id == user_id), None)

    def rank_of(self, board_key: str, user_id: int) -> int | None:
        return next((e.rank for e in self._entries(board_key) if e.user_id == user_id), None)

    def top(self, board_key: str, n: int) -> list[Entry]:
        return self._entries(board_key)[: max(n, 0)]

    def around(self, board_key: str, user_id: int, n: int) -> list[Entry]:
        entries = self._entries(board_key)
        pos = next((i for i, e in enumerate(entries) if e.user_id == user_id), None)
        if pos is None:
            return []
        return entries[max(pos - n, 0) : pos + n + 1]


def redis_prefix() -> str:
    layer = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    prefix = layer.get("prefix") or settings.CACHES["default"].get("KEY_PREFIX") or "lyceum"
    return f"{prefix}:lb"


@lru_cache(maxsize=1)
def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


class RedisRankStore:
    """One sorted set per board; members are user ids."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix

    @property
    def redis(self) -> Any:
        return _redis_client(self.url)

    def name(self, board_key: str) -> str:
        parse_board(board_key)
        return f"{self.prefix}:{board_key}"

    @staticmethod
    def _expire_at(board_key: str) -> int | None:
        board = parse_board(board_key)
        if board.end is None:
            return None
        return int((board.end + EXPIRY_AFTER_WINDOW).timestamp())

    def incr(self, board_key: str, user_id: int, amount: int) -> None:
        name = self.name(board_key)
        expire = self._expire_at(board_key)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zincrby(name, amount, user_id)
        if expire is not None:
            pipe.expireat(name, expire)
        pipe.execute()

    def remove(self, board_key: str, user_id: int) -> None:
        self.redis.zrem(self.name(board_key), user_id)

    def rebuild(self, board_key: str, rows: Iterable[tuple[int, int]]) -> None:
        name = self.name(board_key)
        mapping = {str(uid): score for uid, score in rows}
        tmp = f"{name}:rebuild"
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(tmp)
        if mapping:
            pipe.zadd(tmp, mapping)
            pipe.rename(tmp, name)
            expire = self._expire_at(board_key)
            if expire is not None:
                pipe.expireat(name, expire)
        else:
            pipe.delete(name)
        pipe.execute()

    def score_of(self, board_key: str, user_id: int) -> int | None:
        score = self.redis.zscore(self.name(board_key), user_id)
        return None if score is None else int(score)

    def rank_of(self, board_key: str, user_id: int) -> int | None:
        name = self.name(board_key)
        score = self.redis.zscore(name, user_id)
        if score is None:
            return None
        return 1 + self.redis.zcount(name, f"({score}", "+inf")

    def top(self, board_key: str, n: int) -> list[Entry]:
        if n <= 0:
            return []
        rows = self.redis.zrevrange(self.name(board_key), 0, n - 1, withscores=True)
        return _ranked((int(m), int(s)) for m, s in rows)

    def around(self, board_key: str, user_id: int, n: int) -> list[Entry]:
        name = self.name(board_key)
        pos = self.redis.zrevrank(name, user_id)
        if pos is None:
            return []
        rows = self.redis.zrevrange(name, max(pos - n, 0), pos + n, withscores=True)
        if not rows:
            return []
        start = max(pos - n, 0)
        first_rank = 1 + self.redis.zcount(name, f"({rows[0][1]}", "+inf")
        return _ranked(((int(m), int(s)) for m, s in rows), first_rank, start)


def get_store() -> RankStore:
    """The store of this mode: Redis when ``REDIS_URL`` is set, else the database."""
    if settings.REDIS_URL:
        return RedisRankStore(settings.REDIS_URL, redis_prefix())
    return DatabaseRankStore()


def rebuild_board(key: str, store: RankStore | None = None) -> int:
    """Rewrite one board from the ledger; returns how many entries it holds."""
    rows = ledger_scores(parse_board(key))
    (store or get_store()).rebuild(key, rows)
    return len(rows)
