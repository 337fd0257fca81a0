"""Grading: rubrics, grades and completion, resubmission rules, the queue and the gradebook,
who sees what (REST, pages, WebSocket)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from notifications.models import Notification

from classrooms import services as classrooms_services
from classrooms.models import Completion, Enrolment, EnrolmentStatus, Submission
from classrooms.services import Conflict
from grading import selectors, services
from grading.models import Grade, Resubmission
from hub.accounts.models import Role
from tests.factories import UserFactory
from tests.grading.conftest import build_assignment, scores

pytestmark = pytest.mark.django_db


def submit(user, g, text="My essay"):
    return classrooms_services.submission_create(user=user, activity=g.essay, text=text)


def test_rubric_is_sanitised_and_bad_rubrics_are_refused(trainer, learner, g):
    rubric = services.rubric_save(
        user=trainer,
        activity=g.essay,
        criteria=[
            {
                "title": "<script>alert(1)</script>Clarity",
                "max_points": 5,
                "description": "<img src=x onerror=alert(1)>**bold**<script>x()</script>",
            }
        ],
    )
    c = rubric.criteria.get()
    assert "<script" not in c.title and "Clarity" in c.title
    assert "onerror" not in c.description_html and "<script" not in c.description_html
    assert "<strong>bold</strong>" in c.description_html
    for bad in ([], [{"title": "", "max_points": 3}], [{"title": "x", "max_points": 0}]):
        with pytest.raises(ValidationError):
            services.rubric_save(user=trainer, activity=g.essay, criteria=bad)
    with pytest.raises(PermissionDenied):
        services.rubric_save(
            user=learner, activity=g.essay, criteria=[{"title": "x", "max_points": 1}]
        )
    assert [x.title for x in selectors.rubric_of(g.essay).criteria.all()] == [c.title]


def test_grade_passes_completes_and_notifies(trainer, learner, g, commit, published):
    sub = submit(learner, g)
    commit()
    # Passed when graded: submitting alone does not complete it.
    assert not Completion.objects.filter(user=learner, activity=g.essay).exists()
    assert selectors.pending_count(course_id=g.course.pk) == 1
    counts = [e for e in published(f"grading.course.{g.course.pk}") if e.type == "queue.count"]
    assert counts[-1].data == {"course": g.course.pk, "pending": 1}
    grade = services.grade_submission(
        grader=trainer,
        submission=sub,
        scores=scores(g.criteria, 8, 6, comment="<b>good</b>"),
        feedback="Well done <script>x()</script>",
    )
    commit()
    assert (grade.points, grade.max_points, grade.percent, grade.passed) == (14, 20, 70, True)
    assert "<script" not in grade.feedback_html and "<b>" not in grade.scores[0]["comment"]
    assert Completion.objects.filter(user=learner, activity=g.essay, source="graded").exists()
    enrolment = Enrolment.objects.get(user=learner, course=g.course)
    assert enrolment.status == EnrolmentStatus.COMPLETED
    assert Notification.objects.filter(recipient=learner, verb__contains="70").exists()
    events = published(f"grading.course.{g.course.pk}")
    assert any(e.type == "grade.saved" and e.data["percent"] == 70 for e in events)
    # The learner hears of it on their own topic (the notification), nobody else's.
    assert published(f"hub.user.{learner.pk}")
    assert selectors.pending_count(course_id=g.course.pk) == 0


def test_bad_grades_change_nothing(trainer, learner, learner2, g):
    sub = submit(learner, g)
    bad = [
        scores(g.criteria[:1], 5),  # a criterion missing
        scores(g.criteria, 11, 5),  # over the maximum
        scores(g.criteria, -1, 5),
        [{"criterion": "x", "points": 1}, {"criterion": g.criteria[1].pk, "points": 1}],
        scores(g.criteria, 5, 5) + scores(g.criteria[:1], 5),  # one twice
    ]
    for s in bad:
        with pytest.raises(ValidationError):
            services.grade_submission(grader=trainer, submission=sub, scores=s)
    # A learner, another course's trainer, the author: no.
    other = UserFactory(roles=[Role.TRAINER], spaces=[g.course.space])
    for who in (learner2, other):
        with pytest.raises(PermissionDenied):
            services.grade_submission(grader=who, submission=sub, scores=scores(g.criteria, 5, 5))
    assert not Grade.objects.exists()


def test_resubmission_rules(trainer, learner, g):
    sub = submit(learner, g)
    # Not before the grade, and a second plain submission is refused.
    with pytest.raises(Conflict):
        services.submission_resubmit(user=learner, activity=g.essay, text="again")
    with pytest.raises(Conflict):
        submit(learner, g)
    services.grade_submission(grader=trainer, submission=sub, scores=scores(g.criteria, 2, 2))
    assert selectors.resubmission_state(user=learner, activity=g.essay) == (True, "")
    second = services.submission_resubmit(user=learner, activity=g.essay, text="Better essay")
    assert second.number == 2
    # The first one is no longer gradable (a newer one replaced it); the queue has the new one.
    with pytest.raises(Conflict):
        services.grade_submission(grader=trainer, submission=sub, scores=scores(g.criteria, 9, 9))
    assert list(selectors.queue_for(user=trainer)) == [second]
    services.grade_submission(grader=trainer, submission=second, scores=scores(g.criteria, 3, 3))
    # Two submissions allowed: spent.
    assert selectors.resubmission_state(user=learner, activity=g.essay) == (False, "spent")
    with pytest.raises(Conflict):
        services.submission_resubmit(user=learner, activity=g.essay, text="third")
    # A rubric that never allows resubmission.
    g.rubric.resubmission = Resubmission.NEVER
    g.rubric.max_submissions = 0
    g.rubric.save()
    assert selectors.resubmission_state(user=learner, activity=g.essay) == (False, "never")
    assert Submission.objects.filter(user=learner).count() == 2


def test_passed_work_is_not_resubmitted(trainer, learner, g):
    sub = submit(learner, g)
    services.grade_submission(grader=trainer, submission=sub, scores=scores(g.criteria, 10, 10))
    with pytest.raises(Conflict):
        services.submission_resubmit(user=learner, activity=g.essay, text="more")


def test_api_learner_never_sees_another_persons_work(
    api_client_for, trainer, learner, learner2, manager, g, outsider
):
    sub = submit(learner, g)
    services.grade_submission(grader=trainer, submission=sub, scores=scores(g.criteria, 5, 5))
    url = f"/api/v1/grading/submissions/{sub.pk}/"
    assert api_client_for(learner2).get(url).status_code == 404
    assert api_client_for(outsider).get(url).status_code == 404
    mine = api_client_for(learner).get(url)
    assert mine.status_code == 200 and mine.json()["grade"]["percent"] == 50
    assert api_client_for(manager).get(url).status_code == 200  # their report's
    assert api_client_for(trainer).get(url).status_code == 200
    # learner2's own list is empty; the gradebook is the editors'.
    listing = api_client_for(learner2).get(f"/api/v1/grading/activities/{g.essay.pk}/submissions/")
    assert listing.status_code == 200 and listing.json()["results"] == []
    book = f"/api/v1/grading/courses/{g.course.pk}/gradebook/"
    assert api_client_for(learner).get(book).status_code == 404
    assert api_client_for(manager).get(book).status_code == 404
    rows = api_client_for(trainer).get(book).json()["rows"]
    assert {r["user"]["id"]: r["cells"][0]["percent"] for r in rows} == {
        learner.pk: 50,
        learner2.pk: None,
    }
    # Learners neither grade nor see the queue's work.
    post = api_client_for(learner2).post(
        url + "grade/", {"scores": scores(g.criteria, 10, 10)}, format="json"
    )
    assert post.status_code == 404
    queue = api_client_for(learner).get("/api/v1/grading/queue/").json()
    assert queue == {"counts": [], "results": []}


def test_api_rubric_grade_resubmit(api_client_for, trainer, learner, g):
    client = api_client_for(trainer)
    url = f"/api/v1/grading/activities/{g.essay.pk}/rubric/"
    bad = client.put(url, {"criteria": []}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"]
    ok = client.put(
        url,
        {"criteria": [{"title": "All", "max_points": 4}], "pass_mark": 75, "max_submissions": 0},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["criteria"][0]["max_points"] == 4
    assert api_client_for(learner).put(url, ok.json(), format="json").status_code == 403
    sub = submit(learner, g)
    queue = client.get("/api/v1/grading/queue/").json()
    assert [r["id"] for r in queue["results"]] == [sub.pk]
    assert queue["counts"] == [{"course": g.course.pk, "title": g.course.title, "pending": 1}]
    crit = ok.json()["criteria"][0]["id"]
    graded = client.post(
        f"/api/v1/grading/submissions/{sub.pk}/grade/",
        {"scores": [{"criterion": crit, "points": 2}], "feedback": "Try again"},
        format="json",
    )
    assert graded.status_code == 200 and graded.json()["passed"] is False
    again = api_client_for(learner).post(
        f"/api/v1/grading/activities/{g.essay.pk}/resubmit/", {"text": "v2"}, format="json"
    )
    assert again.status_code == 201 and again.json()["number"] == 2
    twice = api_client_for(learner).post(
        f"/api/v1/grading/activities/{g.essay.pk}/resubmit/", {"text": "v3"}, format="json"
    )
    assert twice.status_code == 409


def test_gradebook_page_and_csv(client, trainer, learner, learner2, g):
    sub = submit(learner, g)
    services.grade_submission(grader=trainer, submission=sub, scores=scores(g.criteria, 9, 9))
    submit(learner2, g)
    learner2.display_name = "=HYPERLINK(1)"
    learner2.save()
    client.force_login(trainer)
    page = client.get(f"/grading/courses/{g.course.pk}/")
    assert page.status_code == 200 and "90 %" in page.content.decode()
    response = client.get(f"/grading/courses/{g.course.pk}/gradebook.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][-1] == "Essay"
    by_name = {r[1]: r for r in rows[1:]}
    assert by_name[learner.username][-1] == "90"
    assert by_name[learner2.username][-1] == "to grade"
    assert all(not r[0].startswith("=") for r in rows[1:])
    client.force_login(learner)
    assert client.get(f"/grading/courses/{g.course.pk}/").status_code == 404
    assert client.get(f"/grading/courses/{g.course.pk}/gradebook.csv").status_code == 404


def test_pages_grade_through_the_form(client, trainer, learner, learner2, g):
    sub = submit(learner, g)
    other = submit(learner2, g)
    client.force_login(trainer)
    assert client.get("/grading/").status_code == 200
    page = client.get(f"/grading/submissions/{sub.pk}/")
    assert page.status_code == 200 and "My essay" in page.content.decode()
    form = {f"points-{g.criteria[0].pk}": "10", f"points-{g.criteria[1].pk}": "11"}
    bad = client.post(f"/grading/submissions/{sub.pk}/", form)
    assert bad.status_code == 400 and not Grade.objects.exists()
    form[f"points-{g.criteria[1].pk}"] = "10"
    done = client.post(f"/grading/submissions/{sub.pk}/", {**form, "feedback": "Great"})
    # On to the next one in the queue.
    assert done.status_code == 302 and done["Location"] == f"/grading/submissions/{other.pk}/"
    assert Grade.objects.get(submission=sub).percent == 100
    client.force_login(learner2)
    assert client.get(f"/grading/submissions/{sub.pk}/").status_code == 404
    assert client.get("/grading/").status_code == 403
    client.force_login(learner)
    mine = client.get(f"/grading/activities/{g.essay.pk}/")
    assert mine.status_code == 200 and "100 %" in mine.content.decode()
    assert client.post(f"/grading/submissions/{sub.pk}/", form).status_code == 403


def test_rubric_page(client, trainer, learner, g):
    client.force_login(trainer)
    url = f"/grading/activities/{g.essay.pk}/rubric/"
    assert client.get(url).status_code == 200
    bad = client.post(url, {"criteria": "x | y", "pass_mark": "50", "resubmission": "if_failed"})
    assert bad.status_code == 400
    ok = client.post(
        url,
        {
            "criteria": "5 | Tone | be *kind*\n\n15 | Facts",
            "pass_mark": "50",
            "resubmission": "never",
            "max_submissions": "1",
        },
    )
    assert ok.status_code == 302
    assert [(c.title, c.max_points) for c in selectors.rubric_of(g.essay).criteria.all()] == [
        ("Tone", 5),
        ("Facts", 15),
    ]
    client.force_login(learner)
    assert client.get(url).status_code == 403


def test_get_changes_nothing(client, trainer, learner, g):
    sub = submit(learner, g)
    client.force_login(trainer)
    for url in ("/grading/", f"/grading/submissions/{sub.pk}/", f"/grading/courses/{g.course.pk}/"):
        client.get(url)
    assert not Grade.objects.exists()


@pytest.mark.django_db(transaction=True)
async def test_queue_counts_live_for_editors_only(communicator_for, space):
    from asgiref.sync import sync_to_async

    teacher = await sync_to_async(UserFactory)(roles=[Role.TRAINER], spaces=[space])
    pupil = await sync_to_async(UserFactory)(roles=[Role.LEARNER], spaces=[space])
    g = await sync_to_async(build_assignment)(trainer=teacher, space=space, learners=[pupil])
    topic = f"grading.course.{g.course.pk}"
    ws = await communicator_for(pupil)
    assert (await ws.call("sub", topic=topic))["code"] == "forbidden"
    assert (await ws.call("sub", topic="grading.course.abc"))["code"] == "forbidden"
    ws = await communicator_for(teacher)
    assert (await ws.call("sub", topic=topic))["op"] == "ok"
    sub = await sync_to_async(classrooms_services.submission_create)(
        user=pupil, activity=g.essay, text="hi"
    )
    event = await ws.next_event(type="queue.count")
    assert event["data"] == {"course": g.course.pk, "pending": 1}
    await sync_to_async(services.grade_submission)(
        grader=teacher, submission=sub, scores=scores(g.criteria, 1, 1)
    )
    saved = await ws.next_event(type="grade.saved")
    assert saved["data"]["user"] == pupil.pk and saved["data"]["percent"] == 10
    event = await ws.next_event(type="queue.count", data={"course": g.course.pk, "pending": 0})
    assert event


def test_regrading_a_pass_to_a_fail_takes_its_completion_back(
    trainer, learner, g, commit, published
):
    """The completion a pass made goes, progress goes down, the course is back in progress;
    a completion from another source (here: made by hand, "viewed") is left alone."""
    sub = submit(learner, g)
    services.grade_submission(grader=trainer, submission=sub, scores=scores(g.criteria, 8, 6))
    enrolment = Enrolment.objects.get(user=learner, course=g.course)
    assert enrolment.status == EnrolmentStatus.COMPLETED and enrolment.progress == 100
    commit()
    services.grade_submission(grader=trainer, submission=sub, scores=scores(g.criteria, 2, 3))
    commit()
    assert not Completion.objects.filter(user=learner, activity=g.essay).exists()
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.progress, enrolment.completed_at) == (
        EnrolmentStatus.ACTIVE,
        0,
        None,
    )
    recomputed = [e for e in published(g.course.progress_topic) if e.type == "progress.recomputed"]
    assert recomputed[-1].data["learners"][0]["progress"] == 0
    # Passing again completes it again.
    services.grade_submission(grader=trainer, submission=sub, scores=scores(g.criteria, 9, 9))
    assert Completion.objects.filter(user=learner, activity=g.essay, source="graded").exists()
    # A fail never removes a completion some other way made.
    Completion.objects.filter(user=learner, activity=g.essay).update(source="viewed")
    services.grade_submission(grader=trainer, submission=sub, scores=scores(g.criteria, 1, 1))
    assert Completion.objects.filter(user=learner, activity=g.essay).exists()


def test_gradebook_csv_column_titles_never_start_a_formula(client, trainer, g):
    g.essay.title = "=cmd|' /C calc'!A0"
    g.essay.save(update_fields=["title"])
    client.force_login(trainer)
    response = client.get(f"/grading/courses/{g.course.pk}/gradebook.csv")
    header = next(csv.reader(io.StringIO(response.content.decode())))
    assert header[-1] == "'=cmd|' /C calc'!A0"
