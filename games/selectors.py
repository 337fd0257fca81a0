"""Reads of live quiz games: who may host, join, watch; the payloads REST, WebSocket and
pages share. A question's text goes out only once it is open, its answer only once it
closed."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse

from classrooms import selectors as classrooms_selectors
from classrooms.models import Activity, ActivityKind, Course, LiveClass, LiveClassStatus, Question
from games.models import Game, GameAnswer, GameEvent, GamePlayer, GameStatus
from hub.accounts.selectors import is_space_member
from leaderboards import clock
from leaderboards import duel_selectors as duels

MAX_PLAYERS = 500
TEAM_NAMES = ("Red", "Blue", "Green", "Yellow", "Purple", "Orange")
BASE_POINTS = 1000  # Kahoot: points = base x (1 - (response time / timer) / 2)
STREAK_STEP = 100  # each correct answer in a row after the first: +100, up to +500
STREAK_CAP = 500
PODIUM = 5


@dataclass(frozen=True)
class GameConfig:
    seconds: int = 20
    questions: int = 10
    timers: bool = True  # in-process timers close questions on time (tests drive a clock)
    flush_seconds: float = 0.15  # the host's answer distribution, coalesced


def _conf(name: str, default: Any, cast: type) -> Any:
    value = getattr(settings, f"GAME_{name.upper()}", None)
    if value is None:
        value = os.environ.get(f"LYCEUM_GAME_{name.upper()}")
    if value is None:
        return default
    if cast is bool and isinstance(value, str):
        return value.lower() in {"1", "true", "yes", "on"}
    return cast(value)


def game_config() -> GameConfig:
    base = GameConfig()
    return GameConfig(
        seconds=_conf("seconds", base.seconds, int),
        questions=_conf("questions", base.questions, int),
        timers=_conf("timers", base.timers, bool),
        flush_seconds=_conf("flush_seconds", base.flush_seconds, float),
    )


# -- who ------------------------------------------------------------------------------------
def can_host(*, user: Any, course: Course) -> bool:
    return bool(user.is_authenticated) and classrooms_selectors.can_edit_course(
        user=user, course=course
    )


def is_host(*, user: Any, game: Game) -> bool:
    return bool(user.is_authenticated) and (
        user.pk == game.host_id or can_host(user=user, course=game.course)
    )


def can_join(*, user: Any, game: Game) -> bool:
    """Inside a live class: whoever may be in the class; on its own: the members of the
    course's space (the join code is the invitation)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if game.live_class_id is not None:
        return classrooms_selectors.can_join_liveclass(user, game.live_class)
    return is_space_member(user=user, space=game.course.space_id)


def player_of(*, user: Any, game: Game | int) -> GamePlayer | None:
    game_id = game if isinstance(game, int) else game.pk
    return GamePlayer.objects.filter(game_id=game_id, user_id=user.pk).first()


_player_ids: dict[tuple[int, int], int] = {}


def player_id_of(*, user: Any, game_id: int) -> int | None:
    """The player's row id, remembered by the process (a player never leaves a game): the
    answer path, 500 answers in a second, saves a query each."""
    key = (game_id, user.pk)
    found = _player_ids.get(key)
    if found is None:
        found = (
            GamePlayer.objects.filter(game_id=game_id, user_id=user.pk)
            .values_list("id", flat=True)
            .first()
        )
        if found is not None:
            if len(_player_ids) > 100_000:
                _player_ids.clear()
            _player_ids[key] = found
    return found


def known_player_id(*, user: Any, game_id: int) -> int | None:
    """The player's row id if this process knows it already (no database: the sockets'
    event loop calls it)."""
    return _player_ids.get((game_id, user.pk))


_question_ids: dict[int, list[int]] = {}


