"""Every write of live quiz games: create, join, open / close questions, answer, finish,
results (points and so badges).

The question clock is the server's (``leaderboards.clock``, the duels' seam): each open
question has a deadline; answers after it are refused; the question closes when the host
closes it, when its deadline passes (timer thread, backstop job, any read) or once every
player answered (checked by the coalesced flush).

Answers go to the answer book (``games.book``: Redis in services mode, this process's
memory in the embedded one), not to the database: one atomic operation records an answer
once, refuses it if the question is closed or past its deadline, and counts it in the
tally. The flusher writes them in batches (one ``INSERT ... ON CONFLICT DO NOTHING``) and
publishes the tally to the host, coalesced (``games.timers``). Closing the question marks it
closed in the book (the same atomic order as the answers: an answer is in before the close
and counted, or refused: never acknowledged and lost), writes whatever the book holds (the
same idempotent insert) and scores every player with two set-based ``UPDATE``s.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least
from django.utils.translation import gettext as _
from rest_framework.exceptions import Throttled

from classrooms import selectors as classrooms_selectors
from classrooms import services as classrooms_services
from classrooms.models import Activity, ActivityKind, Course, LiveClass
from classrooms.services import Conflict
from games import selectors as sel
from games import timers
from games.book import CLOSED, CONFLICT, FLOOD, LATE, OK, UNKNOWN, Record, book
from games.models import Game, GameAnswer, GameEvent, GamePlayer, GameStatus
from hub import realtime
from hub.accounts.models import User
from leaderboards import clock
from leaderboards.duel_services import clean_answer
from leaderboards.models import Reason

__all__ = [
    "Conflict",
    "agame_answer",
    "game_answer",
    "game_close",
    "game_create",
    "game_finish",
    "game_flush",
    "game_join",
    "game_next",
    "game_refresh",
    "game_set_streak_bonus",
]


def _emit(
    game: Game, type: str, data: dict[str, Any], *, live: dict[str, Any] | None = None
) -> None:
    """A durable event of the game's topic (replayed to a reconnecting screen). ``live``,
    if given, is what goes out live to every screen instead of the stored ``data`` (the
    backlog shows each viewer their share of ``data``: ``selectors.event_for``)."""
    realtime.hold_topic_order(game.topic)
    event = GameEvent.objects.create(game=game, type=type, data=data)
    realtime.publish(game.topic, type, data if live is None else live, id=event.pk)


def _lock(game_id: int) -> Game:
    return Game.objects.select_for_update().select_related("course").get(pk=game_id)


def _require_host(user: Any, game: Game) -> None:
    if not sel.is_host(user=user, game=game):
        raise PermissionDenied(_("Only the game's host runs it."))


def _new_code() -> str:
    for _attempt in range(20):
        code = f"{secrets.randbelow(10**6):06d}"
        if not Game.objects.exclude(status=GameStatus.FINISHED).filter(code=code).exists():
            return code
    raise Conflict(_("No join code is free right now; try again."))


# -- setting up ------------------------------------------------------------------------------
@transaction.atomic
def game_create(
    *,
    host: User,
    course: Course,
    questions: int | None = None,
    seconds: int | None = None,
    team_mode: bool = False,
    team_count: int = 4,
    live_class: LiveClass | None = None,
    quiz: Activity | None = None,
) -> Game:
    """A trainer launches a game from the course's question bank, on its own (players come
    with the join code) or inside one of the course's live classes (its people are told).
    With ``quiz`` (one of the course's quizzes), the game plays that quiz's questions and
    completes it for every enrolled player who reaches its pass mark."""
    if not sel.can_host(user=host, course=course):
        raise PermissionDenied(_("Only the course's trainers launch a game from its questions."))
    conf = sel.game_config()
    if quiz is not None and (quiz.course_id != course.pk or quiz.kind != ActivityKind.QUIZ):
        raise ValidationError({"quiz": _("This is not a quiz of this course.")})
    bank = quiz.questions.all() if quiz is not None else sel.bank_of(course)
    ids = list(bank.values_list("id", flat=True))
    if not ids:
        raise ValidationError({"course": _("This course has no questions to play.")})
    count = questions or conf.questions
    if not 1 <= count <= 50:
        raise ValidationError({"questions": _("Between 1 and 50 questions.")})
    seconds = seconds or conf.seconds
    if not 5 <= seconds <= 120:
        raise ValidationError({"seconds": _("Between 5 and 120 seconds a question.")})
    if team_mode and not 2 <= team_count <= len(sel.TEAM_NAMES):
        raise ValidationError(
            {"team_count": _("Between 2 and %(n)s teams.") % {"n": len(sel.TEAM_NAMES)}}
        )
    if live_class is not None:
        if live_class.course_id != course.pk:
            raise ValidationError({"live_class": _("This live class is not of this course.")})
        if not classrooms_selectors.is_liveclass_trainer(host, live_class):
            raise PermissionDenied(_("Only the class's trainers launch a game in it."))
    game = Game.objects.create(
        course=course,
        host=host,
        live_class=live_class,
        quiz=quiz,
        code=_new_code(),
        question_ids=random.sample(ids, min(count, len(ids))),
        seconds=seconds,
        team_mode=team_mode,
        team_count=team_count if team_mode else 0,
    )
    if live_class is not None:
        realtime.publish(
            f"classrooms.liveclass.{live_class.pk}",
            "game.launched",
            {"game": game.pk, "code": game.code, "url": sel.summary(game)["play_url"]},
        )
    return game


@transaction.atomic
def game_join(*, user: User, game: Game) -> GamePlayer:
    """Join (or rejoin: the same player, score kept). Team mode spreads players evenly."""
    game = _lock(game.pk)
    if not sel.can_join(user=user, game=game):
        raise PermissionDenied(_("You may not join this game."))
    existing = sel.player_of(user=user, game=game)
    if existing is not None:
        return existing
    if game.status == GameStatus.FINISHED:
        raise Conflict(_("This game is over."))
    count = GamePlayer.objects.filter(game=game).count()
    if count >= sel.MAX_PLAYERS:
        raise Conflict(_("This game is full (%(n)s players).") % {"n": sel.MAX_PLAYERS})
    team = count % game.team_count if game.team_mode else None
    player = GamePlayer.objects.create(game=game, user=user, team=team)
    sel._player_ids[(game.pk, user.pk)] = player.pk
    realtime.publish(
        game.host_topic,
        "player.joined",
        {
            "game": game.pk,
            "user": sel.person(user),
            "team": sel.team_name(team),
            "players": count + 1,
        },
    )
    return player


@transaction.atomic
def game_set_streak_bonus(*, user: User, game: Game, enabled: bool) -> GamePlayer:
    """A player turns their streak bonus off (or on again) for the rest of the game."""
    player = GamePlayer.objects.select_for_update().filter(game=game, user=user).first()
    if player is None:
        raise PermissionDenied(_("Join the game first."))
    player.streak_bonus = enabled
    player.save(update_fields=["streak_bonus"])
    return player


# -- running ---------------------------------------------------------------------------------
@transaction.atomic
def game_next(*, user: User, game: Game) -> Game:
    """The host moves on: the first question from the lobby, the next after a reveal, the
    final podium after the last."""
    now = clock.now()
    game = _lock(game.pk)
    _require_host(user, game)
    _advance(game, now)
    if game.status == GameStatus.QUESTION:
        raise Conflict(_("Close the open question first."))
    if game.status == GameStatus.FINISHED:
        raise Conflict(_("This game is over."))
    if game.current_index + 1 >= game.question_count:
        _finish(game, now)
        return game
    if game.status == GameStatus.LOBBY and not GamePlayer.objects.filter(game=game).exists():
        raise Conflict(_("Wait for at least one player."))
    _open(game, game.current_index + 1, now)
    return game


def _open(game: Game, index: int, now: dt.datetime) -> None:
    game.current_index = index
    game.status = GameStatus.QUESTION
    game.opened_at = now
    game.deadline = now + dt.timedelta(seconds=game.seconds)
    game.save(update_fields=["current_index", "status", "opened_at", "deadline"])
    sel.remember_questions(game)
    # The book knows the question before its players hear of it (callbacks run in order).
    deadline_ms = _ms(game.deadline)
    game_id = game.pk
    transaction.on_commit(lambda: book().open(game_id, index, deadline_ms=deadline_ms), robust=True)
    _emit(game, "question.opened", sel.question_payload(game))
    timers.schedule(game.pk, game.deadline)


@transaction.atomic
def game_close(*, user: User, game: Game) -> Game:
    """The host closes the open question before its time is up."""
    game = _lock(game.pk)
    _require_host(user, game)
    if game.status != GameStatus.QUESTION:
        raise Conflict(_("No question is open."))
    _close(game, clock.now())
    return game


@transaction.atomic
def game_finish(*, user: User, game: Game) -> Game:
    """The host ends the game now (the podium as it stands)."""
    now = clock.now()
    game = _lock(game.pk)
    _require_host(user, game)
    if game.status == GameStatus.FINISHED:
        raise Conflict(_("This game is over."))
    if game.status == GameStatus.QUESTION:
        _close(game, now)
    _finish(game, now)
    return game


@transaction.atomic
def game_refresh(*, game_id: int) -> Game:
    """Close the open question if its time is up (idempotent; any reader may call)."""
    game = _lock(game_id)
    _advance(game, clock.now())
    return game


def _advance(game: Game, now: dt.datetime) -> None:
    if game.status == GameStatus.QUESTION and game.deadline is not None and now >= game.deadline:
        _close(game, now)


def _close(game: Game, now: dt.datetime) -> None:
    """Close the question in the book (no answer gets in after), write every answer it
    holds, score the players set-based (streaks, bonuses, totals), publish the reveal and
    the podium."""
    index = game.current_index
    game.status = GameStatus.REVEAL
    game.closed_index = index
    game.save(update_fields=["status", "closed_index"])
    _persist(game, index, book().close(game.pk, index, deadline_ms=_ms(game.deadline or now)))
    _score(game, index)
    answers = GameAnswer.objects.filter(game_id=game.pk, index=index)
    mine = answers.filter(player_id=OuterRef("pk"))
    gained = mine.annotate(gained=F("points") + F("bonus")).values("gained")[:1]
    rows = (
        GamePlayer.objects.filter(game_id=game.pk)
        .annotate(
            gained=Coalesce(Subquery(gained, output_field=IntegerField()), 0),
            answered=Exists(mine),
            right=Exists(mine.filter(correct=True)),
        )
        # The podium's order: a player's rank is their place in it.
        .order_by("-score", "joined_at", "id")
        .values_list("user_id", "gained", "score", "streak", "answered", "right")
    )
    # [points this question, total, streak, answered (1/0), correct (1/0), rank]
    results = {
        str(user_id): [gained, score, streak, int(answered), int(right), rank]
        for rank, (user_id, gained, score, streak, answered, right) in enumerate(rows, 1)
    }
    q = sel.question(game.question_ids[index])
    dist = sel.distribution(game, index)
    data = {
        "game": game.pk,
        "index": index,
        "count": game.question_count,
        "question": q.pk,
        "detail": classrooms_selectors.question_payload(q),
        "correct": sel.correct_answer(q),
        "explanation": q.explanation,
        "distribution": dist,
        "results": results,
        "podium": sel.podium(game),
        "team_standings": sel.team_standings(game),
        "last": index + 1 >= game.question_count,
    }
    # The reveal goes to up to 501 sockets at once: every player's result in it made a
    # ~13 KB frame each (6.5 MB for 500 players, seconds late on the host's screen). So
    # each player gets their own result on their own topic, the host every result on the
    # host's topic, and the game's topic the rest. They are published in this order, in
    # one batch: a screen that has the reveal has its result already. A reconnecting
    # screen gets its share from the stored event (selectors.event_for).
    players = len(results)
    for user_id, row in results.items():
        realtime.publish(
            f"hub.user.{user_id}",
            "games.result",
            sel.my_result(game.pk, index, row, players),
        )
    realtime.publish(
        game.host_topic, "question.results", {"game": game.pk, "index": index, "results": results}
    )
    _emit(game, "question.closed", data, live=sel.public_reveal(data))


def _score(game: Game, index: int) -> None:
    """Every player's streak, bonus and total after question ``index``, set-based: the
    streak bonus of each right answer from its player's streak so far (unless they turned
    it off), then every player at once (a right answer extends the streak, anything else
    ends it)."""
    answers = GameAnswer.objects.filter(game_id=game.pk, index=index)
    streak_before = GamePlayer.objects.filter(pk=OuterRef("player_id")).values("streak")[:1]
    answers.filter(correct=True, player__streak_bonus=True).update(
        bonus=Least(
            Subquery(streak_before, output_field=IntegerField()) * sel.STREAK_STEP,
            Value(sel.STREAK_CAP),
            output_field=IntegerField(),
        )
    )
    mine = answers.filter(player_id=OuterRef("pk"))
    gained = mine.annotate(gained=F("points") + F("bonus")).values("gained")[:1]
    right = Exists(mine.filter(correct=True))
    GamePlayer.objects.filter(game_id=game.pk).update(
        score=F("score") + Coalesce(Subquery(gained, output_field=IntegerField()), 0),
        correct_count=Case(
            When(right, then=F("correct_count") + 1),
            default=F("correct_count"),
            output_field=IntegerField(),
        ),
        streak=Case(
            When(right, then=F("streak") + 1), default=Value(0), output_field=IntegerField()
        ),
    )


def _finish(game: Game, now: dt.datetime) -> None:
    """Final podium; points for taking part and for the podium (badges follow the points)."""
    from leaderboards import services as points

    game.status = GameStatus.FINISHED
    game.finished_at = now
    game.save(update_fields=["status", "finished_at"])
    game_id = game.pk
    transaction.on_commit(lambda: book().forget(game_id), robust=True)
    podium = sel.podium(game, 3)
    _emit(
        game,
        "game.finished",
        {"game": game.pk, "podium": sel.podium(game), "team_standings": sel.team_standings(game)},
    )
    played = (
        GamePlayer.objects.filter(game=game, answers__isnull=False)
        .select_related("user")
        .distinct()
    )
    space = game.course.space
    events: list[dict[str, Any]] = [
        {
            "user": p.user,
            "reason": Reason.GAME_PLAYED,
            "source": game,
            "space": space,
            "course": game.course,
        }
        for p in played
    ]
    winners = {row["user"]["id"] for row in podium if row["score"] > 0}
    events += [
        {
            "user": p.user,
            "reason": Reason.GAME_PODIUM,
            "source": game,
            "space": space,
            "course": game.course,
        }
        for p in played
        if p.user_id in winners
    ]
    if events:
        points.points_award_many(events=events)
    if game.quiz_id is not None:
        from games.tasks import game_complete_quiz_job

        transaction.on_commit(lambda: game_complete_quiz_job.enqueue(game.pk), robust=True)


def game_complete_quiz(*, game_id: int) -> int:
    """After a quiz's game: complete the quiz for each player whose share of right answers
    reaches its pass mark (enrolled learners only; the course's progress and the trainers'
    live grid move as for any completion). Idempotent. Returns how many passed."""
    game = Game.objects.select_related("quiz").get(pk=game_id)
    quiz = game.quiz
    if quiz is None or game.status != GameStatus.FINISHED or not game.question_ids:
        return 0
    played = len(game.question_ids)
    passed = 0
    rows = (
        GamePlayer.objects.filter(game=game)
        .annotate(right=Count("answers", filter=Q(answers__correct=True)))
        .select_related("user")
    )
    for player in rows:
        if player.right * 100 >= quiz.pass_mark * played:
            passed += 1
            classrooms_services.activity_complete(user=player.user, activity=quiz, source="game")
    return passed


# -- answering -------------------------------------------------------------------------------
def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def _at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def _refuse(outcome: str, *, index: int) -> None:
    """The error of a refused answer (the gateway maps them to ``conflict``, ``invalid``,
    ``rate_limited``; REST to 409, 400, 429)."""
    if outcome == CONFLICT:
        raise Conflict(_("You already answered this question."))
    if outcome == LATE:
        raise ValidationError({"index": _("Time is up for this question.")})
    if outcome == FLOOD:
        raise Throttled(detail=_("Too many answers to this question: slow down."))
    raise ValidationError({"index": _("This question is not open.")})


def _question_at(game_id: int, index: int) -> Any:
    """The game's question ``index`` (cached by the process), or None if it has none."""
    ids = sel.question_ids_of(game_id)
    if ids is None or not 0 <= index < len(ids):
        return None
    return sel.question(ids[index])


