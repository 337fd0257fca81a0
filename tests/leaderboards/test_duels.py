"""The duel state machine with a fake clock: challenges, live rounds (time-outs, both
answering, simultaneous answers, late and double answers, disconnects), asynchronous runs
(expiry, forfeit), results (points, badge, Elo), matchmaking, the sweep."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from classrooms import services as classrooms_services
from classrooms.services import Conflict
from leaderboards import duel_selectors, duel_services
from leaderboards.models import (
    BadgeAward,
    BadgeCriterion,
    BadgeDefinition,
    Duel,
    DuelEvent,
    DuelMode,
    DuelQueueEntry,
    DuelRating,
    DuelStatus,
    DuelTurn,
    PointAward,
    Reason,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def three_questions(settings, monkeypatch):
    """3 questions of 10 s, in bank order (single, multiple, true/false) instead of drawn
    at random, so each test knows its questions."""
    settings.DUEL_QUESTIONS = 3
    settings.DUEL_SECONDS = 10
    monkeypatch.setattr(
        duel_services,
        "_pick_questions",
        lambda course, count: list(
            duel_selectors.bank_of(course).order_by("id").values_list("id", flat=True)[:count]
        ),
    )


def right(question):
    if question.kind == "numeric":
        return question.numeric_answer
    return sorted(c.pk for c in question.choices.all() if c.is_correct)


def wrong(question):
    if question.kind == "numeric":
        return (question.numeric_answer or 0) + 1000
    ids = [c.pk for c in question.choices.all() if not c.is_correct]
    return ids[:1]


def question_at(duel, index):
    from classrooms.models import Question

    return Question.objects.get(pk=duel.question_ids[index])


def events(duel, type=None):
    qs = DuelEvent.objects.filter(duel=duel)
    if type:
        qs = qs.filter(type=type)
    return list(qs)


def live_duel(course_setup, learner, learner2, online, clock):
    """A live duel with both players ready; its first question is open (3 s countdown)."""
    online.add(learner, learner2)
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    duel = duel_services.duel_accept(user=learner2, duel=duel)
    assert duel.mode == DuelMode.LIVE
    duel_services.duel_ready(user=learner, duel=duel)
    duel = duel_services.duel_ready(user=learner2, duel=duel)
    assert duel.current_index == 0
    clock.advance(3)  # the countdown: the question opens now
    # What the timer armed for its opens_at does: publish the question's text.
    return duel_services.duel_refresh(duel_id=duel.pk)


# -- challenges ------------------------------------------------------------------------------
def test_challenge_accept_goes_live_when_both_online(
    course_setup, learner, learner2, online, clock, published
):
    online.add(learner, learner2)
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    assert duel.status == DuelStatus.PENDING and len(duel.question_ids) == 3
    assert [e.type for e in published(f"leaderboards.lobby.{learner2.pk}")] == [
        "challenge.received"
    ]
    duel = duel_services.duel_accept(user=learner2, duel=duel)
    assert (duel.status, duel.mode) == (DuelStatus.ACTIVE, DuelMode.LIVE)
    lobby = [e.type for e in published(f"leaderboards.lobby.{learner.pk}")]
    assert lobby[-1] == "duel.started"


def test_accept_goes_async_when_the_opponent_is_away(
    course_setup, learner, learner2, online, clock
):
    online.add(learner2)  # the challenger left
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    duel = duel_services.duel_accept(user=learner2, duel=duel)
    assert duel.mode == DuelMode.ASYNC
    assert duel.expires_at == clock.now + __import__("datetime").timedelta(hours=24)


def test_bad_challenges_change_nothing(course_setup, learner, learner2, outsider, space, clock):
    course = course_setup.course
    with pytest.raises(ValidationError):
        duel_services.duel_challenge(challenger=learner, opponent=learner, course=course)
    with pytest.raises(ValidationError):
        duel_services.duel_challenge(challenger=learner, opponent=outsider, course=course)
    not_enrolled = UserFactory(spaces=[space])
    with pytest.raises(ValidationError):
        duel_services.duel_challenge(challenger=learner, opponent=not_enrolled, course=course)
    with pytest.raises(PermissionDenied):
        duel_services.duel_challenge(challenger=not_enrolled, opponent=learner, course=course)
    assert not Duel.objects.exists()
    duel_services.duel_challenge(challenger=learner, opponent=learner2, course=course)
    with pytest.raises(Conflict):  # one open duel per pair and course
        duel_services.duel_challenge(challenger=learner2, opponent=learner, course=course)
    assert Duel.objects.count() == 1


def test_only_the_right_player_accepts_declines_cancels(course_setup, learner, learner2, clock):
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    with pytest.raises(PermissionDenied):
        duel_services.duel_accept(user=learner, duel=duel)
    with pytest.raises(PermissionDenied):
        duel_services.duel_cancel(user=learner2, duel=duel)
    duel = duel_services.duel_decline(user=learner2, duel=duel)
    assert duel.status == DuelStatus.DECLINED
    with pytest.raises(Conflict):
        duel_services.duel_accept(user=learner2, duel=duel)


def test_an_unanswered_challenge_lapses(course_setup, learner, learner2, clock):
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    clock.advance(24 * 3600 + 1)
    assert duel_services.duels_sweep() == 1
    duel.refresh_from_db()
    assert duel.status == DuelStatus.EXPIRED
    with pytest.raises(Conflict):
        duel_services.duel_accept(user=learner2, duel=duel)


def test_opening_the_arena_changes_nothing(course_setup, learner, learner2, clock, client):
    """No state change on GET: the arena's page renders the stored duel; the clock is
    applied by the page's own socket action (``state`` / ``ready``) or the sweep."""
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    clock.advance(24 * 3600 + 1)  # the challenge is overdue
    before = len(events(duel))
    client.force_login(learner)
    assert client.get(f"/leaderboards/duels/{duel.pk}/").status_code == 200
    duel.refresh_from_db()
    assert duel.status == DuelStatus.PENDING and len(events(duel)) == before
    assert duel_services.duels_sweep() == 1


