"""Every write of quiz duels: challenges, matchmaking, the server-authoritative rounds,
results (points, badges, Elo).

The round clock never depends on a client. Each question has a server deadline stored on
its ``DuelTurn`` rows; the state machine (``_advance``) closes what is overdue and opens
what comes next. It runs:

* on every read and answer of the duel (``duel_refresh`` / ``duel_answer``),
* from an in-process timer armed for each deadline (``leaderboards/timers.py``),
* from a django-tasks job due a little after each deadline, and ``duels_sweep``: the
  backstop when the process that armed the timer died.

Every path takes the duel's row lock and the state changes are idempotent, so two of them
racing close a question once. Time comes from ``leaderboards.clock`` so tests drive it.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from classrooms import selectors as classrooms_selectors
from classrooms.models import Course, Question, QuestionKind
from classrooms.services import Conflict
from hub import events as hub_events
from hub import realtime
from hub.accounts.models import User
from hub.notify import notify
from leaderboards import clock, timers
from leaderboards import duel_selectors as sel
from leaderboards.models import (
    Duel,
    DuelEvent,
    DuelMode,
    DuelQueueEntry,
    DuelRating,
    DuelStatus,
    DuelTurn,
    Reason,
)

__all__ = [
    "Conflict",
    "duel_accept",
    "duel_answer",
    "duel_cancel",
    "duel_challenge",
    "duel_decline",
    "duel_queue_join",
    "duel_queue_leave",
    "duel_ready",
    "duel_refresh",
    "duel_rematch",
    "duels_sweep",
]


# -- plumbing -------------------------------------------------------------------------------
def _lock(duel_id: int) -> Duel:
    return (
        Duel.objects.select_for_update()
        .select_related("course", "challenger", "opponent")
        .get(pk=duel_id)
    )


def _emit(duel: Duel, type: str, data: dict[str, Any]) -> None:
    """A durable event of the duel's topic (replayed to a reconnecting arena)."""
    realtime.hold_topic_order(duel.topic)
    event = DuelEvent.objects.create(duel=duel, type=type, data=data)
    realtime.publish(duel.topic, type, data, id=event.pk)


def _lobby(duel: Duel, type: str, user_ids: tuple[int, ...] | None = None) -> None:
    """Tell the players' lobbies (ephemeral: a lobby refetches its lists on reconnect)."""
    data = sel.duel_summary(duel)
    for uid in user_ids or duel.player_ids():
        realtime.publish(sel.lobby_topic(uid), type, data)


def _require_player(user: Any, duel: Duel) -> None:
    if not sel.is_player(user=user, duel=duel):
        raise PermissionDenied(_("This is not your duel."))


def _pick_questions(course: Course, count: int) -> list[int]:
    ids = list(sel.bank_of(course).values_list("id", flat=True))
    if not ids:
        raise ValidationError({"course": _("This course has no questions to duel on.")})
    return random.sample(ids, min(count, len(ids)))


def _create(
    *,
    challenger: User,
    opponent: User,
    course: Course,
    matchmade: bool = False,
    rematch_of: Duel | None = None,
) -> Duel:
    if opponent.pk == challenger.pk:
        raise ValidationError({"opponent": _("You cannot challenge yourself.")})
    if not sel.can_duel_in(user=challenger, course=course):
        raise PermissionDenied(_("Only the course's learners duel on its questions."))
    if not sel.can_duel_in(user=opponent, course=course):
        raise ValidationError({"opponent": _("This person is not a learner of this course.")})
    if sel.open_duel_between(a=challenger, b=opponent, course=course) is not None:
        raise Conflict(_("You already have a duel open with this person in this course."))
    conf = sel.duel_config()
    now = clock.now()
    return Duel.objects.create(
        course=course,
        challenger=challenger,
        opponent=opponent,
        matchmade=matchmade,
        rematch_of=rematch_of,
        question_ids=_pick_questions(course, conf.questions),
        seconds=conf.seconds,
        created_at=now,
        expires_at=now + dt.timedelta(hours=conf.challenge_hours),
    )


