"""A live duel under concurrency (PostgreSQL): both players answer the same question at the
same moment from two threads, and two advances reach a question's opens_at together. The
duel's row lock and the conditional claims make one close (one reveal, one score) and
one publication of each question's text, with both answers scored once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from leaderboards import duel_selectors, duel_services
from leaderboards.models import Duel, DuelEvent, DuelRating, DuelStatus, DuelTurn
from tests.conftest import SERVICES_MODE

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not SERVICES_MODE, reason="concurrent writers need PostgreSQL"),
]


@pytest.fixture(autouse=True)
def three_questions(settings, monkeypatch):
    settings.DUEL_QUESTIONS = 3
    monkeypatch.setattr(
        duel_services,
        "_pick_questions",
        lambda course, count: list(
            duel_selectors.bank_of(course).order_by("id").values_list("id", flat=True)[:count]
        ),
    )


def _at_once(calls: list[Callable[[], Any]]) -> list[Exception]:
    """Run ``calls`` in threads released together; the errors they raised."""
    barrier = threading.Barrier(len(calls))
    errors: list[Exception] = []

    def run(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            call()
        except Exception as exc:  # pragma: no cover - reported by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _right(duel: Duel, index: int) -> list[int]:
    from classrooms.models import Question

    question = Question.objects.get(pk=duel.question_ids[index])
    return sorted(c.pk for c in question.choices.all() if c.is_correct)


def _count(duel: Duel, type: str) -> int:
    return DuelEvent.objects.filter(duel=duel, type=type).count()


def _live(course_setup, learner, learner2, online) -> Duel:
    online.add(learner, learner2)
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    duel_services.duel_accept(user=learner2, duel=duel)
    duel_services.duel_ready(user=learner, duel=duel)
    return duel_services.duel_ready(user=learner2, duel=duel)


def test_simultaneous_answers_close_each_question_once(
    course_setup, learner, learner2, online, clock
):
    duel = _live(course_setup, learner, learner2, online)
    clock.advance(3)  # the countdown is over
    for index in range(3):
        duel_services.duel_refresh(duel_id=duel.pk)  # what the opens_at timer does
        answer = _right(duel, index)
        clock.advance(1)  # 9 s of 10 left: 190 points each
        errors = _at_once(
            [
                lambda u=u, i=index, a=answer: duel_services.duel_answer(
                    user=u, duel=duel, index=i, answer=a
                )
                for u in (learner, learner2)
            ]
        )
        assert errors == [], errors
        turns = list(DuelTurn.objects.filter(duel=duel, index=index))
        assert len(turns) == 2 and all(t.closed and t.answered_at for t in turns)
        assert [t.points for t in turns] == [190, 190]
        assert _count(duel, "question.closed") == index + 1, index
        assert _count(duel, "score") == index + 1, index
        clock.advance(2)  # the reveal pause
    duel.refresh_from_db()
    assert duel.status == DuelStatus.FINISHED and duel.winner_id is None
    assert duel.challenger_score == duel.opponent_score == 3 * 190
    assert _count(duel, "question.opened") == 3 and _count(duel, "duel.finished") == 1
    assert sorted(DuelRating.objects.values_list("played", flat=True)) == [1, 1]


def test_racing_advances_at_opens_at_publish_the_text_once(
    course_setup, learner, learner2, online, clock
):
    duel = _live(course_setup, learner, learner2, online)
    clock.advance(3)
    errors = _at_once([lambda: duel_services.duel_refresh(duel_id=duel.pk)] * 4)
    assert errors == [], errors
    assert _count(duel, "question.opened") == 1
    assert Duel.objects.get(pk=duel.pk).opened_index == 0
