"""The rank store: one interface, two engines (ARCHITECTURE §5).

* ``DatabaseRankStore`` (embedded mode) computes every read from the ledger
  (``PointAward``) with the board's filter and window; writes are no-ops because the
  ledger row is the write.
* ``RedisRankStore`` (services mode) keeps one sorted set per board: ``ZINCRBY`` on award,
  ``ZREVRANK`` / ``ZREVRANGE ... WITHSCORES`` / ``ZCOUNT`` on read. Week and month boards
  expire a week after their window ends. Everything is rebuildable from the ledger
  (``manage.py rebuild_leaderboards``). Every call is one round trip to Redis: an award
  on all its boards is one pipeline, a batch of awards one Lua script, and a read that
  needs two commands (rank = 1 + entries strictly above one's score) a Lua script, so a
  lookup stays near a bare ``ZREVRANK`` on a board of a million entries (bench/leaderboards.py,
  docs/PERFORMANCE.md).

Board keys: ``<scope>-<id>-<window>`` with scope ``space`` | ``course`` | ``team`` and
window ``all`` | ``week-2026W48`` (ISO week) | ``month-2026-11``.

Ranks are competition ranks ("1224"): 1 + the number of entries with a strictly higher
score, so ties share a rank. Entries with the same score are listed by user id, lowest
first, in both engines (docs/LEADERBOARDS.md): the database sorts on it, and a Redis
sorted set, which orders equal scores by member bytes (``ZREVRANGE``: descending), holds
each user as ``member(user_id)``, a fixed-width complement of the id whose descending byte
order is the ids' ascending order (a plain id listed 99, 9, 200, 101). Hidden
learners are never written to Redis boards (and are removed when they hide); the
database store filters them out on read. 0-point ledger rows (an event recorded for the
badges under a rule of 0) are no entries either.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from hub.outages import is_outage, recovered, warn_once

BOARD_KEY = re.compile(
    r"^(?P<scope>space|course|team)-(?P<id>\d+)-"
    r"(?P<window>all|week-(?P<year>\d{4})W(?P<week>\d{2})|month-(?P<myear>\d{4})-(?P<month>\d{2}))$"
)
SCOPES = ("space", "course", "team")
WINDOWS = ("all", "week", "month")
EXPIRY_AFTER_WINDOW = dt.timedelta(days=7)
# Redis members: ``MEMBER_CEILING - user_id`` on ``MEMBER_WIDTH`` digits (any bigint id).
MEMBER_WIDTH = 19
MEMBER_CEILING = 10**MEMBER_WIDTH - 1


def member(user_id: int) -> str:
    """A user's member in a Redis board: equal scores then list lowest user id first."""
    return f"{MEMBER_CEILING - int(user_id):0{MEMBER_WIDTH}d}"


def member_user(raw: bytes | str) -> int:
    """The user id of a Redis board member (``member``'s inverse)."""
    return MEMBER_CEILING - int(raw)


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
    # Every store call parses its key: cache (per time zone, which the bounds depend on).
    return _parse_board(key or "", timezone.get_current_timezone_name())


@lru_cache(maxsize=4096)
def _parse_board(key: str, tz_name: str) -> Board:
    m = BOARD_KEY.match(key)
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


# One change of scores: ``amount`` points for ``user_id`` on every board of ``board_keys``
# (an award counts on its space's, course's and teams' current boards at once).
Change = tuple[Sequence[str], int, int]


class RankStore(Protocol):
    def incr(self, board_key: str, user_id: int, amount: int) -> None: ...
    def incr_many(self, changes: Iterable[Change]) -> None: ...
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
    """(user id, points) on ``board`` from the ledger, best first (ties by user id).

    0-point rows (events a space's rule pays nothing for, kept for the badges) are left
    out: someone with only those is not on the board."""
    qs = ledger_awards(board).exclude(amount=0)
    if public:
        qs = qs.exclude(Q(user__ranking_preference__hidden=True))
    rows = qs.values("user_id").annotate(total=Sum("amount")).order_by("-total", "user_id")
    return [(r["user_id"], r["total"]) for r in rows]