# -- live rounds -----------------------------------------------------------------------------
def test_live_round_scores_correctness_and_speed(
    course_setup, learner, learner2, online, clock, published
):
    duel = live_duel(course_setup, learner, learner2, online, clock)
    opened = events(duel, "question.opened")
    assert len(opened) == 1
    # No correct answer leaves the server before the question closes.
    choices = opened[0].data["question"]["choices"]
    assert all(set(c) == {"id", "text"} for c in choices)
    assert "numeric_answer" not in opened[0].data["question"]
    q0 = question_at(duel, 0)
    clock.advance(2)  # 8 s of 10 left
    turn = duel_services.duel_answer(user=learner, duel=duel, index=0, answer=right(q0))
    assert turn.correct and turn.points == 180
    duel.refresh_from_db()
    assert duel.closed_index == -1 and duel.challenger_score == 0  # no score before the close
    clock.advance(5)
    duel_services.duel_answer(user=learner2, duel=duel, index=0, answer=wrong(q0))
    duel.refresh_from_db()
    # Both answered: it closes at once, reveals, scores, and the next opens after the reveal.
    assert duel.closed_index == 0 and duel.current_index == 1
    closed = events(duel, "question.closed")[0].data
    assert closed["correct"] == right(q0)
    assert closed["results"][str(learner.pk)]["points"] == 180
    assert closed["results"][str(learner2.pk)]["correct"] is False
    assert events(duel, "score")[0].data["scores"] == {str(learner.pk): 180, str(learner2.pk): 0}
    # The next question is announced (its timing only) and opens after the reveal.
    nxt = events(duel, "question.upcoming")[1].data
    assert nxt["index"] == 1 and nxt["opens_at"] == (clock.now + _s(2)).isoformat()
    assert "question" not in nxt and len(events(duel, "question.opened")) == 1
    clock.advance(2)
    duel_services.duel_refresh(duel_id=duel.pk)
    opened = events(duel, "question.opened")[1].data
    assert opened["index"] == 1 and opened["question"]["id"] == duel.question_ids[1]


