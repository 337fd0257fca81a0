"""Live classes over REST and pages: join (full, locked, removed), state, polls, board,
breakouts, the chat found by its key, the attendance report and CSV, the schema."""

from __future__ import annotations

import pytest

from classrooms import services
from classrooms.models import LiveClass, WhiteboardStroke
from tests.factories import build_live_class


@pytest.fixture
def lc(trainer, space, learner, learner2):
    return build_live_class(trainer=trainer, space=space, learners=[learner, learner2])


def url(live_class, tail=""):
    return f"/api/v1/liveclasses/{live_class.pk}/{tail}"


def test_join_then_state(api_client_for, lc, learner):
    client = api_client_for(learner)
    response = client.post(url(lc.live_class, "join/"), {}, format="json")
    assert response.status_code == 200, response.content
    state = response.json()
    assert state["role"] == "learner" and state["joined"]
    assert {p["id"] for p in state["participants"]} >= {learner.pk}
    assert client.get(url(lc.live_class, "state/")).json()["live_class"]["status"] == "live"


def test_unknown_or_foreign_class_is_404(api_client_for, lc, outsider):
    client = api_client_for(outsider)
    assert client.post(url(lc.live_class, "join/"), {}, format="json").status_code == 404
    assert client.get("/api/v1/liveclasses/999999/state/").status_code == 404


