"""Reads of quiz duels: configuration, who may duel whom, presence, the payloads REST,
WebSocket and pages share. Payloads never carry a correct answer before its question
closed for the viewer, nor a live question's text before its clock started."""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from classrooms import selectors as classrooms_selectors
from classrooms.models import Course, Enrolment, Question
from hub.accounts.models import User
from hub.accounts.selectors import is_space_member
from leaderboards import clock
from leaderboards.models import (
    Duel,
    DuelEvent,
    DuelMode,
    DuelQueueEntry,
    DuelRating,
    DuelStatus,
    DuelTurn,
    RankingPreference,
)

logger = logging.getLogger(__name__)

START_RATING = 1200
ELO_K = 32
OPEN_STATUSES = (DuelStatus.PENDING, DuelStatus.ACTIVE)


@dataclass(frozen=True)
class DuelConfig:
    """Timing of new duels. The product plays 7 questions of 10 s; settings (or the
    ``LYCEUM_DUEL_*`` environment of a test server) may shorten it."""

    questions: int = 7
    seconds: int = 10
    reveal_seconds: float = 3.0  # the answer shows this long before the next question
    start_seconds: float = 3.0  # countdown before the first question of a live duel
    ready_seconds: int = 60  # both must open the arena within this, else asynchronous
    async_hours: int = 24  # each plays within this in asynchronous mode
    challenge_hours: int = 24  # a challenge nobody answers lapses after this
    timers: bool = True  # in-process timers close questions on time (tests drive a clock)


def _conf(name: str, default: Any, cast: type) -> Any:
    value = getattr(settings, f"DUEL_{name.upper()}", None)
    if value is None:
        value = os.environ.get(f"LYCEUM_DUEL_{name.upper()}")
    if value is None:
        return default
    if cast is bool and isinstance(value, str):
        return value.lower() in {"1", "true", "yes", "on"}
    return cast(value)


def duel_config() -> DuelConfig:
    base = DuelConfig()
    return DuelConfig(
        questions=_conf("questions", base.questions, int),
        seconds=_conf("seconds", base.seconds, int),
        reveal_seconds=_conf("reveal_seconds", base.reveal_seconds, float),
        start_seconds=_conf("start_seconds", base.start_seconds, float),
        ready_seconds=_conf("ready_seconds", base.ready_seconds, int),
        async_hours=_conf("async_hours", base.async_hours, int),
        challenge_hours=_conf("challenge_hours", base.challenge_hours, int),
        timers=_conf("timers", base.timers, bool),
    )


# -- who ------------------------------------------------------------------------------------
def lobby_topic(user_id: int) -> str:
    return f"leaderboards.lobby.{user_id}"


def duel_topic(duel_id: int) -> str:
    return f"leaderboards.duel.{duel_id}"


def can_duel_in(*, user: Any, course: Course) -> bool:
    """Enrolled in the course and a member of its space."""
    return classrooms_selectors.is_enrolled(user=user, course=course) and is_space_member(
        user=user, space=course.space_id
    )


def is_player(*, user: Any, duel: Duel) -> bool:
    return user.pk in duel.player_ids()


def is_online(user_id: int) -> bool:
    """Connected now: has the duel lobby or an arena open (presence of their lobby topic,
    shared by every server process in services mode)."""
    from hub.realtime import presence

    try:
        present = presence.store().present_now(lobby_topic(user_id))
    except Exception:  # presence unreachable: play it safe, each in turn
        logger.exception("presence lookup failed for user %s", user_id)
        return False
    return any(p.get("id") == user_id for p in present)


def colleagues(*, user: Any, course: Course) -> QuerySet[User]:
    """Whom ``user`` may challenge in ``course``: its other learners in the same space."""
    return (
        User.objects.filter(
            enrolments__course=course,
            is_active=True,
            space_memberships__space_id=course.space_id,
        )
        .exclude(pk=user.pk)
        .distinct()
        .order_by("first_name", "username")
    )


def duel_courses(*, user: Any) -> list[Course]:
    """The courses ``user`` may duel in (enrolled, with a question bank)."""
    ids = Enrolment.objects.filter(user=user).values("course_id")
    return list(
        Course.objects.filter(pk__in=ids, questions__isnull=False)
        .distinct()
        .order_by("title", "id")
    )


def bank_of(course: Course) -> QuerySet[Question]:
    return Question.objects.filter(course=course)


def duels_of(*, user: Any, course: Course | None = None, limit: int = 20) -> list[Duel]:
    qs = Duel.objects.filter(Q(challenger=user) | Q(opponent=user)).select_related(
        "challenger", "opponent", "course", "winner"
    )
    if course is not None:
        qs = qs.filter(course=course)
    return list(qs[:limit])