def _s(seconds):
    import datetime as dt

    return dt.timedelta(seconds=seconds)


def test_time_up_closes_the_question_without_the_client(
    course_setup, learner, learner2, online, clock
):
    """A disconnected player simply times out: the question closes at its deadline (on
    the next read, timer, job or sweep) and the duel carries on."""
    duel = live_duel(course_setup, learner, learner2, online, clock)
    q0 = question_at(duel, 0)
    duel_services.duel_answer(user=learner, duel=duel, index=0, answer=right(q0))
    clock.advance(9.9)
    duel = duel_services.duel_refresh(duel_id=duel.pk)
    assert duel.closed_index == -1  # not yet
    clock.advance(0.2)
    assert duel_services.duels_sweep() == 1  # what the backstop job does
    duel.refresh_from_db()
    assert duel.closed_index == 0 and duel.current_index == 1
    gone = DuelTurn.objects.get(duel=duel, user=learner2, index=0)
    assert gone.closed and gone.answered_at is None and gone.points == 0
    assert duel_services.duels_sweep() == 0  # idempotent: nothing overdue any more


def test_answers_after_the_deadline_are_refused(course_setup, learner, learner2, online, clock):
    duel = live_duel(course_setup, learner, learner2, online, clock)
    q0 = question_at(duel, 0)
    clock.advance(10.5)
    with pytest.raises(ValidationError):
        duel_services.duel_answer(user=learner, duel=duel, index=0, answer=right(q0))
    # The refusal changed nothing; the next read closes the overdue question.
    assert duel_services.duel_refresh(duel_id=duel.pk).closed_index == 0
    assert not DuelTurn.objects.filter(duel=duel, index=0, answered_at__isnull=False).exists()


def test_answer_before_the_question_opens_is_refused(
    course_setup, learner, learner2, online, clock
):
    online.add(learner, learner2)
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    duel_services.duel_accept(user=learner2, duel=duel)
    duel_services.duel_ready(user=learner, duel=duel)
    duel_services.duel_ready(user=learner2, duel=duel)
    with pytest.raises(ValidationError):  # still in the 3 s countdown
        duel_services.duel_answer(
            user=learner, duel=duel, index=0, answer=right(question_at(duel, 0))
        )


def test_one_answer_per_question(course_setup, learner, learner2, online, clock):
    duel = live_duel(course_setup, learner, learner2, online, clock)
    q0 = question_at(duel, 0)
    duel_services.duel_answer(user=learner, duel=duel, index=0, answer=wrong(q0))
    with pytest.raises(Conflict):
        duel_services.duel_answer(user=learner, duel=duel, index=0, answer=right(q0))
    turn = DuelTurn.objects.get(duel=duel, user=learner, index=0)
    assert turn.correct is False


def test_simultaneous_answers_close_once(course_setup, learner, learner2, online, clock):
    """Both answers arrive at the same instant: one close, one reveal, one next question."""
    duel = live_duel(course_setup, learner, learner2, online, clock)
    q0 = question_at(duel, 0)
    clock.advance(1)
    duel_services.duel_answer(user=learner, duel=duel, index=0, answer=right(q0))
    duel_services.duel_answer(user=learner2, duel=duel, index=0, answer=right(q0))
    duel_services.duel_refresh(duel_id=duel.pk)
    assert len(events(duel, "question.closed")) == 1
    assert len(events(duel, "question.upcoming")) == 2  # one next question announced
    assert len(events(duel, "question.opened")) == 1  # its text waits for the reveal pause
    duel.refresh_from_db()
    assert duel.challenger_score == duel.opponent_score == 190


