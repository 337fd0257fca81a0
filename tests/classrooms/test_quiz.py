"""Quizzes: scoring on the server, no leaked answers, bad input, limits and the timer."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from classrooms import services
from classrooms.models import Attempt, Completion
from tests.classrooms.conftest import right_answers

pytestmark = pytest.mark.django_db


def test_scores_and_feedback(learner, c):
    single, multi, tf, num = c.questions  # noqa: RUF059
    attempt = services.attempt_start(user=learner, activity=c.quiz)
    answers = right_answers(c)
    blue = next(ch.pk for ch in single.choices.all() if not ch.is_correct)
    answers[str(single.pk)] = blue
    attempt = services.attempt_submit(user=learner, attempt=attempt, answers=answers)
    assert (attempt.score, attempt.passed) == (75, True)
    result = attempt.answers["results"][0]
    assert result["correct"] is False
    assert result["feedback"] == ["No, blue is for information"]
    assert Completion.objects.filter(user=learner, activity=c.quiz).exists()


def test_numeric_tolerance_and_failing(learner, c):
    single, multi, tf, num = c.questions  # noqa: RUF059
    attempt = services.attempt_start(user=learner, activity=c.quiz)
    attempt = services.attempt_submit(user=learner, attempt=attempt, answers={str(num.pk): "112"})
    assert (attempt.score, attempt.passed) == (25, False)
    assert not Completion.objects.filter(activity=c.quiz).exists()


@pytest.mark.parametrize(
    "bad",
    [
        [],
        {"999999": 1},
        {"x": 1},
        "SINGLE_TWO",
        "SINGLE_FOREIGN",
        "NUMERIC_TEXT",
        "NUMERIC_NAN",
        "SINGLE_BOOL",
    ],
)
def test_invalid_answers_change_nothing(learner, c, bad):
    single, multi, tf, num = c.questions  # noqa: RUF059
    ids = [ch.pk for ch in single.choices.all()]
    bad = (
        {
            "SINGLE_TWO": {str(single.pk): ids},
            "SINGLE_FOREIGN": {str(single.pk): [multi.choices.first().pk]},
            "NUMERIC_TEXT": {str(num.pk): "many"},
            "NUMERIC_NAN": {str(num.pk): "nan"},
            "SINGLE_BOOL": {str(single.pk): True},
        }.get(bad, bad)
        if isinstance(bad, str)
        else bad
    )
    attempt = services.attempt_start(user=learner, activity=c.quiz)
    with pytest.raises(ValidationError):
        services.attempt_submit(user=learner, attempt=attempt, answers=bad)
    attempt.refresh_from_db()
    assert attempt.submitted_at is None and attempt.score is None


def test_double_submission_is_conflict(learner, c):
    attempt = services.attempt_start(user=learner, activity=c.quiz)
    services.attempt_submit(user=learner, attempt=attempt, answers={})
    with pytest.raises(services.Conflict):
        services.attempt_submit(user=learner, attempt=attempt, answers=right_answers(c))
    attempt.refresh_from_db()
    assert attempt.score == 0


def test_attempt_limit(learner, c):
    for _ in range(2):
        a = services.attempt_start(user=learner, activity=c.quiz)
        services.attempt_submit(user=learner, attempt=a, answers={})
    with pytest.raises(services.Conflict):
        services.attempt_start(user=learner, activity=c.quiz)
    assert Attempt.objects.filter(user=learner).count() == 2


def test_open_attempt_is_resumed_not_duplicated(learner, c):
    a = services.attempt_start(user=learner, activity=c.quiz)
    assert services.attempt_start(user=learner, activity=c.quiz).pk == a.pk


def test_late_submission_scores_zero(learner, trainer, c):
    services.activity_update(user=trainer, activity=c.quiz, time_limit_seconds=60)
    attempt = services.attempt_start(user=learner, activity=c.quiz)
    assert attempt.deadline is not None
    Attempt.objects.filter(pk=attempt.pk).update(
        started_at=timezone.now() - timedelta(minutes=5),
        deadline=timezone.now() - timedelta(minutes=4),
    )
    attempt = services.attempt_submit(user=learner, attempt=attempt, answers=right_answers(c))
    assert (attempt.score, attempt.passed, attempt.late) == (0, False, True)
    assert not Completion.objects.filter(activity=c.quiz).exists()


def test_api_never_reveals_answers_before_submission(api_client_for, learner, c):
    client = api_client_for(learner)
    for url in (f"/api/v1/courses/{c.course.pk}/", f"/api/v1/activities/{c.quiz.pk}/"):
        text = json.dumps(client.get(url).json())
        # Keys, not values: "112" could be part of an id or a timestamp.
        for secret in ("is_correct", "numeric_answer", "feedback", "explanation"):
            assert secret not in text
    started = client.post(f"/api/v1/activities/{c.quiz.pk}/attempts/")
    assert started.status_code == 201
    text = json.dumps(started.json())
    for secret in ("is_correct", "numeric_answer", "explanation"):
        assert secret not in text
    assert len(started.json()["questions"]) == 4
    again = client.get(f"/api/v1/attempts/{started.json()['id']}/").json()
    assert "is_correct" not in json.dumps(again)
    assert client.get(f"/api/v1/courses/{c.course.pk}/questions/").status_code == 403
    done = client.post(
        f"/api/v1/attempts/{started.json()['id']}/submit/",
        {"answers": right_answers(c)},
        format="json",
    )
    assert done.status_code == 200 and done.json()["score"] == 100
    assert done.json()["results"][3]["numeric_answer"] == 112


def test_quiz_page_never_reveals_answers(client, learner, c):
    client.force_login(learner)
    attempt = services.attempt_start(user=learner, activity=c.quiz)
    html = client.get(f"/attempts/{attempt.pk}/").content.decode()
    assert "Colour of a stop sign?" in html
    assert "is_correct" not in html and "No, blue is for information" not in html
    assert "Yes" not in html.split("<main")[1]


def test_api_bad_input_statuses(api_client_for, learner, learner2, c):
    client = api_client_for(learner)
    attempt = client.post(f"/api/v1/activities/{c.quiz.pk}/attempts/").json()
    url = f"/api/v1/attempts/{attempt['id']}/submit/"
    bad = client.post(url, {"answers": {"nope": 1}}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    assert api_client_for(learner2).post(url, {"answers": {}}, format="json").status_code == 404
    assert client.post(url, {"answers": {}}, format="json").status_code == 200
    dup = client.post(url, {"answers": {}}, format="json")
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "conflict"
    client.post(
        f"/api/v1/attempts/{client.post(f'/api/v1/activities/{c.quiz.pk}/attempts/').json()['id']}/submit/",
        {"answers": {}},
        format="json",
    )
    over = client.post(f"/api/v1/activities/{c.quiz.pk}/attempts/")
    assert over.status_code == 409