class DatabaseRankStore:
    """Reads computed from the ledger; fine for an embedded installation's board sizes."""

    def incr(self, board_key: str, user_id: int, amount: int) -> None:
        parse_board(board_key)  # the ledger row is the write

    def incr_many(self, changes: Iterable[Change]) -> None:
        for keys, _user_id, _amount in changes:
            for key in keys:
                parse_board(key)

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
    """The namespace of the boards. ``lb2``: members are ``member(user_id)``; boards of the
    first format (``lb``, plain ids, ties in string order) are left behind: after upgrading,
    ``manage.py rebuild_leaderboards`` writes every current board anew and deletes them."""
    return f"{base_prefix()}:lb2"


def base_prefix() -> str:
    layer = settings.CHANNEL_LAYERS.get("default", {}).get("CONFIG", {})
    return layer.get("prefix") or settings.CACHES["default"].get("KEY_PREFIX") or "lyceum"


def legacy_prefix() -> str:
    """Where boards of the first format lived (plain user ids as members)."""
    return f"{base_prefix()}:lb"


@lru_cache(maxsize=1)
def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


# A batch of awards in one round trip. KEYS: the boards. ARGV: each board's expiry (unix
# time, "" for none), then groups of changes sharing their boards: m, m board indexes, p,
# p (member, increment) pairs. Grouping keeps the arguments at two per award, not two per
# board.
INCR_MANY_LUA = """
local n = #KEYS
local i = n + 1
while i <= #ARGV do
  local m = tonumber(ARGV[i])
  local boards = {}
  for k = 1, m do boards[k] = KEYS[tonumber(ARGV[i + k])] end
  local at = i + m + 1
  local last = at + 2 * tonumber(ARGV[at])
  for j = at + 1, last, 2 do
    for k = 1, m do redis.call('ZINCRBY', boards[k], ARGV[j + 1], ARGV[j]) end
  end
  i = last + 1
end
for k = 1, n do
  if ARGV[k] ~= '' then redis.call('EXPIREAT', KEYS[k], ARGV[k]) end
end
return n
"""