# -- challenges -----------------------------------------------------------------------------
@transaction.atomic
def duel_challenge(
    *, challenger: User, opponent: User, course: Course, rematch_of: Duel | None = None
) -> Duel:
    """Challenge a colleague of the course; they accept or decline before it lapses."""
    duel = _create(challenger=challenger, opponent=opponent, course=course, rematch_of=rematch_of)
    timers.schedule(duel.pk, duel.expires_at)
    _lobby(duel, "challenge.received", (opponent.pk,))
    _lobby(duel, "challenge.sent", (challenger.pk,))
    notify(
        recipients=[opponent],
        kind="leaderboards.duel",
        verb=_("%(name)s challenges you to a quiz duel in %(course)s")
        % {"name": challenger.name, "course": course.title},
        actor=challenger,
        target=duel,
        url=sel.lobby_url(course.pk),
        # On the duels page the challenge shows live: no push then.
        topic=f"leaderboards.lobby.{opponent.pk}",
    )
    return duel


@transaction.atomic
def duel_accept(*, user: User, duel: Duel) -> Duel:
    """The challenged player accepts: live if both are online now, else asynchronous."""
    duel = _lock(duel.pk)
    _advance(duel, clock.now())
    _require_player(user, duel)
    if user.pk != duel.opponent_id:
        raise PermissionDenied(_("Only the challenged player accepts."))
    if duel.status != DuelStatus.PENDING:
        raise Conflict(_("This challenge is no longer open."))
    _start(duel)
    return duel


@transaction.atomic
def duel_decline(*, user: User, duel: Duel) -> Duel:
    duel = _lock(duel.pk)
    _advance(duel, clock.now())
    _require_player(user, duel)
    if user.pk != duel.opponent_id:
        raise PermissionDenied(_("Only the challenged player declines."))
    return _end_challenge(duel, DuelStatus.DECLINED)


@transaction.atomic
def duel_cancel(*, user: User, duel: Duel) -> Duel:
    duel = _lock(duel.pk)
    _advance(duel, clock.now())
    _require_player(user, duel)
    if user.pk != duel.challenger_id:
        raise PermissionDenied(_("Only the challenger cancels."))
    return _end_challenge(duel, DuelStatus.CANCELLED)


def _end_challenge(duel: Duel, status: str) -> Duel:
    if duel.status != DuelStatus.PENDING:
        raise Conflict(_("This challenge is no longer open."))
    duel.status = status
    duel.finished_at = clock.now()
    duel.save(update_fields=["status", "finished_at"])
    _lobby(duel, "challenge.updated")
    return duel


@transaction.atomic
def duel_rematch(*, user: User, duel: Duel) -> Duel:
    """After a duel, challenge the same opponent again; if they asked first, accept theirs."""
    duel = duel_refresh(duel_id=duel.pk)
    _require_player(user, duel)
    if duel.status not in (DuelStatus.FINISHED, DuelStatus.EXPIRED):
        raise Conflict(_("Ask for a rematch once the duel is over."))
    theirs = Duel.objects.filter(
        rematch_of=duel, status=DuelStatus.PENDING, challenger_id=duel.other_id(user.pk)
    ).first()
    if theirs is not None:
        return duel_accept(user=user, duel=theirs)
    other = User.objects.get(pk=duel.other_id(user.pk))
    return duel_challenge(challenger=user, opponent=other, course=duel.course, rematch_of=duel)


# -- matchmaking ----------------------------------------------------------------------------
@transaction.atomic
def duel_queue_join(*, user: User, course: Course) -> Duel | None:
    """Wait for a random opponent of the course, or pair with one already waiting.

    The course row lock serialises joins of one course, so two people joining at once pair
    with each other exactly once: the second sees the first's entry and takes it.
    """
    if not sel.can_duel_in(user=user, course=course):
        raise PermissionDenied(_("Only the course's learners duel on its questions."))
    course = Course.objects.select_for_update().get(pk=course.pk)
    if not sel.bank_of(course).exists():
        raise ValidationError({"course": _("This course has no questions to duel on.")})
    waiting = (
        DuelQueueEntry.objects.filter(course=course)
        .exclude(user=user)
        .select_related("user")
        .order_by("created_at", "id")
    )
    for entry in waiting:
        if sel.open_duel_between(a=user, b=entry.user, course=course) is not None:
            continue
        DuelQueueEntry.objects.filter(course=course, user__in=[user, entry.user]).delete()
        duel = _create(challenger=entry.user, opponent=user, course=course, matchmade=True)
        _start(duel)
        return duel
    DuelQueueEntry.objects.get_or_create(
        course=course, user=user, defaults={"created_at": clock.now()}
    )
    realtime.publish(sel.lobby_topic(user.pk), "queue.waiting", {"course": course.pk})
    return None


