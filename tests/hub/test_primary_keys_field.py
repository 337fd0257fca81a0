"""A list of ids in a request body is bounded and looked up in one query: a body of
thousands of ids is a 400 in a handful of queries, not one query per id."""

from __future__ import annotations

import pytest

from messaging.models import Conversation

pytestmark = pytest.mark.django_db


def test_a_huge_member_list_is_a_400_in_a_few_queries(
    api_client_for, learner, learner2, django_assert_max_num_queries
):
    client = api_client_for(learner)
    with django_assert_max_num_queries(20):
        response = client.post(
            "/api/v1/conversations/",
            {"kind": "group", "title": "All", "members": [learner2.pk] * 2000},
            format="json",
        )
    assert response.status_code == 400
    assert "members" in response.json()["error"]["details"]
    assert not Conversation.objects.filter(title="All").exists()


@pytest.mark.parametrize("members", ["1", {"a": 1}, [True], ["x"], [-1], [2**64], [None]])
def test_members_of_the_wrong_type_are_a_400(api_client_for, learner, members):
    response = api_client_for(learner).post(
        "/api/v1/conversations/", {"kind": "group", "members": members}, format="json"
    )
    assert response.status_code == 400
    assert "members" in response.json()["error"]["details"]


def test_ids_are_looked_up_once_each_and_a_missing_one_is_named(
    api_client_for, learner, learner2, trainer
):
    client = api_client_for(learner)
    missing = client.post(
        "/api/v1/conversations/",
        {"kind": "group", "members": [learner2.pk, 987654]},
        format="json",
    )
    assert missing.status_code == 400
    assert "987654" in str(missing.json()["error"]["details"]["members"])
    made = client.post(
        "/api/v1/conversations/",
        {"kind": "group", "title": "Two", "members": [learner2.pk, str(trainer.pk), learner2.pk]},
        format="json",
    )
    assert made.status_code == 201, made.json()
    conversation = Conversation.objects.get(title="Two")
    assert set(conversation.memberships.values_list("user_id", flat=True)) == {
        learner.pk,
        learner2.pk,
        trainer.pk,
    }


def test_a_huge_trainer_list_on_a_course_is_a_400(
    api_client_for, trainer, space, django_assert_max_num_queries
):
    from classrooms import services

    course = services.course_create(author=trainer, space=space, title="C")
    with django_assert_max_num_queries(30):
        response = api_client_for(trainer).patch(
            f"/api/v1/courses/{course.pk}/", {"trainers": [trainer.pk] * 2000}, format="json"
        )
    assert response.status_code == 400
    assert "trainers" in response.json()["error"]["details"]