def open_duel_between(*, a: Any, b: Any, course: Course) -> Duel | None:
    return (
        Duel.objects.filter(course=course, status__in=OPEN_STATUSES)
        .filter(Q(challenger=a, opponent=b) | Q(challenger=b, opponent=a))
        .first()
    )


def in_queue(*, user: Any, course: Course) -> bool:
    return DuelQueueEntry.objects.filter(user=user, course=course).exists()


def rating_of(*, user: Any, course: Course | int) -> int:
    course_id = course if isinstance(course, int) else course.pk
    value = (
        DuelRating.objects.filter(user=user, course_id=course_id)
        .values_list("rating", flat=True)
        .first()
    )
    return START_RATING if value is None else value


def elo_expected(rating: int, other: int) -> float:
    """Chance of ``rating`` beating ``other`` in the Elo model."""
    return 1 / (1 + 10 ** ((other - rating) / 400))


def elo_change(rating: int, other: int, score: float, k: int = ELO_K) -> int:
    """Points ``rating`` moves by after scoring ``score`` (1 win, 0.5 draw, 0 loss)."""
    return round(k * (score - elo_expected(rating, other)))


def question_points(
    *, correct: bool, opened_at: dt.datetime, deadline: dt.datetime, at: Any
) -> int:
    """100 for a right answer plus up to 100 for speed (the share of the time left)."""
    if not correct:
        return 0
    total = (deadline - opened_at).total_seconds()
    left = max(0.0, (deadline - at).total_seconds())
    return 100 + (round(100 * left / total) if total > 0 else 0)


# -- payloads -------------------------------------------------------------------------------
def person(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username, "display_name": user.name}


def _question(question: Question) -> dict[str, Any]:
    return classrooms_selectors.question_payload(question)


def correct_answer(question: Question) -> Any:
    """What the reveal shows: the right choice ids, or the number."""
    if question.kind == "numeric":
        return question.numeric_answer
    return [c.pk for c in question.choices.all() if c.is_correct]


def turn_result(turn: DuelTurn) -> dict[str, Any]:
    return {
        "user": turn.user_id,
        "answer": turn.answer,
        "correct": turn.correct,
        "points": turn.points,
        "answered": turn.answered_at is not None,
        "ms": (
            int((turn.answered_at - turn.opened_at).total_seconds() * 1000)
            if turn.answered_at
            else None
        ),
    }


def upcoming_payload(duel: Duel, turn: DuelTurn) -> dict[str, Any]:
    """A question announced but not open yet: its timing and the server's clock, never its
    text (a modified client must not read it before its clock starts)."""
    return {
        "duel": duel.pk,
        "index": turn.index,
        "count": duel.question_count,
        "opens_at": turn.opened_at.isoformat(),
        "deadline": turn.deadline.isoformat(),
        "seconds": duel.seconds,
        "server_now": clock.now().isoformat(),
    }


def opened_payload(duel: Duel, turn: DuelTurn) -> dict[str, Any]:
    """A question as it opens: its text, no correct answer; the server's deadline and clock."""
    return {**upcoming_payload(duel, turn), "question": _question(turn.question)}


def is_open(turn: DuelTurn, now: dt.datetime | None = None) -> bool:
    """Whether the question's clock has started (its text may be shown)."""
    return (now or clock.now()) >= turn.opened_at


def current_payload(duel: Duel, turn: DuelTurn) -> dict[str, Any]:
    """The announced question as a reader may see it now: with its text once it opened,
    only its timing before."""
    return opened_payload(duel, turn) if is_open(turn) else upcoming_payload(duel, turn)


def closed_payload(duel: Duel, index: int, turns: list[DuelTurn]) -> dict[str, Any]:
    """A closed question: its correct answer and each player's result."""
    question = turns[0].question
    return {
        "duel": duel.pk,
        "index": index,
        "question": question.pk,
        "correct": correct_answer(question),
        "explanation": question.explanation,
        "results": {str(t.user_id): turn_result(t) for t in turns},
    }


def scores(duel: Duel) -> dict[str, int]:
    return {
        str(duel.challenger_id): duel.challenger_score,
        str(duel.opponent_id): duel.opponent_score,
    }