@transaction.atomic
def duel_queue_leave(*, user: User, course: Course) -> bool:
    deleted, _count = DuelQueueEntry.objects.filter(course=course, user=user).delete()
    return bool(deleted)


# -- playing --------------------------------------------------------------------------------
def _start(duel: Duel) -> None:
    """Accepted (or matched): live when both players are online now, else each in turn."""
    conf = sel.duel_config()
    now = clock.now()
    live = all(sel.is_online(uid) for uid in duel.player_ids())
    duel.status = DuelStatus.ACTIVE
    duel.started_at = now
    if live:
        duel.mode = DuelMode.LIVE
        duel.expires_at = now + dt.timedelta(seconds=conf.ready_seconds)
    else:
        duel.mode = DuelMode.ASYNC
        duel.expires_at = now + dt.timedelta(hours=conf.async_hours)
    duel.save(update_fields=["status", "started_at", "mode", "expires_at"])
    timers.schedule(duel.pk, duel.expires_at)
    _emit(duel, "duel.started", {"duel": duel.pk, "mode": duel.mode})
    _lobby(duel, "duel.started")


@transaction.atomic
def duel_ready(*, user: User, duel: Duel) -> Duel:
    """The player is in the arena. Live: once both are, the first question opens (after a
    short countdown). Asynchronous: opens the player's next question, or returns the one
    still open (a reconnect carries on)."""
    now = clock.now()
    duel = _lock(duel.pk)
    _advance(duel, now)
    _require_player(user, duel)
    if duel.status != DuelStatus.ACTIVE:
        raise Conflict(_("This duel is not in play."))
    if duel.mode == DuelMode.LIVE:
        field = "challenger_ready" if user.pk == duel.challenger_id else "opponent_ready"
        if not getattr(duel, field):
            setattr(duel, field, True)
            duel.save(update_fields=[field])
            _emit(duel, "player.ready", {"duel": duel.pk, "user": user.pk})
        if duel.challenger_ready and duel.opponent_ready and duel.current_index < 0:
            conf = sel.duel_config()
            duel.expires_at = None
            duel.save(update_fields=["expires_at"])
            _open_live(duel, 0, now + dt.timedelta(seconds=conf.start_seconds), now)
        return duel
    mine = DuelTurn.objects.filter(duel=duel, user=user)
    if mine.filter(closed=False).exists():
        return duel
    index = mine.count()
    if index < duel.question_count:
        turn = DuelTurn.objects.create(
            duel=duel,
            user=user,
            index=index,
            question_id=duel.question_ids[index],
            opened_at=now,
            deadline=now + dt.timedelta(seconds=duel.seconds),
        )
        timers.schedule(duel.pk, turn.deadline)
    return duel


def _open_live(duel: Duel, index: int, at: dt.datetime, now: dt.datetime) -> None:
    """Announce question ``index`` to both players: it opens at ``at`` (after the start
    countdown or the reveal pause), with one server deadline.

    Only its timing goes out now (``question.upcoming``); its text follows as
    ``question.opened`` when the duel is advanced at or after ``at`` (the timer armed here,
    a read, an answer, the sweep), so no client can read it before its clock starts."""
    deadline = at + dt.timedelta(seconds=duel.seconds)
    question_id = duel.question_ids[index]
    turns = [
        DuelTurn.objects.create(
            duel=duel,
            user_id=uid,
            index=index,
            question_id=question_id,
            opened_at=at,
            deadline=deadline,
        )
        for uid in duel.player_ids()
    ]
    duel.current_index = index
    duel.save(update_fields=["current_index"])
    _emit(duel, "question.upcoming", sel.upcoming_payload(duel, turns[0]))
    if at > now:
        timers.schedule(duel.pk, at)  # publishes the text when its clock starts
    else:
        _release_question(duel, now)  # no pause configured: it opens at once
    timers.schedule(duel.pk, deadline)