def _sync_book(game_id: int, index: int) -> str | None:
    """The book does not know question ``index`` (Redis lost it, or the process that
    opened it had not committed yet): open it from the database if it is the open question,
    with the answers already written (they stay counted once). Otherwise the refusal."""
    game = Game.objects.only("status", "current_index", "deadline").filter(pk=game_id).first()
    if game is None:
        return CLOSED
    if game.status == GameStatus.QUESTION and game.current_index == index and game.deadline:
        known: dict[int, Record] = {
            player_id: (answer, _ms(at))
            for player_id, answer, at in GameAnswer.objects.filter(
                game_id=game_id, index=index
            ).values_list("player_id", "answer", "answered_at")
        }
        book().open(game_id, index, deadline_ms=_ms(game.deadline), known=known)
        return None
    return CLOSED


def game_answer(
    *, user: User, game_id: int, index: int, answer: Any, at: dt.datetime | None = None
) -> None:
    """One answer per player and question, timed on the server. A second answer is a
    conflict; one after the deadline or to a question not open is refused; a malformed one
    changes nothing; a flood of them is ``Throttled``. The reply says nothing of
    correctness (the reveal does). Recorded in the book (no database work once the
    process knows the player and the question); written by the next flush."""
    now = at or clock.now()
    player_id = sel.player_id_of(user=user, game_id=game_id)
    if player_id is None:
        raise PermissionDenied(_("Join the game first."))
    question = _question_at(game_id, index)
    if question is None:
        raise ValidationError({"index": _("This question is not open.")})
    clean = clean_answer(question, answer)
    outcome = book().record(game_id, index, player_id, clean, _ms(now))
    if outcome == UNKNOWN:
        outcome = _sync_book(game_id, index) or book().record(
            game_id, index, player_id, clean, _ms(now)
        )
        if (
            outcome == CLOSED
            and GameAnswer.objects.filter(player_id=player_id, index=index).exists()
        ):
            outcome = CONFLICT
    if outcome != OK:
        _refuse(outcome, index=index)
    # The caller's transaction (a REST request's) commits first: the flush is after it.
    transaction.on_commit(lambda: timers.answers_changed(game_id))