def question_ids_of(game_id: int) -> list[int] | None:
    """The game's question ids, remembered by the process (they never change)."""
    found = _question_ids.get(game_id)
    if found is None:
        found = Game.objects.filter(pk=game_id).values_list("question_ids", flat=True).first()
        if found is not None:
            if len(_question_ids) > 10_000:
                _question_ids.clear()
            _question_ids[game_id] = found
    return found


def remember_questions(game: Game) -> None:
    """Warm the process's caches when it opens a question: the burst of answers that
    follows finds the game's question ids and the question without a database read."""
    _question_ids[game.pk] = list(game.question_ids)
    question(game.question_ids[game.current_index])


def known_question_at(game_id: int, index: int) -> Question | None:
    """The game's question ``index`` if this process has it cached (no database)."""
    ids = _question_ids.get(game_id)
    if ids is None or not 0 <= index < len(ids):
        return None
    return _question_cache.get(ids[index])


def hostable_courses(*, user: Any) -> list[Course]:
    courses = Course.objects.filter(questions__isnull=False).distinct().order_by("title", "id")
    return [c for c in courses if can_host(user=user, course=c)]


def launch_options(*, user: Any, courses: list[Course]) -> tuple[list[Activity], list[LiveClass]]:
    """What the launch form offers besides the course: the courses' quizzes that have
    questions, and their live classes not yet ended that ``user`` trains."""
    ids = [c.pk for c in courses]
    quizzes = list(
        Activity.objects.filter(course_id__in=ids, kind=ActivityKind.QUIZ, questions__isnull=False)
        .distinct()
        .order_by("course_id", "position", "id")
    )
    live_classes = [
        lc
        for lc in LiveClass.objects.filter(course_id__in=ids)
        .exclude(status=LiveClassStatus.ENDED)
        .order_by("scheduled_start", "id")
        if classrooms_selectors.is_liveclass_trainer(user, lc)
    ]
    return quizzes, live_classes


def games_hosted(*, user: Any, limit: int = 20) -> QuerySet[Game]:
    return Game.objects.filter(host=user).select_related("course")[:limit]


def games_played(*, user: Any, limit: int = 20) -> QuerySet[Game]:
    return (
        Game.objects.filter(players__user=user).select_related("course").order_by("-created_at")
    )[:limit]


def open_game_by_code(code: str) -> Game | None:
    return (
        Game.objects.exclude(status=GameStatus.FINISHED)
        .select_related("course", "live_class")
        .filter(code=code.strip())
        .first()
    )


def bank_of(course: Course) -> QuerySet[Question]:
    return duels.bank_of(course)


# -- scoring (the duels' server clock; Kahoot's formula) --------------------------------------
def answer_points(*, correct: bool, opened_at: dt.datetime, deadline: dt.datetime, at: Any) -> int:
    if not correct:
        return 0
    total = (deadline - opened_at).total_seconds()
    taken = min(max(0.0, (at - opened_at).total_seconds()), total)
    return round(BASE_POINTS * (1 - (taken / total) / 2)) if total > 0 else BASE_POINTS


def streak_bonus(streak: int) -> int:
    """The bonus of the ``streak``-th correct answer in a row."""
    return min(max(0, streak - 1) * STREAK_STEP, STREAK_CAP)


# -- payloads -------------------------------------------------------------------------------
_question_cache: dict[int, Question] = {}


def question(question_id: int) -> Question:
    """A bank question with its choices, cached in the process (a game reads the same one
    for every answer; questions do not change while they are played)."""
    cached = _question_cache.get(question_id)
    if cached is None:
        cached = Question.objects.prefetch_related("choices").get(pk=question_id)
        if len(_question_cache) > 2000:
            _question_cache.clear()
        _question_cache[question_id] = cached
    return cached


def correct_answer(q: Question) -> Any:
    return duels.correct_answer(q)


def person(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "name": user.name}


def team_name(team: int | None) -> str | None:
    return None if team is None else TEAM_NAMES[team % len(TEAM_NAMES)]