def _release_question(duel: Duel, now: dt.datetime) -> None:
    """Publish the current live question's text once its clock has started: once per
    question, whichever path gets here first. The conditional UPDATE of ``opened_index``
    is the claim (as ``closed_index`` is for the close): a racer that lost publishes
    nothing."""
    index = duel.current_index
    if index < 0 or duel.opened_index >= index:
        return
    turn = (
        DuelTurn.objects.filter(duel=duel, index=index)
        .select_related("question")
        .prefetch_related("question__choices")
        .first()
    )
    if turn is None or not sel.is_open(turn, now):
        return
    if not Duel.objects.filter(pk=duel.pk, opened_index__lt=index).update(opened_index=index):
        duel.refresh_from_db(fields=["opened_index"])
        return
    duel.opened_index = index
    _emit(duel, "question.opened", sel.opened_payload(duel, turn))


def clean_answer(question: Question, answer: Any) -> Any:
    """The answer in the bank's own shape (choice ids, or a number); raise if malformed."""
    if question.kind == QuestionKind.NUMERIC:
        if isinstance(answer, bool) or not isinstance(answer, int | float | str):
            raise ValidationError({"answer": _("This question expects a number.")})
        try:
            number = float(answer)
        except ValueError:
            raise ValidationError({"answer": _("This question expects a number.")}) from None
        if not math.isfinite(number):
            raise ValidationError({"answer": _("This question expects a number.")})
        return number
    picked = answer if isinstance(answer, list) else [answer]
    if not picked or not all(isinstance(v, int) and not isinstance(v, bool) for v in picked):
        raise ValidationError({"answer": _("Answer with the id of a choice.")})
    valid = {c.pk for c in question.choices.all()}
    if not set(picked) <= valid or len(set(picked)) != len(picked):
        raise ValidationError({"answer": _("That is not one of this question's choices.")})
    if question.kind != QuestionKind.MULTIPLE and len(picked) > 1:
        raise ValidationError({"answer": _("This question takes one answer.")})
    return sorted(picked)


@transaction.atomic
def duel_answer(*, user: User, duel: Duel, index: int, answer: Any) -> DuelTurn:
    """One answer per question, timed on the server. A second answer is a conflict; an
    answer after the deadline (or to a question not open) is refused; a malformed one
    changes nothing."""
    now = clock.now()
    duel = _lock(duel.pk)
    _advance(duel, now)
    _require_player(user, duel)
    if duel.status != DuelStatus.ACTIVE:
        raise Conflict(_("This duel is not in play."))
    turn = (
        DuelTurn.objects.select_for_update()
        .select_related("question")
        .filter(duel=duel, user=user, index=index)
        .first()
    )
    if turn is None:
        raise ValidationError({"index": _("This question is not open.")})
    if turn.answered_at is not None:
        raise Conflict(_("You already answered this question."))
    if turn.closed or now > turn.deadline:
        raise ValidationError({"index": _("Time is up for this question.")})
    if now < turn.opened_at:
        raise ValidationError({"index": _("This question is not open yet.")})
    clean = clean_answer(turn.question, answer)
    turn.answer = clean
    turn.answered_at = now
    turn.correct = classrooms_selectors.answer_is_correct(question=turn.question, answer=clean)
    turn.points = sel.question_points(
        correct=turn.correct, opened_at=turn.opened_at, deadline=turn.deadline, at=now
    )
    if duel.mode == DuelMode.ASYNC:
        turn.closed = True  # a run's question closes with its player's answer
    turn.save(update_fields=["answer", "answered_at", "correct", "points", "closed"])
    if duel.mode == DuelMode.LIVE:
        # Others see that an answer came in, never which one before the question closes.
        _emit(duel, "question.answered", {"duel": duel.pk, "index": index, "user": user.pk})
    _advance(duel, now)
    return turn