async def agame_answer(*, user: User, game_id: int, index: int, answer: Any) -> None:
    """``game_answer`` from the sockets' event loop, with no thread hand-off on the hot
    path: once the process knows the player and the question, the answer is one call to
    the book (in memory, or one Redis script pipelined with the other sockets' answers).
    The first answer of a process (unknown player or question) and a question the book
    does not know take the database path on a worker thread."""
    from hub.realtime.gateway import on_database_thread

    now = clock.now()
    player_id = sel.known_player_id(user=user, game_id=game_id)
    question = sel.known_question_at(game_id, index)
    slow = on_database_thread(game_answer, refusable=True)
    if player_id is None or question is None:
        await slow(user=user, game_id=game_id, index=index, answer=answer, at=now)
        return
    clean = clean_answer(question, answer)
    outcome = await book().arecord(game_id, index, player_id, clean, _ms(now))
    if outcome == UNKNOWN:
        await slow(user=user, game_id=game_id, index=index, answer=answer, at=now)
        return
    if outcome != OK:
        _refuse(outcome, index=index)
    if sel.game_config().timers:
        timers.answers_changed(game_id)  # marks the game for the flusher thread
    else:
        await on_database_thread(timers.answers_changed)(game_id)  # tests: at once


def _persist(game: Game, index: int, records: dict[int, Record]) -> int:
    """Write answers of question ``index`` in one ``INSERT`` that skips those already
    written (the unique constraint): a batch written twice, or again by the close, counts
    once. Correctness and speed points are computed here, from the game's clock."""
    if not records:
        return 0
    q = sel.question(game.question_ids[index])
    opened = game.opened_at
    deadline = game.deadline
    rows = []
    for player_id, (answer, at_ms) in records.items():
        at = _at(at_ms)
        correct = classrooms_selectors.answer_is_correct(question=q, answer=answer)
        rows.append(
            GameAnswer(
                game_id=game.pk,
                player_id=player_id,
                index=index,
                answer=answer,
                answered_at=at,
                ms=max(0, int((at - opened).total_seconds() * 1000)) if opened else 0,
                correct=correct,
                points=sel.answer_points(
                    correct=correct, opened_at=opened, deadline=deadline, at=at
                )
                if opened and deadline
                else 0,
            )
        )
    GameAnswer.objects.bulk_create(rows, ignore_conflicts=True, batch_size=sel.MAX_PLAYERS * 2)
    return len(rows)