@pytest.mark.parametrize(
    "answer",
    [None, {"x": 1}, "abc", [], [999999], True, 1.5, [1, 1]],
    ids=["none", "object", "text", "empty", "unknown", "bool", "float", "twice"],
)
def test_malformed_answers_change_nothing(course_setup, learner, learner2, online, clock, answer):
    duel = live_duel(course_setup, learner, learner2, online, clock)
    with pytest.raises(ValidationError):
        duel_services.duel_answer(user=learner, duel=duel, index=0, answer=answer)
    with pytest.raises(ValidationError):
        duel_services.duel_answer(user=learner, duel=duel, index=5, answer=1)
    assert not DuelTurn.objects.filter(duel=duel, answered_at__isnull=False).exists()


def test_someone_else_cannot_play(course_setup, learner, learner2, online, clock, space):
    duel = live_duel(course_setup, learner, learner2, online, clock)
    stranger = UserFactory(spaces=[space])
    with pytest.raises(PermissionDenied):
        duel_services.duel_answer(user=stranger, duel=duel, index=0, answer=1)
    with pytest.raises(PermissionDenied):
        duel_services.duel_ready(user=stranger, duel=duel)


def test_a_live_duel_to_its_result(course_setup, learner, learner2, online, clock, space):
    BadgeDefinition.objects.create(
        space=space, name="Duellist", criterion=BadgeCriterion.DUEL_WINS, threshold=1
    )
    duel = live_duel(course_setup, learner, learner2, online, clock)
    for index in range(3):
        q = question_at(duel, index)
        clock.advance(1)
        duel_services.duel_answer(user=learner, duel=duel, index=index, answer=right(q))
        duel_services.duel_answer(user=learner2, duel=duel, index=index, answer=wrong(q))
        clock.advance(2)  # the reveal: the next question opens
    duel.refresh_from_db()
    assert duel.status == DuelStatus.FINISHED
    assert duel.winner_id == learner.pk and duel.challenger_score == 3 * 190
    assert (duel.challenger_rating_change, duel.opponent_rating_change) == (16, -16)
    assert DuelRating.objects.get(user=learner, course=course_setup.course).rating == 1216
    assert DuelRating.objects.get(user=learner2, course=course_setup.course).rating == 1184
    award = PointAward.objects.get(user=learner, reason=Reason.DUEL_WON)
    assert award.amount == 25 and award.course_id == course_setup.course.pk
    assert BadgeAward.objects.filter(user=learner, badge__name="Duellist").exists()
    finished = events(duel, "duel.finished")
    assert len(finished) == 1 and finished[0].data["result"]["winner"] == learner.pk
    # Finishing is once: more reads change nothing.
    clock.advance(60)
    duel_services.duel_refresh(duel_id=duel.pk)
    assert DuelRating.objects.get(user=learner, course=course_setup.course).played == 1
    state = duel_selectors.duel_payload(duel, viewer=learner2)
    assert state["result"]["rating_change"][str(learner2.pk)] == -16
    assert len(state["closed"]) == 3


def test_a_draw_pays_nobody(course_setup, learner, learner2, online, clock):
    duel = live_duel(course_setup, learner, learner2, online, clock)
    for _index in range(3):
        clock.advance(11)  # nobody answers: every question times out
        duel_services.duels_sweep()
        clock.advance(2)
    duel.refresh_from_db()
    assert duel.status == DuelStatus.FINISHED and duel.winner_id is None
    assert (duel.challenger_rating_change, duel.opponent_rating_change) == (0, 0)
    assert not PointAward.objects.filter(reason=Reason.DUEL_WON).exists()


def test_nobody_in_the_arena_turns_the_duel_async(course_setup, learner, learner2, online, clock):
    online.add(learner, learner2)
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    duel = duel_services.duel_accept(user=learner2, duel=duel)
    duel_services.duel_ready(user=learner, duel=duel)
    clock.advance(61)
    duel = duel_services.duel_refresh(duel_id=duel.pk)
    assert duel.mode == DuelMode.ASYNC and duel.current_index == -1
    assert [e.type for e in events(duel)][-1] == "duel.mode"


