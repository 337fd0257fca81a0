"""Announcements: who may post, who hears of it, and the REST API."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from notifications.models import Notification

from hub.announcements.models import Announcement
from hub.announcements.services import announcement_post
from tests.forums.xss import assert_inert

pytestmark = pytest.mark.django_db


def recipients_of(announcement: Announcement) -> set[int]:
    return set(
        Notification.objects.filter(target_object_id=str(announcement.pk)).values_list(
            "recipient_id", flat=True
        )
    )


def test_space_announcement_notifies_every_member_but_the_author(
    coordinator, learner, learner2, trainer, outsider, space, published
):
    a = announcement_post(author=coordinator, space=space, title="Exam week", body="**Good luck**")
    assert recipients_of(a) == {learner.pk, learner2.pk, trainer.pk}
    assert a.body_html == "<p><strong>Good luck</strong></p>"
    assert [e.type for e in published(space.topic)] == ["announcement.created"]
    assert published(f"hub.user.{outsider.pk}") == []


def test_team_announcement_reaches_the_team_and_its_manager(
    trainer, manager, learner, learner2, space
):
    team = manager.managed_teams.get()
    other = manager  # the manager hears of team news too
    a = announcement_post(author=trainer, team=team, title="Team lunch")
    assert recipients_of(a) == {learner.pk, learner2.pk, other.pk}


def test_learner_cannot_announce(learner, space):
    with pytest.raises(PermissionDenied):
        announcement_post(author=learner, space=space, title="Me me me")
    assert not Announcement.objects.exists()


def test_trainer_cannot_announce_to_a_space_they_are_not_in(trainer, outsider):
    foreign = outsider.spaces.get()
    with pytest.raises(PermissionDenied):
        announcement_post(author=trainer, space=foreign, title="Hello strangers")


def test_exactly_one_audience(trainer, space, manager):
    with pytest.raises(ValidationError):
        announcement_post(author=trainer, title="x")
    with pytest.raises(ValidationError):
        announcement_post(author=trainer, title="x", space=space, team=manager.managed_teams.get())


def test_html_is_sanitised_before_storing(trainer, space):
    a = announcement_post(
        author=trainer,
        space=space,
        title="<script>alert(1)</script>Hello",
        body='<img src=x onerror="alert(1)"> [click](javascript:alert(1)) <iframe src="https://x"></iframe>',
    )
    assert "<script" not in a.title
    for bad in ("onerror", "<iframe", "<a "):
        assert bad not in a.body_html
    # The javascript: "link" is not a link: it stays the text that was typed.
    assert "[click](javascript:alert(1))" in a.body_html
    assert_inert(a.body_html)


# -- REST ----------------------------------------------------------------------------------------
def test_rest_post_and_list(api_client_for, trainer, learner, outsider, space):
    response = api_client_for(trainer).post(
        "/api/v1/announcements/", {"title": "Quiz on Friday", "space": space.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["title"] == "Quiz on Friday"
    listed = api_client_for(learner).get("/api/v1/announcements/").json()
    assert [a["title"] for a in listed["results"]] == ["Quiz on Friday"]
    assert api_client_for(outsider).get("/api/v1/announcements/").json()["results"] == []
    assert (
        api_client_for(outsider).get(f"/api/v1/announcements/{response.json()['id']}/").status_code
        == 404
    )


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"title": "x"}, 400),  # no audience
        ({"title": "", "space": "SPACE"}, 400),
        ({"title": "x", "space": 999999}, 400),  # unknown space
        ({"title": "x", "space": "SPACE", "link": "javascript:alert(1)"}, 400),
        ({"title": "x" * 201, "space": "SPACE"}, 400),
    ],
)
def test_rest_bad_input_changes_nothing(api_client_for, trainer, space, payload, status):
    payload = {k: (space.pk if v == "SPACE" else v) for k, v in payload.items()}
    response = api_client_for(trainer).post("/api/v1/announcements/", payload, format="json")
    assert response.status_code == status
    assert response.json()["error"]["code"] == "invalid"
    assert not Announcement.objects.exists()


def test_rest_learner_gets_403(api_client_for, learner, space):
    response = api_client_for(learner).post(
        "/api/v1/announcements/", {"title": "x", "space": space.pk}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_rest_malformed_json_is_a_400(api_client_for, trainer):
    response = api_client_for(trainer).post(
        "/api/v1/announcements/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