def game_flush(*, game_id: int) -> None:
    """The flusher's work for a game with new answers: publish the tally to the host (one
    event, read from the book), write the answers recorded since the last batch (one
    ``INSERT``), and close the question once every player answered."""
    game = (
        Game.objects.only("status", "current_index", "opened_at", "deadline", "question_ids")
        .filter(pk=game_id)
        .first()
    )
    if game is None or game.status != GameStatus.QUESTION:
        return
    index = game.current_index
    players = GamePlayer.objects.filter(game_id=game_id).count()
    tally = book().tally(game_id, index)
    if tally is not None:
        realtime.publish(
            game.host_topic,
            "answers.count",
            {
                "game": game_id,
                "index": index,
                "answered": tally.answered,
                "players": players,
                "counts": tally.counts,
            },
        )
    _persist(game, index, book().take_pending(game_id, index))
    if tally is not None and players and tally.answered >= players:
        with transaction.atomic():
            locked = _lock(game_id)
            if locked.status == GameStatus.QUESTION and locked.current_index == index:
                _close(locked, clock.now())


def sweep_now() -> int:
    """Close every question past its deadline (the backstop's sweep); returns how many."""
    done = 0
    for game_id in Game.objects.filter(
        status=GameStatus.QUESTION, deadline__lt=clock.now()
    ).values_list("id", flat=True):
        game_refresh(game_id=game_id)
        done += 1
    return done
