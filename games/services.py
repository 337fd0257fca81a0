"""Every write of live quiz games: create, join, open / close questions, answer, finish,
results (points and so badges).

The question clock is the server's (``leaderboards.clock``, the duels' seam): each open
question has a deadline on the game row; answers after it are refused; the question closes
when the host closes it, when its deadline passes (timer thread, backstop job, any read)
or once every player answered (checked by the coalesced distribution flush). Closing takes
the game's row lock; an answer holds a share lock on it (PostgreSQL ``FOR SHARE``; SQLite
runs one write transaction at a time), so an answer is either in before the close and
counted, or refused: never acknowledged and lost. The unique constraint counts each
player's answer to a question once.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from classrooms import selectors as classrooms_selectors
from classrooms import services as classrooms_services
from classrooms.models import Activity, ActivityKind, Course, LiveClass
from classrooms.services import Conflict
from games import selectors as sel
from games import timers
from games.models import Game, GameAnswer, GameEvent, GamePlayer, GameStatus
from hub import realtime
from hub.accounts.models import User
from leaderboards import clock
from leaderboards.duel_services import clean_answer
from leaderboards.models import Reason

__all__ = [
    "Conflict",
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


def _emit(game: Game, type: str, data: dict[str, Any]) -> None:
    """A durable event of the game's topic (replayed to a reconnecting screen)."""
    realtime.hold_topic_order(game.topic)
    event = GameEvent.objects.create(game=game, type=type, data=data)
    realtime.publish(game.topic, type, data, id=event.pk)


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
    """Score the question: streaks, bonuses, totals; publish the reveal and the podium."""
    index = game.current_index
    game.status = GameStatus.REVEAL
    game.closed_index = index
    game.save(update_fields=["status", "closed_index"])
    answers = {a.player_id: a for a in GameAnswer.objects.filter(game=game, index=index)}
    players = list(GamePlayer.objects.filter(game=game))
    changed_answers = []
    results: dict[str, list[int]] = {}
    for player in players:
        answer = answers.get(player.pk)
        gained = 0
        if answer is not None and answer.correct:
            player.streak += 1
            player.correct_count += 1
            gained = answer.points
            if player.streak_bonus:
                answer.bonus = sel.streak_bonus(player.streak)
                if answer.bonus:
                    changed_answers.append(answer)
                gained += answer.bonus
        else:
            player.streak = 0
        player.score += gained
        # [points this question, total, streak, answered (1/0), correct (1/0)]
        results[str(player.user_id)] = [
            gained,
            player.score,
            player.streak,
            int(answer is not None),
            int(bool(answer and answer.correct)),
        ]
    GamePlayer.objects.bulk_update(players, ["score", "streak", "correct_count"], batch_size=500)
    if changed_answers:
        GameAnswer.objects.bulk_update(changed_answers, ["bonus"], batch_size=500)
    q = sel.question(game.question_ids[index])
    dist = sel.distribution(game, index)
    _emit(
        game,
        "question.closed",
        {
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
        },
    )


def _finish(game: Game, now: dt.datetime) -> None:
    """Final podium; points for taking part and for the podium (badges follow the points)."""
    from leaderboards import services as points

    game.status = GameStatus.FINISHED
    game.finished_at = now
    game.save(update_fields=["status", "finished_at"])
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
def _open_question_shared(game_id: int) -> Game:
    """The game's question state, with a share lock on its row (PostgreSQL) held until the
    answer commits, so a concurrent close waits for it: one statement for both."""
    fields = ("status", "current_index", "opened_at", "deadline", "question_ids")
    games = Game.objects.only(*fields).filter(pk=game_id)
    if connection.vendor == "postgresql":
        # Django has select_for_update but no FOR SHARE: answers must not wait on each other.
        sql, params = games.query.sql_with_params()
        found = list(Game.objects.raw(f"{sql} FOR SHARE", params))
        if not found:
            raise Game.DoesNotExist
        return found[0]
    return games.get()  # SQLite: one write transaction at a time already


def game_answer(*, user: User, game_id: int, index: int, answer: Any) -> GameAnswer:
    """One answer per player and question, timed on the server. A second answer is a
    conflict; one after the deadline or to a question not open is refused; a malformed one
    changes nothing. The reply says nothing of correctness (the reveal does).

    The hot path of a game (500 answers in a second): the player's id is remembered by the
    process, and the rest is one read with the share lock, one insert and the commit."""
    now = clock.now()
    player_id = sel.player_id_of(user=user, game_id=game_id)
    if player_id is None:
        raise PermissionDenied(_("Join the game first."))
    try:
        with transaction.atomic():
            current = _open_question_shared(game_id)
            late = current.deadline is None or now > current.deadline
            if current.status != GameStatus.QUESTION or current.current_index != index or late:
                if GameAnswer.objects.filter(player_id=player_id, index=index).exists():
                    raise Conflict(_("You already answered this question."))
                if late and current.current_index == index:
                    raise ValidationError({"index": _("Time is up for this question.")})
                raise ValidationError({"index": _("This question is not open.")})
            question = sel.question(current.question_ids[index])
            clean = clean_answer(question, answer)
            correct = classrooms_selectors.answer_is_correct(question=question, answer=clean)
            row = GameAnswer.objects.create(
                game_id=game_id,
                player_id=player_id,
                index=index,
                answer=clean,
                answered_at=now,
                ms=max(0, int((now - current.opened_at).total_seconds() * 1000)),
                correct=correct,
                points=sel.answer_points(
                    correct=correct, opened_at=current.opened_at, deadline=current.deadline, at=now
                ),
            )
            transaction.on_commit(lambda: timers.answers_changed(game_id))
    except IntegrityError:
        raise Conflict(_("You already answered this question.")) from None
    return row


def game_flush(*, game_id: int) -> None:
    """Publish the open question's answer distribution to the host; close the question
    once every player answered."""
    game = Game.objects.filter(pk=game_id).first()
    if game is None or game.status != GameStatus.QUESTION:
        return
    dist = sel.distribution(game, game.current_index)
    realtime.publish(game.host_topic, "answers.count", dist)
    if dist["players"] and dist["answered"] >= dist["players"]:
        with transaction.atomic():
            locked = _lock(game_id)
            if locked.status == GameStatus.QUESTION and locked.current_index == dist["index"]:
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
