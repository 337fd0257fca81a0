"""Live quiz games: launching, joining, the server-timed questions, scoring (speed, streak
bonus a player may turn off, teams), answers counted once, results paid as points."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from classrooms.models import Question
from classrooms.services import Conflict
from games import selectors as sel
from games import services
from games.models import Game, GameAnswer, GameEvent, GamePlayer, GameStatus
from leaderboards.models import PointAward, Reason
from tests.games.conftest import right, wrong

pytestmark = pytest.mark.django_db


def current_question(game: Game) -> Question:
    game.refresh_from_db()
    return Question.objects.get(pk=game.question_ids[game.current_index])


def test_only_the_course_trainers_launch_a_game(course_setup, trainer, learner):
    with pytest.raises(PermissionDenied):
        services.game_create(host=learner, course=course_setup.course)
    game = services.game_create(host=trainer, course=course_setup.course, questions=3)
    assert len(game.code) == 6 and game.code.isascii() and game.code.isdecimal()
    assert game.status == GameStatus.LOBBY
    assert len(game.question_ids) == 3
    with pytest.raises(ValidationError):
        services.game_create(host=trainer, course=course_setup.course, seconds=2)
    assert Game.objects.count() == 1


def test_a_course_without_questions_has_no_game(trainer, space):
    from classrooms import services as classrooms

    course = classrooms.course_create(author=trainer, space=space, title="Empty", published=True)
    with pytest.raises(ValidationError):
        services.game_create(host=trainer, course=course)


def test_join_by_code_rejoin_keeps_the_player_and_outsiders_stay_out(
    course_setup, trainer, learner, outsider
):
    game = services.game_create(host=trainer, course=course_setup.course)
    assert sel.open_game_by_code(game.code) == game
    first = services.game_join(user=learner, game=game)
    first.score = 1234
    first.save()
    again = services.game_join(user=learner, game=game)
    assert again.pk == first.pk and again.score == 1234
    with pytest.raises(PermissionDenied):
        services.game_join(user=outsider, game=game)
    assert GamePlayer.objects.filter(game=game).count() == 1


def test_team_mode_spreads_players(course_setup, trainer, learner, learner2, coordinator):
    game = services.game_create(
        host=trainer, course=course_setup.course, team_mode=True, team_count=2
    )
    teams = [services.game_join(user=u, game=game).team for u in (learner, learner2, coordinator)]
    assert teams == [0, 1, 0]
    with pytest.raises(ValidationError):
        services.game_create(host=trainer, course=course_setup.course, team_mode=True, team_count=9)


def test_a_question_is_timed_on_the_server_and_scored_for_speed_and_streak(
    course_setup, trainer, learner, learner2, clock, published
):
    game = services.game_create(host=trainer, course=course_setup.course, questions=4, seconds=20)
    with pytest.raises(Conflict):  # nobody there yet
        services.game_next(user=trainer, game=game)
    services.game_join(user=learner, game=game)
    services.game_join(user=learner2, game=game)
    services.game_set_streak_bonus(user=learner2, game=game, enabled=False)
    with pytest.raises(PermissionDenied):
        services.game_next(user=learner, game=game)

    totals = {learner.pk: 0, learner2.pk: 0}
    for index in range(2):
        services.game_next(user=trainer, game=game)
        q = current_question(game)
        with pytest.raises(Conflict):
            services.game_next(user=trainer, game=game)
        opened = published(game.topic)[-1]
        assert opened.type == "question.opened" and opened.data["index"] == index
        assert "correct" not in opened.data
        assert "is_correct" not in str(opened.data["question"])
        clock.advance(5)  # a quarter of the time: 1000 x (1 - 0.25 / 2) = 875
        services.game_answer(user=learner, game_id=game.pk, index=index, answer=right(q))
        services.game_answer(user=learner2, game_id=game.pk, index=index, answer=right(q))
        with pytest.raises(Conflict):
            services.game_answer(user=learner, game_id=game.pk, index=index, answer=wrong(q))
        # Both answered: the flush (on commit, at once here) closes the question.
        published()
        game.refresh_from_db()
        assert game.status == GameStatus.REVEAL and game.closed_index == index
        closed = [e for e in published(game.topic) if e.type == "question.closed"][-1]
        results = [e for e in published(game.host_topic) if e.type == "question.results"][-1]
        # The second correct answer in a row pays a 100 streak bonus, unless turned off.
        bonus = 100 if index == 1 else 0
        totals[learner.pk] += 875 + bonus
        totals[learner2.pk] += 875
        mine = results.data["results"][str(learner.pk)]
        assert mine[:3] == [875 + bonus, totals[learner.pk], index + 1]
        assert results.data["results"][str(learner2.pk)][:2] == [875, totals[learner2.pk]]
        assert closed.data["podium"][0]["user"]["id"] == learner.pk or index == 0
        assert closed.data["distribution"]["answered"] == 2
        assert closed.data["correct"]
    assert GameAnswer.objects.filter(game=game).count() == 4

    # Third question: one answers wrong, the other not at all; the deadline closes it.
    services.game_next(user=trainer, game=game)
    q = current_question(game)
    services.game_answer(user=learner, game_id=game.pk, index=2, answer=wrong(q))
    clock.advance(21)
    with pytest.raises(ValidationError):
        services.game_answer(user=learner2, game_id=game.pk, index=2, answer=right(q))
    services.game_refresh(game_id=game.pk)
    game.refresh_from_db()
    assert game.status == GameStatus.REVEAL
    me = GamePlayer.objects.get(game=game, user=learner)
    assert (me.score, me.streak, me.correct_count) == (totals[learner.pk], 0, 2)
    # An answer to a closed question is refused and changes nothing.
    with pytest.raises(ValidationError):
        services.game_answer(user=learner2, game_id=game.pk, index=2, answer=right(q))
    assert GameAnswer.objects.filter(game=game, index=2).count() == 1


def test_malformed_answers_change_nothing(course_setup, trainer, learner, clock):
    game = services.game_create(host=trainer, course=course_setup.course, questions=1)
    services.game_join(user=learner, game=game)
    services.game_next(user=trainer, game=game)
    q = current_question(game)
    bad = ["x", True, [10**9]] if q.kind != "numeric" else ["x", True, "nan"]
    for answer in bad:
        with pytest.raises(ValidationError):
            services.game_answer(user=learner, game_id=game.pk, index=0, answer=answer)
    with pytest.raises(ValidationError):
        services.game_answer(user=learner, game_id=game.pk, index=1, answer=right(q))
    assert not GameAnswer.objects.exists()


def test_a_non_player_cannot_answer(course_setup, trainer, learner, learner2, clock):
    game = services.game_create(host=trainer, course=course_setup.course, questions=1)
    services.game_join(user=learner, game=game)
    services.game_next(user=trainer, game=game)
    with pytest.raises(PermissionDenied):
        services.game_answer(user=learner2, game_id=game.pk, index=0, answer=1)


def test_the_end_pays_points_once_and_the_podium(
    course_setup, trainer, learner, learner2, clock, published
):
    game = services.game_create(host=trainer, course=course_setup.course, questions=1)
    for user in (learner, learner2):
        services.game_join(user=user, game=game)
    services.game_next(user=trainer, game=game)
    q = current_question(game)
    services.game_answer(user=learner, game_id=game.pk, index=0, answer=right(q))
    services.game_answer(user=learner2, game_id=game.pk, index=0, answer=wrong(q))
    published()  # both answered: closed
    services.game_next(user=trainer, game=game)  # after the last: the final podium
    game.refresh_from_db()
    assert game.status == GameStatus.FINISHED
    finished = [e for e in published(game.topic) if e.type == "game.finished"]
    assert finished[0].data["podium"][0]["user"]["id"] == learner.pk
    awards = set(PointAward.objects.values_list("user_id", "reason"))
    assert awards == {
        (learner.pk, Reason.GAME_PLAYED),
        (learner2.pk, Reason.GAME_PLAYED),
        (learner.pk, Reason.GAME_PODIUM),
    }
    with pytest.raises(Conflict):
        services.game_finish(user=trainer, game=game)
    with pytest.raises(Conflict):
        services.game_next(user=trainer, game=game)
    assert PointAward.objects.count() == 3
    # Events are durable: a screen that reconnects replays them in order.
    types = list(GameEvent.objects.filter(game=game).values_list("type", flat=True))
    assert types == ["question.opened", "question.closed", "game.finished"]


def test_host_closes_early_and_state_never_shows_the_answer_while_open(
    course_setup, trainer, learner, clock
):
    game = services.game_create(host=trainer, course=course_setup.course, questions=2)
    services.game_join(user=learner, game=game)
    services.game_next(user=trainer, game=game)
    for viewer in (trainer, learner):
        state = sel.game_state(game.pk, viewer=viewer)
        assert state["status"] == "question"
        assert "correct" not in state["current"]
        assert "is_correct" not in str(state["current"])
    assert "distribution" in sel.game_state(game.pk, viewer=trainer)
    assert "distribution" not in sel.game_state(game.pk, viewer=learner)
    services.game_close(user=trainer, game=game)
    state = sel.game_state(game.pk, viewer=learner)
    assert state["status"] == "reveal" and state["reveal"]["correct"]
    assert state["me"]["score"] == 0


def test_a_game_inside_a_live_class_is_announced_there_and_open_to_its_people(
    trainer, space, learner, learner2, outsider, published
):
    from classrooms import services as classrooms
    from classrooms.models import QuestionKind
    from tests.factories import build_live_class

    live = build_live_class(trainer=trainer, space=space, learners=[learner])
    classrooms.question_create(
        user=trainer,
        course=live.course,
        kind=QuestionKind.TRUE_FALSE,
        text="Bonjour means hello.",
        choices=[{"text": "True", "is_correct": True}, {"text": "False"}],
    )
    with pytest.raises(PermissionDenied):
        services.game_create(host=learner, course=live.course, live_class=live.live_class)
    game = services.game_create(host=trainer, course=live.course, live_class=live.live_class)
    launched = published(f"classrooms.liveclass.{live.live_class.pk}")
    assert [e.type for e in launched][-1] == "game.launched"
    assert launched[-1].data["code"] == game.code
    assert sel.can_join(user=learner, game=game)
    # Not a learner of the class's course: not in the class, not in its game.
    assert not sel.can_join(user=learner2, game=game)
    assert not sel.can_join(user=outsider, game=game)


def test_a_quiz_played_as_a_game_is_completed_by_the_players_who_pass_it(
    course_setup, trainer, learner, learner2, commit, run_tasks
):
    """The game's results feed the course's progress: the quiz's pass mark (75 %) decides."""
    from classrooms.models import Completion

    quiz = course_setup.quiz
    quiz.questions.set(course_setup.questions[:2])
    game = services.game_create(host=trainer, course=course_setup.course, quiz=quiz, questions=9)
    assert sorted(game.question_ids) == sorted(q.pk for q in course_setup.questions[:2])
    for user in (learner, learner2):
        services.game_join(user=user, game=game)
    for index in range(2):
        services.game_next(user=trainer, game=game)
        q = current_question(game)
        services.game_answer(user=learner, game_id=game.pk, index=index, answer=right(q))
        second = right(q) if index == 0 else wrong(q)  # 1 of 2: below the pass mark
        services.game_answer(user=learner2, game_id=game.pk, index=index, answer=second)
        commit()  # every player answered: the question closes
    services.game_next(user=trainer, game=game)  # the final podium
    assert run_tasks() >= 1
    done = set(Completion.objects.filter(activity=quiz).values_list("user_id", flat=True))
    assert done == {learner.pk}
    assert services.game_complete_quiz(game_id=game.pk) == 1  # again: nothing more
    assert Completion.objects.filter(activity=quiz).count() == 1


