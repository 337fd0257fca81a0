"""The coordinators' page to write feedback survey templates."""

from __future__ import annotations

import pytest

from sessions.models import SurveyTemplate

pytestmark = pytest.mark.django_db


def test_coordinator_writes_a_survey(client, coordinator, space):
    client.force_login(coordinator)
    page = client.get("/sessions/manage/surveys/")
    assert page.status_code == 200 and b'data-testid="survey-form"' in page.content
    r = client.post(
        "/sessions/manage/surveys/",
        {
            "space": space.pk,
            "title": "After the course",
            "kind_1": "rating",
            "label_1": "How useful was it?",
            "kind_2": "text",
            "label_2": "What would you change?",
            "kind_3": "rating",
            "label_3": "",
            "anonymous": "on",
            "is_default": "on",
        },
    )
    assert r.status_code == 302
    survey = SurveyTemplate.objects.get()
    assert survey.questions == [
        {"id": "q1", "kind": "rating", "label": "How useful was it?"},
        {"id": "q2", "kind": "text", "label": "What would you change?"},
    ]
    assert survey.anonymous and survey.is_default and survey.created_by_id == coordinator.pk
    assert b"After the course" in client.get("/sessions/manage/surveys/").content


def test_bad_input_and_others(client, coordinator, learner, space, outsider):
    client.force_login(coordinator)
    r = client.post("/sessions/manage/surveys/", {"space": space.pk, "title": "Empty"})
    assert r.status_code == 200 and b"Empty" in r.content  # shown again with the error
    r = client.post(
        "/sessions/manage/surveys/",
        {"space": space.pk, "title": "Odd", "kind_1": "stars", "label_1": "?"},
    )
    assert r.status_code == 200
    other = outsider.spaces.first()
    r = client.post("/sessions/manage/surveys/", {"space": other.pk, "title": "X", "label_1": "Q"})
    assert r.status_code == 400
    assert not SurveyTemplate.objects.exists()
    client.force_login(learner)
    assert client.get("/sessions/manage/surveys/").status_code == 403