def summary(game: Game) -> dict[str, Any]:
    return {
        "id": game.pk,
        "code": game.code,
        "course": {"id": game.course_id, "title": game.course.title},
        "live_class": game.live_class_id,
        "quiz": game.quiz_id,
        "status": game.status,
        "questions": game.question_count,
        "seconds": game.seconds,
        "team_mode": game.team_mode,
        "teams": [team_name(i) for i in range(game.team_count)] if game.team_mode else [],
        "current_index": game.current_index,
        "closed_index": game.closed_index,
        "created_at": game.created_at.isoformat(),
        "finished_at": game.finished_at.isoformat() if game.finished_at else None,
        "topic": game.topic,
        "host_url": reverse("games-host", args=[game.pk]),
        "play_url": reverse("games-play", args=[game.pk]),
    }


def question_payload(game: Game, *, with_answer: bool = False) -> dict[str, Any] | None:
    if game.current_index < 0:
        return None
    q = question(game.question_ids[game.current_index])
    data: dict[str, Any] = {
        "index": game.current_index,
        "count": game.question_count,
        "seconds": game.seconds,
        "opened_at": game.opened_at.isoformat() if game.opened_at else None,
        "deadline": game.deadline.isoformat() if game.deadline else None,
        "server_now": clock.now().isoformat(),
        "question": classrooms_selectors.question_payload(q),
    }
    if with_answer:
        data["correct"] = duels.correct_answer(q)
        data["explanation"] = q.explanation
    return data


def distribution(game: Game, index: int) -> dict[str, Any]:
    """How many answered question ``index``, and each choice's count (or each number's),
    from the written answers (the reveal's, once the close wrote them all)."""
    counts: dict[str, int] = {}
    answered = 0
    for value in GameAnswer.objects.filter(game=game, index=index).values_list("answer", flat=True):
        answered += 1
        for v in value if isinstance(value, list) else [value]:
            counts[str(v)] = counts.get(str(v), 0) + 1
    return {
        "game": game.pk,
        "index": index,
        "answered": answered,
        "players": GamePlayer.objects.filter(game=game).count(),
        "counts": counts,
    }


def podium(game: Game, n: int = PODIUM) -> list[dict[str, Any]]:
    rows = (
        GamePlayer.objects.filter(game=game)
        .select_related("user")
        .order_by("-score", "joined_at", "id")[:n]
    )
    return [
        {
            "rank": i + 1,
            "user": person(p.user),
            "score": p.score,
            "streak": p.streak,
            "team": team_name(p.team),
        }
        for i, p in enumerate(rows)
    ]


def team_standings(game: Game) -> list[dict[str, Any]]:
    """Team mode: each team's average score (fair to teams of different sizes)."""
    if not game.team_mode:
        return []
    totals: dict[int, list[int]] = {}
    for team, score in GamePlayer.objects.filter(game=game).values_list("team", "score"):
        totals.setdefault(team or 0, []).append(score)
    rows = [
        {
            "team": team_name(t),
            "players": len(scores),
            "score": round(sum(scores) / len(scores)),
        }
        for t, scores in totals.items()
    ]
    rows.sort(key=lambda r: (-r["score"], r["team"]))
    return [{**r, "rank": i + 1} for i, r in enumerate(rows)]


def player_payload(player: GamePlayer) -> dict[str, Any]:
    return {
        "user": player.user_id,
        "score": player.score,
        "streak": player.streak,
        "streak_bonus": player.streak_bonus,
        "team": team_name(player.team),
        "correct": player.correct_count,
    }


# A reveal's per-player row: [points this question, total, streak, answered (1/0),
# correct (1/0), rank]. The host gets every row; a player only their own, as a dict.
RESULT_FIELDS = ("points", "score", "streak", "answered", "correct", "rank")