def test_a_game_plays_only_a_quiz_of_its_own_course(course_setup, trainer, space):
    from tests.classrooms.conftest import build_course

    other = build_course(trainer=trainer, space=space, title="Other")
    with pytest.raises(ValidationError):
        services.game_create(host=trainer, course=course_setup.course, quiz=other.quiz)
    with pytest.raises(ValidationError):  # an activity that is not a quiz
        services.game_create(host=trainer, course=course_setup.course, quiz=course_setup.lesson)
    assert not Game.objects.exists()


def test_the_launch_form_offers_the_courses_quizzes_and_live_classes(
    trainer, space, learner, client
):
    from classrooms import services as classrooms
    from classrooms.models import QuestionKind
    from tests.factories import build_live_class

    live = build_live_class(trainer=trainer, space=space, learners=[learner], start=False)
    question = classrooms.question_create(
        user=trainer,
        course=live.course,
        kind=QuestionKind.TRUE_FALSE,
        text="Bonjour means hello.",
        choices=[{"text": "True", "is_correct": True}, {"text": "False"}],
    )
    quiz = classrooms.activity_create(
        user=trainer, module=live.activity.module, title="Greetings", kind="quiz"
    )
    quiz.questions.add(question)
    client.force_login(trainer)
    page = client.get("/games/").content.decode()
    assert f'value="{quiz.pk}"' in page and f'value="{live.live_class.pk}"' in page
    form = {"course": live.course.pk, "questions": 1, "seconds": 20, "team_count": 4}
    # Someone else's (or no such) live class: refused by the form, no game.
    refused = client.post("/games/new/", {**form, "live_class": live.live_class.pk + 99})
    assert refused.status_code == 200 and not Game.objects.exists()
    made = client.post("/games/new/", {**form, "quiz": quiz.pk, "live_class": live.live_class.pk})
    game = Game.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/games/{game.pk}/host/"
    assert game.quiz == quiz and game.live_class == live.live_class
    client.force_login(learner)  # a learner hosts nothing: no launch form at all
    assert 'name="quiz"' not in client.get("/games/").content.decode()