def test_reconnect_carries_on_from_the_state(course_setup, learner, learner2, online, clock):
    duel = live_duel(course_setup, learner, learner2, online, clock)
    q0 = question_at(duel, 0)
    duel_services.duel_answer(user=learner, duel=duel, index=0, answer=right(q0))
    state = duel_selectors.duel_payload(Duel.objects.get(pk=duel.pk), viewer=learner)
    assert state["current"]["index"] == 0
    assert state["current"]["my_answer"] == right(q0)
    assert state["current"]["answered"] == [learner.pk]
    assert "is_correct" not in str(state["current"])
    assert state["closed"] == []
    other = duel_selectors.duel_payload(Duel.objects.get(pk=duel.pk), viewer=learner2)
    assert other["current"]["my_answer"] is None


# -- asynchronous ----------------------------------------------------------------------------
def async_duel(course_setup, learner, learner2, clock):
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    duel = duel_services.duel_accept(user=learner2, duel=duel)
    assert duel.mode == DuelMode.ASYNC
    return duel


def play_run(duel, user, clock, answers):
    for index, good in enumerate(answers):
        duel = duel_services.duel_ready(user=user, duel=duel)
        q = question_at(duel, index)
        clock.advance(5)
        if good is None:
            clock.advance(6)  # this one times out
            continue
        turn = duel_services.duel_answer(
            user=user, duel=duel, index=index, answer=right(q) if good else wrong(q)
        )
        assert turn.closed  # a run's question closes with its answer
    return duel


def test_async_result_goes_out_when_both_have_played(course_setup, learner, learner2, clock):
    duel = async_duel(course_setup, learner, learner2, clock)
    play_run(duel, learner2, clock, [True, True, None])
    duel = duel_services.duel_refresh(duel_id=duel.pk)
    assert duel.status == DuelStatus.ACTIVE
    # The opponent's results stay hidden while the other has not played.
    mine = duel_selectors.duel_payload(duel, viewer=learner)
    assert mine["closed"] == [] and mine["scores"] == {str(learner.pk): 0, str(learner2.pk): 0}
    assert not events(duel, "question.closed")
    clock.advance(3600)
    play_run(duel, learner, clock, [True, False, False])
    duel.refresh_from_db()
    assert duel.status == DuelStatus.FINISHED
    assert duel.winner_id == learner2.pk and duel.opponent_score == 300
    assert duel.challenger_score == 150


def test_async_reconnect_returns_the_open_question(course_setup, learner, learner2, clock):
    duel = async_duel(course_setup, learner, learner2, clock)
    duel_services.duel_ready(user=learner, duel=duel)
    duel_services.duel_ready(user=learner, duel=duel)  # a reload: the same question
    assert DuelTurn.objects.filter(duel=duel, user=learner).count() == 1
    state = duel_selectors.duel_payload(duel, viewer=learner)
    assert state["current"]["index"] == 0
    assert duel_selectors.duel_payload(duel, viewer=learner2)["current"] is None


def test_async_expiry_forfeits_who_did_not_play(course_setup, learner, learner2, clock):
    duel = async_duel(course_setup, learner, learner2, clock)
    play_run(duel, learner, clock, [False, False, False])
    duel_services.duel_ready(user=learner2, duel=duel)  # starts, then leaves
    clock.advance(24 * 3600)
    assert duel_services.duels_sweep() == 1
    duel.refresh_from_db()
    assert duel.status == DuelStatus.FINISHED and duel.forfeit
    assert duel.winner_id == learner.pk
    assert PointAward.objects.filter(user=learner, reason=Reason.DUEL_WON).count() == 1
    assert duel_services.duels_sweep() == 0
    assert PointAward.objects.filter(user=learner, reason=Reason.DUEL_WON).count() == 1


def test_async_expiry_with_nobody_done_expires(course_setup, learner, learner2, clock):
    duel = async_duel(course_setup, learner, learner2, clock)
    clock.advance(24 * 3600 + 1)
    duel_services.duels_sweep()
    duel.refresh_from_db()
    assert duel.status == DuelStatus.EXPIRED and duel.winner_id is None
    assert not DuelRating.objects.exists()