@transaction.atomic
def duel_refresh(*, duel_id: int) -> Duel:
    """Close whatever is overdue and move the duel on (idempotent; any reader may call)."""
    duel = _lock(duel_id)
    _advance(duel, clock.now())
    return duel


def duels_sweep() -> int:
    """Move on every duel whose clock ran out (lapsed challenges and runs, questions past
    their deadline), and drop stale matchmaking entries. Idempotent; returns how many."""
    now = clock.now()
    done = 0
    for duel_id in list(sel.overdue_duels(now=now).values_list("id", flat=True)):
        duel_refresh(duel_id=duel_id)
        done += 1
    stale = now - dt.timedelta(hours=sel.duel_config().challenge_hours)
    DuelQueueEntry.objects.filter(created_at__lt=stale).delete()
    return done


# -- the state machine ----------------------------------------------------------------------
def _advance(duel: Duel, now: dt.datetime) -> None:
    """Apply the clock to a locked duel: lapse, open (publish the text), close, announce
    the next, finish as due."""
    if duel.status == DuelStatus.PENDING:
        if duel.expires_at is not None and now >= duel.expires_at:
            duel.status = DuelStatus.EXPIRED
            duel.finished_at = now
            duel.save(update_fields=["status", "finished_at"])
            _lobby(duel, "challenge.updated")
        return
    if duel.status != DuelStatus.ACTIVE:
        return
    if duel.mode == DuelMode.LIVE:
        _advance_live(duel, now)
    else:
        _advance_async(duel, now)


def _advance_live(duel: Duel, now: dt.datetime) -> None:
    if duel.current_index < 0:
        if duel.expires_at is not None and now >= duel.expires_at:
            # Not both in the arena in time: each plays in turn instead.
            conf = sel.duel_config()
            duel.mode = DuelMode.ASYNC
            duel.expires_at = now + dt.timedelta(hours=conf.async_hours)
            duel.save(update_fields=["mode", "expires_at"])
            timers.schedule(duel.pk, duel.expires_at)
            _emit(duel, "duel.mode", {"duel": duel.pk, "mode": duel.mode})
            _lobby(duel, "duel.updated")
        return
    index = duel.current_index
    if duel.closed_index >= index:
        return
    _release_question(duel, now)  # its text goes out before anything closes it
    turns = list(
        DuelTurn.objects.filter(duel=duel, index=index)
        .select_related("question")
        .prefetch_related("question__choices")
    )
    everyone_answered = all(t.answered_at is not None for t in turns)
    if not everyone_answered and now < turns[0].deadline:
        return
    # Claim the close: of two processes closing at once, one wins and publishes.
    if not Duel.objects.filter(pk=duel.pk, closed_index__lt=index).update(closed_index=index):
        duel.refresh_from_db()
        return
    duel.closed_index = index
    for turn in turns:
        turn.closed = True
    DuelTurn.objects.filter(pk__in=[t.pk for t in turns]).update(closed=True)
    gained = {t.user_id: t.points for t in turns}
    Duel.objects.filter(pk=duel.pk).update(
        challenger_score=F("challenger_score") + gained.get(duel.challenger_id, 0),
        opponent_score=F("opponent_score") + gained.get(duel.opponent_id, 0),
    )
    duel.challenger_score += gained.get(duel.challenger_id, 0)
    duel.opponent_score += gained.get(duel.opponent_id, 0)
    _emit(duel, "question.closed", sel.closed_payload(duel, index, turns))
    _emit(duel, "score", {"duel": duel.pk, "index": index, "scores": sel.scores(duel)})
    if index + 1 < duel.question_count:
        reveal = dt.timedelta(seconds=sel.duel_config().reveal_seconds)
        _open_live(duel, index + 1, now + reveal, now)
    else:
        _finish(duel, now)


def _advance_async(duel: Duel, now: dt.datetime) -> None:
    DuelTurn.objects.filter(duel=duel, closed=False, deadline__lt=now).update(closed=True)
    done = {
        uid: DuelTurn.objects.filter(duel=duel, user_id=uid, closed=True).count()
        >= duel.question_count
        for uid in duel.player_ids()
    }
    if all(done.values()):
        _finish(duel, now)
    elif duel.expires_at is not None and now >= duel.expires_at:
        _finish(duel, now, lapsed=done)