def my_result(game_id: int, index: int, row: list[int], players: int) -> dict[str, Any]:
    """One player's result of question ``index`` (``games.result``, a reveal's ``me``)."""
    mine: dict[str, Any] = {"game": game_id, "index": index, "players": players}
    mine.update(zip(RESULT_FIELDS, row, strict=False))
    mine["answered"], mine["correct"] = bool(mine["answered"]), bool(mine["correct"])
    return mine


def public_reveal(data: dict[str, Any]) -> dict[str, Any]:
    """A stored ``question.closed`` without anyone's result: what every screen may see."""
    return {k: v for k, v in data.items() if k != "results"}


def reveal_for(data: dict[str, Any], *, host: bool, user_id: int | None) -> dict[str, Any]:
    """A stored ``question.closed`` as ``user_id`` may see it: the host every player's
    result (``results``), a player only their own (``me``), anyone else neither."""
    if host:
        return data
    shown = public_reveal(data)
    results = data.get("results") or {}
    row = results.get(str(user_id)) if user_id is not None else None
    if row is not None:
        shown["me"] = my_result(data["game"], data["index"], row, len(results))
    return shown


def event_for(event: GameEvent, *, host: bool, user_id: int | None) -> dict[str, Any]:
    """A durable event's data as the viewer may see it (backlog, state)."""
    if event.type == "question.closed":
        return reveal_for(event.data, host=host, user_id=user_id)
    return event.data


def game_state(game_id: int, *, viewer: Any) -> dict[str, Any]:
    """Everything a (re)connecting screen needs: the host's or a player's."""
    game = Game.objects.select_related("course", "live_class").get(pk=game_id)
    host = is_host(user=viewer, game=game)
    me = player_of(user=viewer, game=game)
    current = None
    if game.status == GameStatus.QUESTION:
        current = question_payload(game)
        if me is not None:
            current["my_answer"] = my_answer(game, me)
    reveal = None
    if game.status in (GameStatus.REVEAL, GameStatus.FINISHED) and game.closed_index >= 0:
        last = GameEvent.objects.filter(game=game, type="question.closed").order_by("-id").first()
        reveal = event_for(last, host=host, user_id=viewer.pk) if last else None
    last_event = GameEvent.objects.filter(game=game).order_by("-id").values_list("id", flat=True)
    data = {
        **summary(game),
        "is_host": host,
        "me": player_payload(me) if me else None,
        "players": GamePlayer.objects.filter(game=game).count(),
        "current": current,
        "reveal": reveal,
        "podium": podium(game),
        "team_standings": team_standings(game),
        "last_event_id": last_event.first() or 0,
        "server_now": clock.now().isoformat(),
    }
    if host:
        data["host_topic"] = game.host_topic
        data["player_list"] = [
            {"user": person(p.user), "team": team_name(p.team)}
            for p in GamePlayer.objects.filter(game=game).select_related("user").order_by("id")
        ]
        if game.status == GameStatus.QUESTION:
            data["distribution"] = live_distribution(game)
    return data


def my_answer(game: Game, player: GamePlayer) -> Any:
    """The player's answer to the open question: in the book (maybe not written yet), else
    in the database."""
    from games.book import book

    found = book().answer_of(game.pk, game.current_index, player.pk)
    if found is not None:
        return found[0]
    mine = GameAnswer.objects.filter(player=player, index=game.current_index).first()
    return mine.answer if mine else None


def live_distribution(game: Game) -> dict[str, Any]:
    """The open question's distribution as the host sees it: the book's tally (answers
    not written yet included), else the database's."""
    from games.book import book

    tally = book().tally(game.pk, game.current_index)
    if tally is None:
        return distribution(game, game.current_index)
    return {
        "game": game.pk,
        "index": game.current_index,
        "answered": tally.answered,
        "players": GamePlayer.objects.filter(game=game).count(),
        "counts": tally.counts,
    }


def events_after(*, game_id: int, after_id: int, limit: int) -> list[GameEvent]:
    return list(GameEvent.objects.filter(game_id=game_id, id__gt=after_id).order_by("id")[:limit])