def test_the_expiry_job_runs_the_sweep(course_setup, learner, learner2, clock, run_tasks):
    from leaderboards.tasks import duels_sweep_job

    duel = async_duel(course_setup, learner, learner2, clock)
    clock.advance(24 * 3600 + 1)
    duels_sweep_job.enqueue()
    run_tasks()
    duel.refresh_from_db()
    assert duel.status == DuelStatus.EXPIRED


# -- Elo -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mine", "theirs", "score", "change"),
    [
        (1200, 1200, 1, 16),
        (1200, 1200, 0.5, 0),
        (1200, 1200, 0, -16),
        (1400, 1200, 1, 8),  # the favourite gains little
        (1200, 1400, 1, 24),  # the underdog gains much
        (1400, 1200, 0, -24),
        (1600, 1200, 0.5, -13),
    ],
)
def test_elo(mine, theirs, score, change):
    assert duel_selectors.elo_change(mine, theirs, score) == change
    assert duel_selectors.elo_change(theirs, mine, 1 - score) == -change


def test_rating_moves_from_current_ratings(course_setup, learner, learner2, online, clock):
    DuelRating.objects.create(course=course_setup.course, user=learner, rating=1400)
    duel = live_duel(course_setup, learner, learner2, online, clock)
    for index in range(3):
        q = question_at(duel, index)
        duel_services.duel_answer(user=learner2, duel=duel, index=index, answer=right(q))
        duel_services.duel_answer(user=learner, duel=duel, index=index, answer=wrong(q))
        clock.advance(2)
    assert DuelRating.objects.get(user=learner).rating == 1376
    assert DuelRating.objects.get(user=learner2).rating == 1224


# -- matchmaking and rematch -----------------------------------------------------------------
def test_matchmaking_pairs_two_waiting_learners(course_setup, learner, learner2, clock):
    course = course_setup.course
    assert duel_services.duel_queue_join(user=learner, course=course) is None
    assert duel_services.duel_queue_join(user=learner, course=course) is None  # once
    assert DuelQueueEntry.objects.count() == 1
    duel = duel_services.duel_queue_join(user=learner2, course=course)
    assert duel is not None and duel.matchmade and duel.status == DuelStatus.ACTIVE
    assert {duel.challenger_id, duel.opponent_id} == {learner.pk, learner2.pk}
    assert not DuelQueueEntry.objects.exists()
    # The queue is empty again: the next one waits.
    third = UserFactory(spaces=[course.space])
    classrooms_services.enrolment_create(
        actor=course_setup.course.trainers.first(), user=third, course=course
    )
    assert duel_services.duel_queue_join(user=third, course=course) is None


def test_matchmaking_outsider_refused(course_setup, outsider, learner, clock):
    with pytest.raises(PermissionDenied):
        duel_services.duel_queue_join(user=outsider, course=course_setup.course)
    assert duel_services.duel_queue_leave(user=learner, course=course_setup.course) is False


def test_rematch_the_other_accepts_by_asking_too(course_setup, learner, learner2, online, clock):
    duel = live_duel(course_setup, learner, learner2, online, clock)
    with pytest.raises(Conflict):
        duel_services.duel_rematch(user=learner, duel=duel)  # not over yet
    for _index in range(3):
        clock.advance(11)
        duel_services.duels_sweep()
        clock.advance(2)
    again = duel_services.duel_rematch(user=learner2, duel=duel)
    assert again.status == DuelStatus.PENDING and again.rematch_of_id == duel.pk
    accepted = duel_services.duel_rematch(user=learner, duel=duel)
    assert accepted.pk == again.pk and accepted.status == DuelStatus.ACTIVE


def test_the_backstop_job_closes_a_question_whose_process_died(
    course_setup, learner, learner2, online, clock, run_tasks
):
    """No timer fired (its process died): the job due after the deadline closes it."""
    duel = live_duel(course_setup, learner, learner2, online, clock)
    clock.advance(11)
    assert run_tasks() >= 1
    duel.refresh_from_db()
    assert duel.closed_index == 0 and duel.current_index == 1
    assert len(events(duel, "question.closed")) == 1
