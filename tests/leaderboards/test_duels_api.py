"""REST of duels: the whole flow, bad input (4xx, nothing changed), the schema."""

from __future__ import annotations

import pytest

from leaderboards import duel_selectors, duel_services
from leaderboards.models import Duel, DuelStatus, DuelTurn
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/leaderboards/duels/"


@pytest.fixture(autouse=True)
def short(settings, monkeypatch):
    settings.DUEL_QUESTIONS = 2
    monkeypatch.setattr(
        duel_services,
        "_pick_questions",
        lambda course, count: list(
            duel_selectors.bank_of(course).order_by("id").values_list("id", flat=True)[:count]
        ),
    )


def test_challenge_accept_play_over_rest(
    api_client_for, course_setup, learner, learner2, online, clock
):
    online.add(learner, learner2)
    me, them = api_client_for(learner), api_client_for(learner2)
    course = course_setup.course
    r = me.post(API, {"course": course.pk, "opponent": learner2.pk}, format="json")
    assert r.status_code == 201, r.content
    duel_id = r.json()["id"]
    assert [d["id"] for d in them.get(f"{API}?course={course.pk}").json()] == [duel_id]
    assert me.post(f"{API}{duel_id}/accept/").status_code == 403  # the challenger
    r = them.post(f"{API}{duel_id}/accept/")
    assert r.status_code == 200 and r.json()["mode"] == "live"
    me.post(f"{API}{duel_id}/ready/")
    state = them.post(f"{API}{duel_id}/ready/").json()
    assert state["current"]["index"] == 0 and "question" not in state["current"]  # countdown
    clock.advance(3)
    question = them.get(f"{API}{duel_id}/").json()["current"]["question"]
    assert question["id"] == course_setup.questions[0].pk
    assert "is_correct" not in str(question)
    good = next(c.pk for c in course_setup.questions[0].choices.all() if c.is_correct)
    r = me.post(f"{API}{duel_id}/answer/", {"index": 0, "answer": good}, format="json")
    assert r.json() == {"index": 0, "answered": True}  # no correctness before the close
    r = me.post(f"{API}{duel_id}/answer/", {"index": 0, "answer": good}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    clock.advance(11)
    state = them.get(f"{API}{duel_id}/").json()  # a read closes the overdue question
    assert state["closed"][0]["correct"] == [good]
    assert state["scores"][str(learner.pk)] == 200 and state["current"]["index"] == 1
    ratings = me.get(f"{API}ratings/?course={course.pk}").json()
    assert ratings["me"]["rating"] == 1200
    colleagues = me.get(f"{API}colleagues/?course={course.pk}").json()
    assert [p["id"] for p in colleagues] == [learner2.pk]


def test_queue_over_rest(api_client_for, course_setup, learner, learner2, clock):
    course = course_setup.course
    r = api_client_for(learner).post(f"{API}queue/", {"course": course.pk}, format="json")
    assert r.json() == {"waiting": True, "duel": None}
    r = api_client_for(learner2).post(f"{API}queue/", {"course": course.pk}, format="json")
    body = r.json()
    assert body["waiting"] is False and body["duel"]["matchmade"] is True
    r = api_client_for(learner).delete(f"{API}queue/?course={course.pk}")
    assert r.json() == {"left": False}


def test_bad_input(api_client_for, course_setup, learner, learner2, outsider, space, clock):
    course = course_setup.course
    me = api_client_for(learner)
    cases = [
        ({"course": course.pk, "opponent": learner.pk}, 400),  # myself
        ({"course": course.pk, "opponent": outsider.pk}, 400),  # another space
        ({"course": course.pk, "opponent": UserFactory(spaces=[space]).pk}, 400),  # not enrolled
        ({"course": course.pk, "opponent": 999999}, 404),
        ({"course": 999999, "opponent": learner2.pk}, 404),
        ({"course": "x", "opponent": learner2.pk}, 400),
        ({}, 400),
    ]
    for body, code in cases:
        r = me.post(API, body, format="json")
        assert r.status_code == code, (body, r.content)
        assert "error" in r.json()
    assert not Duel.objects.exists()
    r = api_client_for(outsider).post(
        API, {"course": course.pk, "opponent": learner.pk}, format="json"
    )
    assert r.status_code == 403
    duel = duel_services.duel_challenge(challenger=learner, opponent=learner2, course=course)
    stranger = api_client_for(UserFactory(spaces=[space]))
    assert stranger.get(f"{API}{duel.pk}/").status_code == 403
    assert stranger.post(f"{API}{duel.pk}/accept/").status_code == 403
    assert me.get(f"{API}424242/").status_code == 404
    duel_services.duel_accept(user=learner2, duel=duel)  # asynchronous (nobody online)
    duel_services.duel_ready(user=learner, duel=duel)
    for body in [
        {"index": 0},
        {"index": -1, "answer": 1},
        {"index": 0, "answer": {"a": 1}},
        {"index": 0, "answer": None},
        {"index": "x", "answer": 1},
        {"index": 0, "answer": [10**9]},
    ]:
        r = me.post(f"{API}{duel.pk}/answer/", body, format="json")
        assert r.status_code == 400, (body, r.content)
    assert not DuelTurn.objects.filter(answered_at__isnull=False).exists()
    assert me.get(f"{API}ratings/").status_code == 400
    assert api_client_for(outsider).get(f"{API}ratings/?course={course.pk}").status_code == 403
    assert me.get(f"{API}?course=abc").status_code == 404
    assert Duel.objects.get().status == DuelStatus.ACTIVE


def test_async_answer_reveals_at_once(api_client_for, course_setup, learner, learner2, clock):
    duel = duel_services.duel_challenge(
        challenger=learner, opponent=learner2, course=course_setup.course
    )
    duel_services.duel_accept(user=learner2, duel=duel)
    me = api_client_for(learner)
    state = me.post(f"{API}{duel.pk}/ready/").json()
    assert state["mode"] == "async" and state["current"]["index"] == 0
    q = course_setup.questions[0]
    bad = next(c.pk for c in q.choices.all() if not c.is_correct)
    body = me.post(f"{API}{duel.pk}/answer/", {"index": 0, "answer": bad}, format="json").json()
    assert body["correct"] is False and body["reveal"]["correct"] == [
        c.pk for c in q.choices.all() if c.is_correct
    ]


def test_schema_lists_the_duel_endpoints(client, learner):
    client.force_login(learner)
    schema = client.get("/api/schema/").content.decode()
    for path in [
        "/duels/",
        "/duels/{id}/answer/",
        "/duels/queue/",
        "/duels/ratings/",
        "/duels/{id}/accept/",
        "/duels/{id}/rematch/",
        "/duels/colleagues/",
    ]:
        assert f"/api/v1/leaderboards{path}" in schema, path
