"""REST: a course's external tools and adding an external tool activity."""

from __future__ import annotations

import pytest

from externaltools.models import ExternalActivity, LineItem, Tool
from tests.factories import SpaceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]


def test_trainer_lists_tools_and_adds_an_activity(api_client_for, lti):
    api = api_client_for(lti.trainer)
    url = f"/api/v1/courses/{lti.course.pk}/external-tools/"
    assert [t["name"] for t in api.get(url).json()] == ["Drills"]
    response = api.post(
        f"/api/v1/courses/{lti.course.pk}/external-activities/",
        {
            "module": lti.module.pk,
            "tool": lti.tool.pk,
            "title": "Practice",
            "presentation": "window",
            "pass_percent": 70,
            "score_maximum": 10,
            "custom": {"set": "b"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["presentation"] == "window" and body["url"].endswith("/launch")
    made = ExternalActivity.objects.get(activity_id=body["activity"])
    assert made.custom == {"set": "b"} and LineItem.objects.get(activity=made).score_maximum == 10


def test_others_and_bad_input_change_nothing(api_client_for, lti, space):
    url = f"/api/v1/courses/{lti.course.pk}/external-activities/"
    good = {"module": lti.module.pk, "tool": lti.tool.pk, "title": "X"}
    learner = api_client_for(lti.learner)
    assert learner.post(url, good, format="json").status_code == 404
    assert learner.get(f"/api/v1/courses/{lti.course.pk}/external-tools/").status_code == 404
    api = api_client_for(lti.trainer)
    elsewhere = Tool.objects.create(
        space=SpaceFactory(), name="Elsewhere", login_url="https://e.example/l",
        launch_url="https://e.example/", jwks_url="https://e.example/k",
        client_id="ce", deployment_id="de",
    )  # fmt: skip
    before = ExternalActivity.objects.count()
    assert api.post(url, {**good, "tool": elsewhere.pk}, format="json").status_code == 404
    assert api.post(url, {**good, "presentation": "popup"}, format="json").status_code == 400
    assert api.post(url, {**good, "pass_percent": 101}, format="json").status_code == 400
    assert api.post(url, {**good, "url": "javascript:alert(1)"}, format="json").status_code == 400
    Tool.objects.filter(pk=lti.tool.pk).update(is_active=False)
    assert api.post(url, good, format="json").status_code == 400
    assert ExternalActivity.objects.count() == before