def result_payload(duel: Duel) -> dict[str, Any] | None:
    if duel.status != DuelStatus.FINISHED:
        return None
    return {
        "winner": duel.winner_id,
        "draw": duel.winner_id is None and not duel.forfeit,
        "forfeit": duel.forfeit,
        "scores": scores(duel),
        "rating_change": {
            str(duel.challenger_id): duel.challenger_rating_change,
            str(duel.opponent_id): duel.opponent_rating_change,
        },
        "ratings": {
            str(uid): rating_of(user=uid, course=duel.course_id) for uid in duel.player_ids()
        },
    }


def result_line(duel: Duel, *, viewer: Any) -> str:
    """A closed duel's result worded for whoever reads it, scores in the reader's order:
    "You won 1400–800 against Lina Learner" on a player's page, "Leo Learner won 1400–800
    against Lina Learner" for anyone else; empty while the duel is open."""
    score = {duel.challenger_id: duel.challenger_score, duel.opponent_id: duel.opponent_score}
    player = viewer is not None and viewer.pk in score
    me, other = (
        (duel.opponent, duel.challenger)
        if player and viewer.pk == duel.opponent_id
        else (duel.challenger, duel.opponent)
    )
    if duel.status == DuelStatus.FINISHED and duel.winner_id is not None:
        winner, loser = (me, other) if duel.winner_id == me.pk else (other, me)
        names = {
            "name": other.name,
            "winner": winner.name,
            "loser": loser.name,
            "high": score[winner.pk],
            "low": score[loser.pk],
        }
        if not player:
            line = _("%(winner)s won %(high)s–%(low)s against %(loser)s") % names
        elif winner == me:
            line = _("You won %(high)s–%(low)s against %(name)s") % names
        else:
            line = _("You lost %(low)s–%(high)s against %(name)s") % names
        return line + (" · " + _("by forfeit") if duel.forfeit else "")
    names = {"name": other.name, "me": me.name, "mine": score[me.pk], "theirs": score[other.pk]}
    if duel.status == DuelStatus.FINISHED:
        if player:
            return _("Draw %(mine)s–%(theirs)s with %(name)s") % names
        return _("%(me)s and %(name)s drew %(mine)s–%(theirs)s") % names
    if duel.status == DuelStatus.EXPIRED:
        if player:
            return _("Your duel with %(name)s expired") % names
        return _("The duel of %(me)s and %(name)s expired") % names
    if duel.status == DuelStatus.DECLINED:
        if player:
            return _("Your duel with %(name)s was declined") % names
        return _("The duel of %(me)s and %(name)s was declined") % names
    if duel.status == DuelStatus.CANCELLED:
        if player:
            return _("Your duel with %(name)s was cancelled") % names
        return _("The duel of %(me)s and %(name)s was cancelled") % names
    return ""


def duel_summary(duel: Duel, *, viewer: Any = None) -> dict[str, Any]:
    """A duel in a list (lobby, history): no questions. With a ``viewer``, its result
    worded for them (``result_text``; lists are fetched per reader, events are shared)."""
    extra = {"result_text": result_line(duel, viewer=viewer)} if viewer is not None else {}
    return {
        "id": duel.pk,
        "course": {"id": duel.course_id, "title": duel.course.title},
        "challenger": person(duel.challenger),
        "opponent": person(duel.opponent),
        "status": duel.status,
        "mode": duel.mode,
        "matchmade": duel.matchmade,
        "questions": duel.question_count,
        "seconds": duel.seconds,
        "scores": scores(duel),
        "winner": duel.winner_id,
        "forfeit": duel.forfeit,
        "created_at": duel.created_at.isoformat(),
        "expires_at": duel.expires_at.isoformat() if duel.expires_at else None,
        "finished_at": duel.finished_at.isoformat() if duel.finished_at else None,
        "rematch_of": duel.rematch_of_id,
        "url": reverse("leaderboards-duel", args=[duel.pk]),
        **extra,
    }


