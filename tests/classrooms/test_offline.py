"""Offline learning (classrooms/offline.py): a course's offline pack, and quizzes taken
offline and submitted later: replays, forged times, a quiz changed meanwhile, limits."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from classrooms import services
from classrooms.models import Attempt, Completion, QuestionKind
from tests.classrooms.conftest import right_answers

pytestmark = pytest.mark.django_db


SAVED_AGO = timedelta(hours=1)


def pack(api_client_for, user, course):
    """The course saved on the device an hour ago."""
    from unittest import mock

    saved = timezone.now() - SAVED_AGO
    with mock.patch("classrooms.offline.timezone.now", return_value=saved):
        response = api_client_for(user).get(f"/api/v1/courses/{course.pk}/offline/")
    assert response.status_code == 200, response.content
    return response.json()


def submit(client, quiz_payload, answers, *, started=None, finished=None, client_id=None):
    now = timezone.now()
    body = {
        "client_id": str(client_id or uuid.uuid4()),
        "ticket": quiz_payload["ticket"],
        "answers": answers,
        "started_at": (started or now - timedelta(minutes=3)).isoformat(),
        "finished_at": (finished or now - timedelta(minutes=1)).isoformat(),
    }
    return client.post(quiz_payload["submit_url"], body, format="json"), body


def test_pack_lists_pages_and_quizzes_without_answers(api_client_for, learner, outsider, c):
    data = pack(api_client_for, learner, c.course)
    urls = [u["url"] for u in data["urls"]]
    assert urls[0] == c.course.get_absolute_url()
    assert c.lesson.get_absolute_url() in urls and c.quiz.get_absolute_url() in urls
    (quiz,) = data["quizzes"]
    assert quiz["activity"] == c.quiz.pk and quiz["attempts_left"] == 2
    text = str(quiz["questions"])
    assert "is_correct" not in text and "numeric_answer" not in text and "112" not in text
    assert api_client_for(outsider).get(f"/api/v1/courses/{c.course.pk}/offline/").status_code in (
        403,
        404,
    )


def test_offline_attempt_scored_and_a_replay_changes_nothing(api_client_for, learner, c):
    quiz = pack(api_client_for, learner, c.course)["quizzes"][0]
    client = api_client_for(learner)
    response, body = submit(client, quiz, right_answers(c))
    assert response.status_code == 201, response.content
    result = response.json()
    assert result["accepted"] and not result["replayed"] and result["adjusted"] == []
    assert result["attempt"]["score"] == 100 and result["attempt"]["passed"]
    assert Completion.objects.filter(user=learner, activity=c.quiz).exists()
    attempt = Attempt.objects.get(user=learner, activity=c.quiz)
    assert attempt.started_at.isoformat()[:19] == body["started_at"][:19]  # the device's times
    assert attempt.submitted_at.isoformat()[:19] == body["finished_at"][:19]
    # The same submission again (a flush interrupted before its answer arrived): the same
    # attempt, nothing doubled, no attempt used.
    again = client.post(quiz["submit_url"], body, format="json")
    assert again.status_code == 200
    assert again.json()["replayed"] and again.json()["attempt"]["id"] == attempt.pk
    assert Attempt.objects.filter(user=learner, activity=c.quiz).count() == 1


def test_forged_times(api_client_for, learner, trainer, c):
    services.activity_update(user=trainer, activity=c.quiz, time_limit_seconds=600)
    services.activity_update(user=trainer, activity=c.quiz, attempt_limit=5)
    quiz = pack(api_client_for, learner, c.course)["quizzes"][0]
    client = api_client_for(learner)
    now = timezone.now()
    saved = now - SAVED_AGO
    # Started "a year ago", before the quiz was even saved on the device: brought back to
    # when it was saved; finished 5 minutes after that, within the limit: it counts.
    response, _ = submit(
        client,
        quiz,
        right_answers(c),
        started=now - timedelta(days=365),
        finished=saved + timedelta(minutes=5),
    )
    assert response.status_code == 201, response.content
    assert response.json()["adjusted"] == ["started_at"]
    assert response.json()["attempt"]["score"] == 100
    # The same trick to hide a late finish: a start forged early is brought back to when
    # the quiz was saved, so an end an hour later is late and scores zero, as online.
    response, _ = submit(
        client, quiz, right_answers(c), started=now - timedelta(days=365), finished=now
    )
    data = response.json()
    assert response.status_code == 201
    assert data["adjusted"] == ["started_at"]
    assert data["attempt"]["late"] and data["attempt"]["score"] == 0
    # Finished "tomorrow": the future is not believed; brought back to the server's now.
    response, _ = submit(
        client,
        quiz,
        right_answers(c),
        started=now - timedelta(minutes=2),
        finished=now + timedelta(days=1),
    )
    data = response.json()
    assert response.status_code == 201
    assert data["adjusted"] == ["finished_at"] and not data["attempt"]["late"]
    # Ends before it starts: refused, nothing kept.
    response, _ = submit(
        client, quiz, right_answers(c), started=now - timedelta(minutes=1), finished=saved
    )
    assert response.status_code == 400
    assert Attempt.objects.filter(user=learner, activity=c.quiz).count() == 3


def test_late_offline_attempt_scores_zero(api_client_for, learner, trainer, c):
    services.activity_update(user=trainer, activity=c.quiz, time_limit_seconds=60)
    quiz = pack(api_client_for, learner, c.course)["quizzes"][0]
    start = timezone.now() - timedelta(minutes=30)
    response, _ = submit(
        api_client_for(learner),
        quiz,
        right_answers(c),
        started=start,
        finished=start + timedelta(minutes=5),
    )
    data = response.json()
    assert response.status_code == 201, data
    assert data["attempt"]["late"] and data["attempt"]["score"] == 0
    assert not Completion.objects.filter(user=learner, activity=c.quiz).exists()


def test_quiz_changed_meanwhile_counts_nothing(api_client_for, learner, trainer, c):
    quiz = pack(api_client_for, learner, c.course)["quizzes"][0]
    single = c.questions[0]
    answers = right_answers(c)
    removed = str(c.questions[2].pk)
    # The trainer removes a question while the learner is offline.
    services.question_delete(user=trainer, question=c.questions[2])
    response, _ = submit(api_client_for(learner), quiz, answers)
    assert response.status_code == 409
    data = response.json()
    assert data["accepted"] is False and data["error"]["details"]["reason"] == "quiz_changed"
    assert not Attempt.objects.filter(user=learner).exists()
    # A fresh pack takes the new version.
    fresh = pack(api_client_for, learner, c.course)["quizzes"][0]
    answers.pop(removed)
    response, _ = submit(api_client_for(learner), fresh, answers)
    assert response.status_code == 201, response.content
    assert single.pk in [q["id"] for q in fresh["questions"]]


def test_attempt_limit_applies_when_it_arrives(api_client_for, learner, c):
    quiz = pack(api_client_for, learner, c.course)["quizzes"][0]  # attempt_limit=2
    client = api_client_for(learner)
    for _ in range(2):
        assert submit(client, quiz, {})[0].status_code == 201
    response, _ = submit(client, quiz, right_answers(c))
    assert response.status_code == 409
    assert response.json()["error"]["details"]["reason"] == "no_attempts_left"
    assert Attempt.objects.filter(user=learner, activity=c.quiz).count() == 2


def test_hostile_submissions(api_client_for, learner, learner2, trainer, c):
    quiz = pack(api_client_for, learner, c.course)["quizzes"][0]
    # Someone else's ticket: refused.
    response, _ = submit(api_client_for(learner2), quiz, right_answers(c))
    assert response.status_code == 403
    # A tampered ticket.
    forged = dict(quiz, ticket=quiz["ticket"][:-3] + "abc")
    assert submit(api_client_for(learner), forged, right_answers(c))[0].status_code == 400
    # Bad answers: 400, nothing kept.
    assert submit(api_client_for(learner), quiz, {"999999": 1})[0].status_code == 400
    assert submit(api_client_for(learner), quiz, [1, 2])[0].status_code == 400
    # A client id already used by another attempt of another quiz.
    other = services.activity_create(
        user=trainer, module=c.quiz.module, title="Quiz 2", kind="quiz"
    )
    services.question_create(
        user=trainer, course=c.course, kind=QuestionKind.NUMERIC, text="2+2?", numeric_answer=4
    )
    quizzes = {q["activity"]: q for q in pack(api_client_for, learner, c.course)["quizzes"]}
    cid = uuid.uuid4()
    assert (
        submit(api_client_for(learner), quizzes[c.quiz.pk], {}, client_id=cid)[0].status_code == 201
    )
    other_quiz = quizzes[other.pk]
    assert submit(api_client_for(learner), other_quiz, {}, client_id=cid)[0].status_code == 400
    assert Attempt.objects.filter(user=learner).count() == 1