def _finish(duel: Duel, now: dt.datetime, lapsed: dict[int, bool] | None = None) -> None:
    """Decide the result, then ratings, points (and so badges), events and notices.

    ``lapsed``: an asynchronous duel ran out of time; whoever did not finish their run
    forfeits (both: the duel expires without a result)."""
    from leaderboards import services  # the points ledger (services imports no duel code)

    if duel.mode == DuelMode.ASYNC:
        for uid, field in (
            (duel.challenger_id, "challenger_score"),
            (duel.opponent_id, "opponent_score"),
        ):
            total = sum(
                DuelTurn.objects.filter(duel=duel, user_id=uid).values_list("points", flat=True)
            )
            setattr(duel, field, total)
    duel.finished_at = now
    duel.expires_at = None
    outcome: float | None  # the challenger's Elo score
    if lapsed is not None:
        finishers = [uid for uid, done in lapsed.items() if done]
        if not finishers:
            duel.status = DuelStatus.EXPIRED
            duel.save()
            _emit(duel, "duel.finished", {"duel": duel.pk, "status": duel.status, "result": None})
            _lobby(duel, "duel.finished")
            return
        duel.winner_id = finishers[0]
        duel.forfeit = True
    elif duel.challenger_score != duel.opponent_score:
        duel.winner_id = (
            duel.challenger_id if duel.challenger_score > duel.opponent_score else duel.opponent_id
        )
    duel.status = DuelStatus.FINISHED
    if duel.winner_id is None:
        outcome = 0.5
    else:
        outcome = 1.0 if duel.winner_id == duel.challenger_id else 0.0
    _apply_ratings(duel, outcome)
    duel.save()
    if duel.winner_id is not None:
        services.points_award(
            user=User.objects.get(pk=duel.winner_id),
            reason=Reason.DUEL_WON,
            source=duel,
            space=duel.course.space,
            course=duel.course,
        )
        hub_events.emit(
            "leaderboards.duel_won",
            user=User.objects.get(pk=duel.winner_id),
            duel=duel,
            course=duel.course,
        )
    _emit(
        duel,
        "duel.finished",
        {"duel": duel.pk, "status": duel.status, "result": sel.result_payload(duel)},
    )
    _lobby(duel, "duel.finished")
    if duel.mode == DuelMode.ASYNC:  # the players are away: tell them
        for uid in duel.player_ids():
            other = duel.challenger if uid == duel.opponent_id else duel.opponent
            me = duel.challenger if uid == duel.challenger_id else duel.opponent
            if duel.winner_id is None:
                verb = _("Your quiz duel with %(name)s is a draw")
            elif duel.winner_id == uid:
                verb = _("You won your quiz duel with %(name)s")
            else:
                verb = _("You lost your quiz duel with %(name)s")
            notify(
                recipients=[me],
                kind="leaderboards.duel",
                verb=verb % {"name": other.name},
                actor=other,
                target=duel,
                url=sel.arena_url(duel.pk),
            )


def _apply_ratings(duel: Duel, challenger_outcome: float) -> None:
    """Elo (K = 32) for both players of the course, once per duel (the duel is locked and
    finishes once)."""
    ratings = {}
    for uid in duel.player_ids():
        DuelRating.objects.get_or_create(course_id=duel.course_id, user_id=uid)
        ratings[uid] = DuelRating.objects.select_for_update().get(
            course_id=duel.course_id, user_id=uid
        )
    mine, theirs = ratings[duel.challenger_id], ratings[duel.opponent_id]
    change_c = sel.elo_change(mine.rating, theirs.rating, challenger_outcome)
    change_o = sel.elo_change(theirs.rating, mine.rating, 1 - challenger_outcome)
    for rating, change, outcome in (
        (mine, change_c, challenger_outcome),
        (theirs, change_o, 1 - challenger_outcome),
    ):
        rating.rating += change
        rating.played += 1
        if outcome == 1:
            rating.won += 1
        elif outcome == 0:
            rating.lost += 1
        else:
            rating.drawn += 1
        rating.save()
    duel.challenger_rating_change = change_c
    duel.opponent_rating_change = change_o