def test_full_room_answers_409_with_a_message(api_client_for, trainer, space, learner, learner2):
    lc = build_live_class(trainer=trainer, space=space, learners=[learner, learner2], capacity=2)
    assert api_client_for(learner).post(url(lc.live_class, "join/")).status_code == 200
    response = api_client_for(learner2).post(url(lc.live_class, "join/"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert "full" in response.json()["error"]["message"]


def test_removed_learner_is_refused(api_client_for, lc, trainer, learner):
    api_client_for(learner).post(url(lc.live_class, "join/"))
    response = api_client_for(trainer).post(
        url(lc.live_class, "control/"), {"action": "remove", "user": learner.pk}, format="json"
    )
    assert response.status_code == 200
    assert api_client_for(learner).post(url(lc.live_class, "join/")).status_code == 403


def test_learner_cannot_control(api_client_for, lc, learner):
    client = api_client_for(learner)
    client.post(url(lc.live_class, "join/"))
    for tail, body in [
        ("control/", {"action": "lock"}),
        ("end/", {}),
        ("recording/", {"on": True}),
        ("breakouts/", {"count": 2}),
        ("polls/", {"question": "?", "choices": ["a", "b"]}),
    ]:
        response = client.post(url(lc.live_class, tail), body, format="json")
        assert response.status_code == 403, (tail, response.content)
    lc.live_class.refresh_from_db()
    assert not lc.live_class.locked and lc.live_class.status == "live"


def test_bad_input_is_400_and_changes_nothing(api_client_for, lc, trainer, learner):
    client = api_client_for(trainer)
    for tail, body in [
        ("control/", {"action": "explode"}),
        ("polls/", {"question": "Q", "choices": ["only one"]}),
        ("breakouts/", {"count": 0}),
        ("whiteboard/", {"points": [[2, 2]], "color": "red"}),
        ("whiteboard/", {"points": [[0.1, 0.1]] * 1001}),
        ("hands/lower/", {"user": "x"}),
    ]:
        response = client.post(url(lc.live_class, tail), body, format="json")
        assert response.status_code == 400, (tail, response.content)
        assert response.json()["error"]["code"] == "invalid"
    assert not WhiteboardStroke.objects.exists()
    assert not lc.live_class.polls.exists()


def test_poll_vote_and_close_over_rest(api_client_for, lc, trainer, learner):
    api_client_for(learner).post(url(lc.live_class, "join/"))
    poll = api_client_for(trainer).post(
        url(lc.live_class, "polls/"),
        {"question": "Ready?", "choices": ["yes", "no"]},
        format="json",
    )
    assert poll.status_code == 201
    poll_id = poll.json()["id"]
    vote = api_client_for(learner).post(
        url(lc.live_class, f"polls/{poll_id}/vote/"), {"choice": 0}, format="json"
    )
    assert vote.status_code == 200 and vote.json()["my_vote"] == 0
    assert api_client_for(trainer).post(url(lc.live_class, f"polls/{poll_id}/close/")).json()[
        "results"
    ] == [1, 0]
    again = api_client_for(learner).post(
        url(lc.live_class, f"polls/{poll_id}/vote/"), {"choice": 1}, format="json"
    )
    assert again.status_code == 409


def test_whiteboard_rest(api_client_for, lc, trainer, learner):
    api_client_for(learner).post(url(lc.live_class, "join/"))
    client = api_client_for(learner)
    stroke = {"points": [[0.1, 0.2], [0.3, 0.4]], "color": "#aa0000", "width": 4}
    assert client.post(url(lc.live_class, "whiteboard/"), stroke, format="json").status_code == 201
    assert len(client.get(url(lc.live_class, "whiteboard/")).json()) == 1
    assert client.post(url(lc.live_class, "whiteboard/undo/")).json()["removed"]
    assert client.delete(url(lc.live_class, "whiteboard/")).status_code == 403  # trainers clear
    assert api_client_for(trainer).delete(url(lc.live_class, "whiteboard/")).status_code == 204
    assert client.get(url(lc.live_class, "whiteboard/?room=3")).status_code == 403


def test_chat_found_by_key_for_those_who_joined(api_client_for, lc, learner, learner2, commit):
    api_client_for(learner).post(url(lc.live_class, "join/"))
    commit()  # the messaging handler runs after the join commits
    key = lc.live_class.topic
    response = api_client_for(learner).get(f"/api/v1/conversations/live-class/{key}/")
    assert response.status_code == 200, response.content
    assert response.json()["kind"] == "live_class"
    assert (
        api_client_for(learner2).get(f"/api/v1/conversations/live-class/{key}/").status_code == 404
    )


def test_create_ad_hoc_and_list_for_the_course(api_client_for, lc, trainer, learner):
    response = api_client_for(trainer).post(
        "/api/v1/liveclasses/", {"title": "Extra", "course": lc.course.pk}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["capacity"] > 1
    listed = api_client_for(learner).get(f"/api/v1/liveclasses/?course={lc.course.pk}").json()
    assert {c["title"] for c in listed} == {"Conversation class", "Extra"}
    denied = api_client_for(learner).post(
        "/api/v1/liveclasses/", {"title": "Mine", "course": lc.course.pk}, format="json"
    )
    assert denied.status_code == 403


def test_attendance_report_page_and_csv_persist_after_the_end(client, lc, trainer, learner):
    services.liveclass_join(user=learner, live_class=lc.live_class)
    services.liveclass_end(actor=trainer, live_class=lc.live_class)
    client.force_login(trainer)
    page = client.get(f"/liveclass/{lc.live_class.pk}/attendance/")
    assert page.status_code == 200 and learner.name in page.content.decode()
    csv = client.get(f"/liveclass/{lc.live_class.pk}/attendance.csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("participant,role,joined_at,left_at")
    assert any(line.startswith(learner.name) for line in lines)
    client.force_login(learner)
    assert client.get(f"/liveclass/{lc.live_class.pk}/attendance.csv").status_code == 403
    assert api_client_for_json(client, lc.live_class).status_code == 403


def api_client_for_json(client, live_class):
    return client.get(url(live_class, "attendance/"))


def test_room_page_and_course_links(client, lc, trainer, learner, outsider):
    client.force_login(learner)
    page = client.get(f"/liveclass/{lc.live_class.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="media-stage"' in body and "liveclass_media.js" in body and "lc-state" in body
    course_page = client.get(f"/courses/{lc.course.pk}/").content.decode()
    assert f"/liveclass/{lc.live_class.pk}/" in course_page
    assert (
        client.get(f"/activities/{lc.activity.pk}/liveclass/").url
        == f"/liveclass/{lc.live_class.pk}/"
    )
    client.force_login(outsider)
    assert client.get(f"/liveclass/{lc.live_class.pk}/").status_code == 404


def test_course_page_hides_classes_from_those_not_in_the_course(client, lc, space):
    from hub.accounts.models import Role
    from tests.factories import UserFactory

    lc.course.self_enrolment = True
    lc.course.save()
    visitor = UserFactory(roles=[Role.LEARNER], spaces=[space])
    client.force_login(visitor)
    page = client.get(f"/courses/{lc.course.pk}/")
    assert page.status_code == 200
    assert f"/liveclass/{lc.live_class.pk}/" not in page.content.decode()


def test_trainer_starts_a_class_from_the_course_page(client, lc, trainer, learner):
    client.force_login(trainer)
    response = client.post(f"/courses/{lc.course.pk}/liveclass/new/")
    created = LiveClass.objects.exclude(pk=lc.live_class.pk).get()
    assert response.url == f"/liveclass/{created.pk}/"
    assert created.status == "live" and created.course == lc.course
    client.force_login(learner)
    assert client.post(f"/courses/{lc.course.pk}/liveclass/new/").status_code in (403, 404)


def test_endpoints_are_in_the_schema(client, trainer):
    client.force_login(trainer)
    schema = client.get("/api/schema/").content.decode()
    for path in (
        "/api/v1/liveclasses/{id}/join/",
        "/api/v1/liveclasses/{id}/polls/",
        "/api/v1/liveclasses/{id}/control/",
    ):
        assert path in schema


def test_a_trainer_opens_a_class_for_a_space_without_a_course(api_client_for, trainer, space):
    response = api_client_for(trainer).post(
        "/api/v1/liveclasses/", {"title": "Open office hour", "space": space.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["course"] is None
    missing = api_client_for(trainer).post(
        "/api/v1/liveclasses/", {"title": "Nowhere"}, format="json"
    )
    assert missing.status_code == 400


def test_removed_from_the_class_means_out_of_its_chat(api_client_for, lc, trainer, learner, commit):
    api_client_for(learner).post(url(lc.live_class, "join/"))
    commit()
    key = lc.live_class.topic
    assert (
        api_client_for(learner).get(f"/api/v1/conversations/live-class/{key}/").status_code == 200
    )
    api_client_for(trainer).post(
        url(lc.live_class, "control/"), {"action": "remove", "user": learner.pk}, format="json"
    )
    commit()
    assert (
        api_client_for(learner).get(f"/api/v1/conversations/live-class/{key}/").status_code == 404
    )


def test_a_trainer_opens_a_class_for_an_activity_that_has_none(client, lc, trainer, learner):
    from classrooms.models import ActivityKind

    other = services.activity_create(
        user=trainer, module=lc.activity.module, title="Second class", kind=ActivityKind.LIVE_CLASS
    )
    client.force_login(learner)
    assert client.get(f"/activities/{other.pk}/liveclass/").url == f"/courses/{lc.course.pk}/"
    assert client.post(f"/activities/{other.pk}/liveclass/").status_code == 403
    client.force_login(trainer)
    response = client.post(f"/activities/{other.pk}/liveclass/")
    created = LiveClass.objects.get(activity=other)
    assert response.url == f"/liveclass/{created.pk}/"
    other.refresh_from_db()
    assert (other.link_kind, other.link_id) == ("liveclass", created.pk)