# Competition rank: 1 + the entries strictly above the member's score (ZREVRANK would
# split ties by member order).
RANK_LUA = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return false end
return redis.call('ZCOUNT', KEYS[1], '(' .. score, '+inf') + 1
"""

# Neighbours: the member's position, the window of rows around it, and how many entries
# are strictly above the window's first score (its competition rank).
AROUND_LUA = """
local pos = redis.call('ZREVRANK', KEYS[1], ARGV[1])
if not pos then return false end
local start = pos - tonumber(ARGV[2])
if start < 0 then start = 0 end
local rows = redis.call('ZREVRANGE', KEYS[1], start, pos + tonumber(ARGV[2]), 'WITHSCORES')
return {start, redis.call('ZCOUNT', KEYS[1], '(' .. rows[2], '+inf'), rows}
"""

# Changes per EVALSHA: a script blocks Redis while it runs; ~2,000 awards on six boards
# take about a millisecond there.
LUA_CHUNK = 2000
# Members per ZADD when rebuilding a board.
REBUILD_CHUNK = 10_000


@lru_cache(maxsize=1)
def _scripts(url: str) -> dict[str, Any]:
    client = _redis_client(url)
    return {
        "incr_many": client.register_script(INCR_MANY_LUA),
        "rank": client.register_script(RANK_LUA),
        "around": client.register_script(AROUND_LUA),
    }


def _score(raw: Any) -> int:
    return int(float(raw))


F = TypeVar("F", bound=Callable[..., Any])

# Boards an award (or a hide/show) could not be written to while Redis was down: rebuilt
# from the ledger by the first call that reaches Redis again (in this process; after a
# restart of Redis or of the server, ``manage.py rebuild_leaderboards`` does it for all).
_stale_boards: set[str] = set()
_stale_lock = threading.Lock()


def _reads_fall_back(method: F) -> F:
    """A read that cannot reach Redis answers from the ledger (``DatabaseRankStore``):
    the same competition ranks, computed by the database, a little slower."""

    @functools.wraps(method)
    def read(self: RedisRankStore, *args: Any) -> Any:
        try:
            self._heal()
            result = method(self, *args)
        except Exception as exc:
            if not is_outage(exc):
                raise
            warn_once("redis ranks", "Redis is unreachable: boards are read from the ledger")
            return getattr(DatabaseRankStore(), method.__name__)(*args)
        recovered("redis ranks")
        return result

    return read  # type: ignore[return-value]


def _writes_deferred(boards_of: Callable[..., Iterable[str]]) -> Callable[[F], F]:
    """A write that cannot reach Redis is not lost: the ledger row is the truth, and the
    boards it touched are rebuilt from it once Redis answers again. The user's action
    (finishing a lesson, winning a duel) does not fail because of the board."""

    def wrap(method: F) -> F:
        @functools.wraps(method)
        def write(self: RedisRankStore, *args: Any) -> None:
            try:
                self._heal()
                method(self, *args)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                warn_once(
                    "redis ranks",
                    "Redis is unreachable: board updates wait for it (rebuilt from the ledger)",
                )
                with _stale_lock:
                    _stale_boards.update(boards_of(*args))

        return write  # type: ignore[return-value]

    return wrap


def _keys_of_changes(changes: Iterable[Change]) -> list[str]:
    return [key for keys, _user_id, _amount in changes for key in keys]


class RedisRankStore:
    """One sorted set per board; members are ``member(user_id)``. One round trip per call.

    While Redis cannot be reached, reads answer from the ledger and writes are kept for
    later (``_reads_fall_back``, ``_writes_deferred``): boards never answer an error.
    """

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix

    @property
    def redis(self) -> Any:
        return _redis_client(self.url)

    def _script(self, name: str) -> Any:
        return _scripts(self.url)[name]

    def name(self, board_key: str) -> str:
        parse_board(board_key)
        return f"{self.prefix}:{board_key}"

    @staticmethod
    def _expire_at(board_key: str) -> int | None:
        board = parse_board(board_key)
        if board.end is None:
            return None
        return int((board.end + EXPIRY_AFTER_WINDOW).timestamp())

    def _heal(self) -> None:
        """Rebuild the boards whose writes failed during an outage, now that Redis answers."""
        if not _stale_boards:
            return
        with _stale_lock:
            keys = sorted(_stale_boards)
            _stale_boards.clear()
        try:
            while keys:
                self.rebuild(keys[0], ledger_scores(parse_board(keys[0])))
                keys.pop(0)
        except Exception:
            with _stale_lock:
                _stale_boards.update(keys)
            raise

    @_writes_deferred(lambda board_key, *_: [board_key])
    def incr(self, board_key: str, user_id: int, amount: int) -> None:
        self.incr_many([((board_key,), user_id, amount)])

    @_writes_deferred(lambda changes: _keys_of_changes(changes))
    def incr_many(self, changes: Iterable[Change]) -> None:
        """Apply the changes: one script call (one round trip) per ``LUA_CHUNK`` changes.

        Not through a pipeline: redis-py sends ``SCRIPT EXISTS`` before any pipeline that
        holds a script, a second round trip on every award. A script called alone runs
        ``EVALSHA`` and loads itself only if Redis answers ``NOSCRIPT``."""
        groups: dict[tuple[str, ...], list[Any]] = {}
        for keys, user_id, amount in changes:
            groups.setdefault(tuple(keys), []).extend((member(user_id), amount))
        chunk: list[tuple[tuple[str, ...], list[Any]]] = []
        size = 0
        for keys, pairs in groups.items():
            for start in range(0, len(pairs), 2 * LUA_CHUNK):
                part = pairs[start : start + 2 * LUA_CHUNK]
                chunk.append((keys, part))
                size += len(part) // 2
                if size >= LUA_CHUNK:
                    self._incr_chunk(chunk)
                    chunk, size = [], 0
        if chunk:
            self._incr_chunk(chunk)

    def _incr_chunk(self, chunk: list[tuple[tuple[str, ...], list[Any]]]) -> None:
        index: dict[str, int] = {}
        body: list[Any] = []
        for keys, pairs in chunk:
            body.append(len(keys))
            for key in keys:
                body.append(index.setdefault(key, len(index) + 1))
            body.append(len(pairs) // 2)
            body.extend(pairs)
        if not index:
            return  # changes on no board at all
        expiries = [self._expire_at(key) for key in index]
        self._script("incr_many")(
            keys=[self.name(key) for key in index],
            args=["" if e is None else e for e in expiries] + body,
        )

    @_writes_deferred(lambda board_key, *_: [board_key])
    def remove(self, board_key: str, user_id: int) -> None:
        self.redis.zrem(self.name(board_key), member(user_id))

    def rebuild(self, board_key: str, rows: Iterable[tuple[int, int]]) -> None:
        """Fill a scratch set in chunks, then swap it in atomically (readers never see a
        half-built board)."""
        name = self.name(board_key)
        tmp = f"{name}:rebuild:{secrets.token_hex(4)}"
        pipe = self.redis.pipeline(transaction=False)
        filled = 0
        chunk: dict[str, int] = {}
        for uid, score in rows:
            chunk[member(uid)] = score
            if len(chunk) >= REBUILD_CHUNK:
                pipe.zadd(tmp, chunk)
                filled += len(chunk)
                chunk = {}
                if len(pipe) >= 10:
                    pipe.execute()
        if chunk:
            pipe.zadd(tmp, chunk)
            filled += len(chunk)
        pipe.execute()
        swap = self.redis.pipeline(transaction=True)
        if filled:
            swap.rename(tmp, name)
            expire = self._expire_at(board_key)
            if expire is not None:
                swap.expireat(name, expire)
        else:
            swap.delete(name)
        swap.execute()

    def drop_legacy_boards(self) -> int:
        """Delete the boards of the first format (``legacy_prefix``); how many there were.
        ``rebuild_leaderboards`` calls it once the current boards are written anew."""
        dropped = 0
        batch: list[bytes] = []
        for key in self.redis.scan_iter(match=f"{legacy_prefix()}:*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                dropped += self.redis.unlink(*batch)
                batch = []
        if batch:
            dropped += self.redis.unlink(*batch)
        return dropped

    @_reads_fall_back
    def score_of(self, board_key: str, user_id: int) -> int | None:
        score = self.redis.zscore(self.name(board_key), member(user_id))
        return None if score is None else int(score)

    @_reads_fall_back
    def rank_of(self, board_key: str, user_id: int) -> int | None:
        rank = self._script("rank")(keys=[self.name(board_key)], args=[member(user_id)])
        return None if rank is None else int(rank)

    @_reads_fall_back
    def top(self, board_key: str, n: int) -> list[Entry]:
        if n <= 0:
            return []
        rows = self.redis.zrevrange(self.name(board_key), 0, n - 1, withscores=True)
        return _ranked((member_user(m), int(s)) for m, s in rows)

    @_reads_fall_back
    def around(self, board_key: str, user_id: int, n: int) -> list[Entry]:
        found = self._script("around")(
            keys=[self.name(board_key)], args=[member(user_id), max(n, 0)]
        )
        if not found:
            return []
        start, above, flat = int(found[0]), int(found[1]), found[2]
        rows = ((member_user(flat[i]), _score(flat[i + 1])) for i in range(0, len(flat), 2))
        return _ranked(rows, 1 + above, start)


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
