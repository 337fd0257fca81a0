"""Feedback surveys: templates per space (ratings and questions, anonymous option), sent
when the session ends, answered once by its attendees, results per session and per
trainer (chart, CSV)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from notifications.models import Notification

from sessions import services
from sessions.models import SurveyResponse
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db

QUESTIONS = [
    {"kind": "rating", "label": "How useful was it?"},
    {"kind": "text", "label": "What should change?"},
]


@pytest.fixture
def ended(clock, coordinator, space, trainer, learner, learner2):
    """A session trained by ``trainer``, attended by both learners, now over."""
    start = clock.now + timedelta(days=1)
    session = make_session(
        coordinator, space, starts_at=start, ends_at=start + timedelta(hours=2), trainers=[trainer]
    )
    services.registration_register(actor=learner, session=session)
    services.registration_register(actor=learner2, session=session)
    return session


def finish(clock, session):
    clock.now = session.ends_at + timedelta(minutes=1)
    assert services.session_complete(session_id=session.pk)
    session.refresh_from_db()


def test_survey_is_sent_at_the_end_and_answered_once(clock, coordinator, space, ended, learner):
    template = services.survey_template_create(
        actor=coordinator,
        space=space,
        title="After the session",
        questions=QUESTIONS,
        is_default=True,
    )
    with pytest.raises(ValidationError):  # not over yet
        services.survey_answer(actor=learner, session=ended, answers={"q1": 5})
    finish(clock, ended)
    assert Notification.objects.filter(recipient=learner, data__kind="session_feedback").exists()
    response = services.survey_answer(
        actor=learner, session=ended, answers={"q1": "4", "q2": "<b>More</b> practice"}
    )
    assert response.user == learner and response.template == template
    assert response.answers == {"q1": 4, "q2": "More practice"}
    with pytest.raises(ValidationError):
        services.survey_answer(actor=learner, session=ended, answers={"q1": 5})
    with pytest.raises(ValidationError):
        services.survey_answer(actor=learner, session=ended, answers={"q1": 9})


def test_only_attendees_answer_and_anonymous_answers_name_nobody(
    clock, coordinator, space, ended, learner, outsider, trainer
):
    services.survey_template_create(
        actor=coordinator,
        space=space,
        title="Anonymous",
        questions=QUESTIONS,
        anonymous=True,
        is_default=True,
    )
    finish(clock, ended)
    with pytest.raises(PermissionDenied):
        services.survey_answer(actor=trainer, session=ended, answers={"q1": 5})
    services.survey_answer(actor=learner, session=ended, answers={"q1": 3})
    assert SurveyResponse.objects.get().user is None
    assert ended.respondents.filter(user=learner).exists()
    with pytest.raises(PermissionDenied):
        services.survey_template_create(actor=trainer, space=space, title="X", questions=QUESTIONS)
    with pytest.raises(ValidationError):
        services.survey_template_create(actor=coordinator, space=space, title="X", questions=[])


def test_results_per_session_and_trainer_page_api_csv(
    clock, client, api_client_for, coordinator, space, ended, learner, learner2, trainer
):
    services.survey_template_create(
        actor=coordinator, space=space, title="After", questions=QUESTIONS, is_default=True
    )
    finish(clock, ended)
    client.force_login(learner)
    page = client.get(f"/sessions/{ended.pk}/feedback/")
    assert page.status_code == 200 and b'name="q1"' in page.content
    client.post(f"/sessions/{ended.pk}/feedback/", {"q1": "5", "q2": "=HYPERLINK(1)"})
    answered = api_client_for(learner2).post(
        f"/api/v1/sessions/{ended.pk}/feedback/", {"answers": {"q1": "3"}}, format="json"
    )
    assert answered.status_code == 201, answered.content
    results = api_client_for(trainer).get(f"/api/v1/sessions/{ended.pk}/feedback/results/").json()
    assert results["responses"] == 2
    rating = results["questions"][0]
    assert rating["average"] == 4.0 and rating["ratings"] == [0, 0, 1, 0, 1]
    assert (
        api_client_for(learner).get(f"/api/v1/sessions/{ended.pk}/feedback/results/").status_code
        == 404
    )
    by_trainer = (
        api_client_for(coordinator).get(f"/api/v1/sessions/feedback/trainer/{trainer.pk}/").json()
    )
    assert by_trainer["responses"] == 2
    assert (
        api_client_for(learner).get(f"/api/v1/sessions/feedback/trainer/{trainer.pk}/").status_code
        == 404
    )
    client.force_login(trainer)
    chart = client.get(f"/sessions/{ended.pk}/feedback/results/").content.decode()
    assert "Average 4.0 / 5" in chart and "<rect" in chart
    assert client.get(f"/sessions/feedback/trainer/{trainer.pk}/").status_code == 200
    csv_text = client.get(f"/sessions/{ended.pk}/feedback.csv").content.decode()
    assert "How useful was it?" in csv_text and "'=HYPERLINK(1)" in csv_text


def test_coordinators_write_a_survey_on_the_rooms_page(client, coordinator, space):
    client.force_login(coordinator)
    client.post(
        "/sessions/manage/rooms/",
        {
            "space": space.pk,
            "what": "survey",
            "title": "After the session",
            "questions": "rating: Useful?\ntext: Ideas?\n",
            "is_default": "on",
        },
    )
    template = space.survey_templates.get()
    assert template.is_default and not template.anonymous
    assert [q["kind"] for q in template.questions] == ["rating", "text"]
    client.post(
        "/sessions/manage/rooms/",
        {"space": space.pk, "what": "survey", "title": "Bad", "questions": "stars: x"},
    )
    assert space.survey_templates.count() == 1
    assert "After the session" in client.get("/sessions/manage/rooms/").content.decode()