def test_the_reveal_goes_out_as_each_one_may_see_it(
    course_setup, trainer, learner, learner2, clock, published
):
    """Each player's result on their own topic, every result on the host's, then the reveal
    for every screen without them: in that order, in one batch. The stored event keeps every
    result (for the host's and each player's backlog and state)."""
    game = services.game_create(host=trainer, course=course_setup.course, questions=1)
    for user in (learner, learner2):
        services.game_join(user=user, game=game)
    services.game_next(user=trainer, game=game)
    q = current_question(game)
    before = len(published())
    services.game_answer(user=learner, game_id=game.pk, index=0, answer=right(q))
    services.game_answer(user=learner2, game_id=game.pk, index=0, answer=wrong(q))
    events = [e for e in published()[before:] if e.type != "answers.count"]
    assert [(e.topic, e.type) for e in events] == [
        (f"hub.user.{learner.pk}", "games.result"),
        (f"hub.user.{learner2.pk}", "games.result"),
        (game.host_topic, "question.results"),
        (game.topic, "question.closed"),
    ]
    mine, theirs, results, closed = events
    assert (mine.data["correct"], mine.data["rank"], mine.data["players"]) == (True, 1, 2)
    assert (theirs.data["correct"], theirs.data["rank"], theirs.data["points"]) == (False, 2, 0)
    assert "results" not in closed.data and closed.id is not None
    stored = GameEvent.objects.get(pk=closed.id)
    assert stored.data["results"] == results.data["results"]
    assert {k: v for k, v in stored.data.items() if k != "results"} == closed.data
    # The state: the host sees every result, a player only their own.
    assert sel.game_state(game.pk, viewer=trainer)["reveal"]["results"] == results.data["results"]
    for user, event in ((learner, mine), (learner2, theirs)):
        reveal = sel.game_state(game.pk, viewer=user)["reveal"]
        assert "results" not in reveal and reveal["me"] == event.data
