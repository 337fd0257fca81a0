"""REST: permissions, enrolment rules, bad input; the OpenAPI schema lists it all."""

from __future__ import annotations

import pytest

from classrooms.models import Course, Enrolment, Module
from hub.accounts.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_trainer_builds_a_course_over_rest(api_client_for, trainer, space):
    api = api_client_for(trainer)
    course = api.post(
        "/api/v1/courses/",
        {"space": space.pk, "title": "API course", "summary": "<img src=x onerror=alert(1)>"},
        format="json",
    )
    assert course.status_code == 201, course.json()
    cid = course.json()["id"]
    assert "onerror" not in course.json()["summary_html"]
    m = api.post(f"/api/v1/courses/{cid}/modules/", {"title": "M1"}, format="json").json()
    a1 = api.post(
        f"/api/v1/modules/{m['id']}/activities/",
        {"title": "L1", "kind": "lesson", "body": "# Hi"},
        format="json",
    )
    assert a1.status_code == 201, a1.json()
    a2 = api.post(
        f"/api/v1/modules/{m['id']}/activities/", {"title": "L2", "kind": "lesson"}, format="json"
    ).json()
    r = api.post(
        f"/api/v1/modules/{m['id']}/activities/reorder/",
        {"ids": [a2["id"], a1.json()["id"]]},
        format="json",
    )
    assert r.status_code == 204
    detail = api.get(f"/api/v1/courses/{cid}/").json()
    assert [a["title"] for a in detail["modules"][0]["activities"]] == ["L2", "L1"]
    bad = api.post(
        f"/api/v1/modules/{m['id']}/activities/", {"title": "X", "kind": "media"}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"


def test_editing_someone_elses_course_is_refused(api_client_for, space, c):
    other = UserFactory(roles=[Role.TRAINER], spaces=[space])
    c.course.published = True
    c.course.self_enrolment = True
    c.course.save()
    api = api_client_for(other)
    r = api.patch(f"/api/v1/courses/{c.course.pk}/", {"title": "Mine"}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = api.patch(f"/api/v1/activities/{c.lesson.pk}/", {"title": "Mine"}, format="json")
    assert r.status_code == 404  # the content of a course one is not in does not exist
    assert Course.objects.get(pk=c.course.pk).title == "Safety first"
    assert Module.objects.filter(course=c.course).count() == 2


def test_learner_cannot_see_a_course_they_are_not_in(
    api_client_for, trainer, space, outsider, learner
):
    from classrooms import services

    hidden = services.course_create(
        author=trainer, space=space, title="Invite only", published=True
    )
    api = api_client_for(learner)
    assert api.get(f"/api/v1/courses/{hidden.pk}/").status_code == 404
    assert hidden.pk not in [x["id"] for x in api.get("/api/v1/courses/").json()]
    assert (
        api.post(f"/api/v1/courses/{hidden.pk}/enrolments/", {}, format="json").status_code == 404
    )


def test_learner_sees_only_own_progress(api_client_for, learner, learner2, c):
    from classrooms import services

    services.activity_view(user=learner2, activity=c.lesson)
    api = api_client_for(learner)
    data = api.get(f"/api/v1/courses/{c.course.pk}/progress/").json()
    assert [r["user"]["id"] for r in data["learners"]] == [learner.pk]
    enrols = api.get(f"/api/v1/courses/{c.course.pk}/enrolments/").json()
    assert [e["user"]["id"] for e in enrols] == [learner.pk]
    other = Enrolment.objects.get(user=learner2)
    assert api.delete(f"/api/v1/enrolments/{other.pk}/").status_code == 404
    assert Enrolment.objects.filter(pk=other.pk).exists()


def test_manager_sees_reports_and_enrols_them(
    api_client_for, manager, learner, learner2, trainer, space, c
):
    stranger = UserFactory(roles=[Role.LEARNER], spaces=[space])
    from classrooms import services

    services.enrolment_create(actor=trainer, user=stranger, course=c.course)
    api = api_client_for(manager)
    ids = [
        r["user"]["id"]
        for r in api.get(f"/api/v1/courses/{c.course.pk}/progress/").json()["learners"]
    ]
    assert sorted(ids) == sorted([learner.pk, learner2.pk])
    new = services.course_create(author=trainer, space=space, title="New", published=True)
    ok = api.post(f"/api/v1/courses/{new.pk}/enrolments/", {"user": learner.pk}, format="json")
    assert ok.status_code == 201 and ok.json()["source"] == "manager"
    no = api.post(f"/api/v1/courses/{new.pk}/enrolments/", {"user": stranger.pk}, format="json")
    assert no.status_code == 403
    assert not Enrolment.objects.filter(user=stranger, course=new).exists()


def test_self_enrol_and_complete_over_rest(api_client_for, learner, trainer, space):
    from classrooms import services

    course = services.course_create(author=trainer, space=space, title="Open", published=True)
    m = services.module_create(user=trainer, course=course, title="M")
    lesson = services.activity_create(user=trainer, module=m, title="L", kind="lesson")
    api = api_client_for(learner)
    assert (
        api.post(f"/api/v1/courses/{course.pk}/enrolments/", {}, format="json").status_code == 404
    )
    services.course_update(user=trainer, course=course, self_enrolment=True)
    assert (
        api.post(f"/api/v1/courses/{course.pk}/enrolments/", {}, format="json").status_code == 201
    )
    done = api.post(f"/api/v1/activities/{lesson.pk}/complete/")
    assert done.json() == {"completed": True, "progress": 100}
    assert api.get("/api/v1/enrolments/").json()[0]["status"] == "completed"


def test_schema_lists_classrooms(client):
    schema = client.get("/api/schema/").content.decode()
    for path in (
        "/api/v1/courses/",
        "/api/v1/courses/{id}/enrolments/",
        "/api/v1/courses/{id}/progress/",
        "/api/v1/modules/{id}/activities/",
        "/api/v1/activities/{id}/attempts/",
        "/api/v1/attempts/{id}/submit/",
    ):
        assert path in schema, path


def test_multipart_patch_keeps_what_it_is_not_given(api_client_for, trainer, c):
    """A partial update (multipart, as a form with a file would send it) changes only the
    fields it carries: no "keeps at least one trainer" refusal, no checkbox turned off."""
    api = api_client_for(trainer)
    r = api.patch(f"/api/v1/courses/{c.course.pk}/", {"title": "Renamed"}, format="multipart")
    assert r.status_code == 200, r.json()
    course = Course.objects.get(pk=c.course.pk)
    assert course.title == "Renamed"
    assert list(course.trainers.all()) == [trainer]
    assert course.published is True
    r = api.patch(f"/api/v1/activities/{c.lesson.pk}/", {"title": "Hi"}, format="multipart")
    assert r.status_code == 200, r.json()
    c.lesson.refresh_from_db()
    assert c.lesson.title == "Hi" and c.lesson.required is True
    # Given explicitly, the rule still holds.
    r = api.patch(f"/api/v1/courses/{c.course.pk}/", {"trainers": []}, format="json")
    assert r.status_code == 400
    assert list(Course.objects.get(pk=c.course.pk).trainers.all()) == [trainer]