def duel_payload(duel: Duel, *, viewer: Any) -> dict[str, Any]:
    """The whole state for a player: what a reconnecting arena needs to carry on.

    Live: the announced question (its text only once its clock started, never its
    answer) and every closed one with its reveal.
    Asynchronous: the viewer's own questions only (the opponent's answers and results
    arrive with the result, when both have played)."""
    turns = list(
        DuelTurn.objects.filter(duel=duel)
        .select_related("question")
        .prefetch_related("question__choices")
    )
    finished = duel.status == DuelStatus.FINISHED
    current: dict[str, Any] | None = None
    closed: list[dict[str, Any]] = []
    by_index: dict[int, list[DuelTurn]] = {}
    for turn in turns:
        by_index.setdefault(turn.index, []).append(turn)
    mine = {t.index: t for t in turns if t.user_id == viewer.pk}
    if duel.mode == DuelMode.LIVE or finished:
        for index in sorted(by_index):
            group = by_index[index]
            if index <= duel.closed_index or finished:
                closed.append(closed_payload(duel, index, group))
            elif index == duel.current_index:
                current = current_payload(duel, group[0])
                current["my_answer"] = mine[index].answer if index in mine else None
                current["answered"] = [t.user_id for t in group if t.answered_at]
    else:
        for index in sorted(mine):
            turn = mine[index]
            if turn.closed:
                closed.append(closed_payload(duel, index, [turn]))
            else:
                current = current_payload(duel, turn)
                current["my_answer"] = turn.answer
                current["answered"] = [turn.user_id] if turn.answered_at else []
    last_event = DuelEvent.objects.filter(duel=duel).order_by("-id").values_list("id", flat=True)
    played = {
        str(uid): sum(1 for t in turns if t.user_id == uid and t.closed)
        for uid in duel.player_ids()
    }
    return {
        **duel_summary(duel),
        "topic": duel.topic,
        "me": viewer.pk,
        "ready": {
            str(duel.challenger_id): duel.challenger_ready,
            str(duel.opponent_id): duel.opponent_ready,
        },
        "played": played,
        "current": current,
        "closed": closed,
        "result": result_payload(duel),
        "last_event_id": last_event.first() or 0,
        "server_now": clock.now().isoformat(),
    }


def duel_state(duel_id: int, *, viewer: Any) -> dict[str, Any]:
    """``duel_payload`` of the duel as committed now (after a service changed it)."""
    duel = Duel.objects.select_related("course", "challenger", "opponent", "winner").get(pk=duel_id)
    return duel_payload(duel, viewer=viewer)


def answer_payload(turn: DuelTurn, duel: Duel) -> dict[str, Any]:
    """What an answer's reply says: in a live duel nothing about correctness until the
    question closes (its reveal event carries it); a run's question closes at once."""
    data: dict[str, Any] = {"index": turn.index, "answered": True}
    if turn.closed:
        data.update(correct=turn.correct, points=turn.points)
        data["reveal"] = closed_payload(duel, turn.index, [turn])
    return data


def ratings_payload(*, user: Any, course: Course, n: int = 10) -> dict[str, Any]:
    """The viewer's own rating and the course's best players.

    A learner hidden from public rankings (``RankingPreference``) is left out of the best
    players for everyone, themselves included, as on the points boards; ``me`` always
    carries their own rating, and ``hidden`` says why they are not in the list."""
    rows = (
        DuelRating.objects.filter(course=course)
        .exclude(user__ranking_preference__hidden=True)
        .select_related("user")[:n]
    )
    mine = DuelRating.objects.filter(course=course, user=user).first()
    return {
        "course": course.pk,
        "me": {
            "rating": mine.rating if mine else START_RATING,
            "played": mine.played if mine else 0,
            "won": mine.won if mine else 0,
            "lost": mine.lost if mine else 0,
            "drawn": mine.drawn if mine else 0,
            "hidden": RankingPreference.objects.filter(user=user, hidden=True).exists(),
        },
        "top": [
            {"user": person(r.user), "rating": r.rating, "played": r.played, "won": r.won}
            for r in rows
        ],
    }


def events_after(*, duel_id: int, after_id: int, limit: int) -> list[DuelEvent]:
    return list(DuelEvent.objects.filter(duel_id=duel_id, id__gt=after_id).order_by("id")[:limit])


def overdue_duels(*, now: dt.datetime) -> QuerySet[Duel]:
    """Duels whose clock has run out somewhere: a lapsed challenge or run, an open question
    past its deadline, a live question past its opens_at whose text has not gone out (its
    process may have died)."""
    late_turns = DuelTurn.objects.filter(closed=False, deadline__lt=now).values("duel_id")
    due_turns = DuelTurn.objects.filter(closed=False, opened_at__lte=now).values("duel_id")
    return Duel.objects.filter(
        Q(status__in=OPEN_STATUSES, expires_at__lt=now)
        | Q(status=DuelStatus.ACTIVE, pk__in=late_turns)
        | Q(
            status=DuelStatus.ACTIVE,
            mode=DuelMode.LIVE,
            opened_index__lt=F("current_index"),
            pk__in=due_turns,
        )
    )


def lobby_url(course_id: int | None = None) -> str:
    url = reverse("leaderboards-duels")
    return f"{url}?course={course_id}" if course_id else url


def arena_url(duel_id: int) -> str:
    return reverse("leaderboards-duel", args=[duel_id])
