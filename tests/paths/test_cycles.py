"""A path assigned again after completion starts a new cycle: the past one kept with its
dates, progress from 0, and only what is done again from then on counts (a lesson viewed
again, an assignment handed in again and passed). Asked again by someone who may not, or
without "again": nothing changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from classrooms import services as classrooms_services
from classrooms.models import Completion
from grading import selectors as grading_selectors
from grading import services as grading_services
from paths import services
from paths.models import PathAssignment, PathCycle
from tests.grading.conftest import build_assignment, scores
from tests.paths.test_paths import complete, course

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    from datetime import UTC

    state = SimpleNamespace(now=datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", lambda: state.now)
    return state


@pytest.fixture
def two(trainer, space, learner, learner2):
    """A path of a one-lesson course and a graded essay (an activity item)."""
    basics, lessons = course(trainer, space, "Basics")
    g = build_assignment(trainer=trainer, space=space, learners=[learner, learner2])
    path = services.path_create(user=trainer, space=space, title="Yearly", ordered=False)
    services.path_item_add(user=trainer, path=path, course=basics)
    services.path_item_add(user=trainer, path=path, activity=g.essay)
    return SimpleNamespace(path=path, lessons=lessons, g=g)


def pass_essay(trainer, learner, g, *, again=False):
    if again:
        sub = grading_services.submission_resubmit(user=learner, activity=g.essay, text="Anew")
    else:
        sub = classrooms_services.submission_create(user=learner, activity=g.essay, text="Mine")
    grading_services.grade_submission(
        grader=trainer, submission=sub, scores=scores(g.criteria, 9, 9)
    )
    return sub


def test_assigned_again_after_completion(two, clock, trainer, learner, learner2, commit):
    services.path_assign(actor=trainer, path=two.path, users=[learner, learner2])
    complete(learner, two.lessons)
    commit()
    pass_essay(trainer, learner, two.g)
    commit()
    a = PathAssignment.objects.get(user=learner)
    assert a.progress == 100 and a.completed_at is not None
    first_done = a.completed_at
    # Assigning again without "again": nobody restarts.
    clock.now += timedelta(days=200)
    assert services.path_assign(actor=trainer, path=two.path, users=[learner]) == []
    a.refresh_from_db()
    assert a.cycle == 1 and a.completed_at == first_done
    # With "again": Leo (completed) starts cycle 2 at 0 %; Lina (not completed) is left alone.
    restarted = services.path_assign(
        actor=trainer, path=two.path, users=[learner, learner2], again=True
    )
    assert [r.user_id for r in restarted] == [learner.pk]
    a.refresh_from_db()
    assert (a.cycle, a.progress, a.completed_at, a.cycle_reason) == (2, 0, None, "reassigned")
    assert a.cycle_started_at == clock.now
    (past,) = PathCycle.objects.filter(assignment=a)
    assert (past.number, past.progress, past.completed_at) == (1, 100, first_done)
    lina = PathAssignment.objects.get(user=learner2)
    assert lina.cycle == 1 and not PathCycle.objects.filter(assignment=lina).exists()
    # The passed essay may be handed in again in the new cycle; the lesson viewed again.
    clock.now += timedelta(days=3)
    assert grading_selectors.resubmission_state(user=learner, activity=two.g.essay) == (True, "")
    complete(learner, two.lessons)
    commit()
    a.refresh_from_db()
    assert a.progress == 50 and a.completed_at is None
    pass_essay(trainer, learner, two.g, again=True)
    commit()
    a.refresh_from_db()
    assert a.progress == 100 and a.completed_at == clock.now
    # Once passed in this cycle: not again.
    assert grading_selectors.resubmission_state(user=learner, activity=two.g.essay) == (
        False,
        "passed",
    )
    essay = Completion.objects.get(user=learner, activity=two.g.essay)
    assert essay.times == 2 and essay.last_completed_at == clock.now


def test_a_failed_new_attempt_keeps_the_earlier_completion(two, clock, trainer, learner, commit):
    services.path_assign(actor=trainer, path=two.path, users=[learner])
    complete(learner, two.lessons)
    commit()
    pass_essay(trainer, learner, two.g)
    commit()
    clock.now += timedelta(days=365)
    services.path_assign(actor=trainer, path=two.path, users=[learner], again=True)
    clock.now += timedelta(days=1)
    sub = grading_services.submission_resubmit(user=learner, activity=two.g.essay, text="Weak")
    grading_services.grade_submission(
        grader=trainer, submission=sub, scores=scores(two.g.criteria, 1, 1)
    )
    commit()
    # The course and the gradebook keep the first pass; nothing is done in the new cycle.
    assert Completion.objects.filter(user=learner, activity=two.g.essay).exists()
    a = PathAssignment.objects.get(user=learner)
    assert a.progress == 0 and a.completed_at is None and a.cycle == 2


def test_again_by_someone_who_may_not_changes_nothing(
    two, trainer, learner, learner2, client, commit
):
    services.path_assign(actor=trainer, path=two.path, users=[learner])
    complete(learner, two.lessons)
    commit()
    pass_essay(trainer, learner, two.g)
    commit()
    with pytest.raises(PermissionDenied):
        services.path_assign(actor=learner2, path=two.path, users=[learner], again=True)
    client.force_login(learner2)
    response = client.post(
        f"/api/v1/paths/{two.path.pk}/assign/",
        {"users": [learner.pk], "again": True},
        content_type="application/json",
    )
    assert response.status_code in (403, 404)
    a = PathAssignment.objects.get(user=learner)
    assert a.cycle == 1 and a.completed_at is not None
    assert not PathCycle.objects.exists()


def test_again_through_the_api_and_the_page(two, trainer, learner, client, commit):
    services.path_assign(actor=trainer, path=two.path, users=[learner])
    complete(learner, two.lessons)
    commit()
    pass_essay(trainer, learner, two.g)
    commit()
    client.force_login(trainer)
    response = client.post(
        f"/api/v1/paths/{two.path.pk}/assign/",
        {"users": [learner.pk], "again": True},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert [(r["cycle"], r["progress"]) for r in response.json()] == [(2, 0)]
    # The form's box: a third cycle (the second was not completed: nothing changes).
    page = client.get(reverse("paths-detail", args=[two.path.pk])).content.decode()
    assert 'data-testid="assign-again"' in page
    client.post(
        reverse("paths-assign", args=[two.path.pk]),
        {"to": "people", "usernames": learner.username, "again": "1"},
    )
    assert PathAssignment.objects.get(user=learner).cycle == 2
    # The learner's page: the current cycle and the past one, with its dates.
    client.force_login(learner)
    page = client.get(reverse("paths-mine")).content.decode()
    assert 'data-testid="path-cycle"' in page
    assert page.count('data-testid="path-cycle-row"') == 1
    assert 'data-state="done"' not in page
    # The lesson, done in cycle 1, asks to be viewed again (its page's script completes it).
    lesson = client.get(reverse("activity-detail", args=[two.lessons[0].pk])).content.decode()
    assert "data-complete-url" in lesson
    complete(learner, two.lessons)
    commit()
    lesson = client.get(reverse("activity-detail", args=[two.lessons[0].pk])).content.decode()
    assert "data-complete-url" not in lesson


def test_a_quiz_with_an_attempt_limit_can_be_taken_again_in_a_new_cycle(
    clock, trainer, space, learner, commit
):
    """The limit counts the attempts of the current cycle; numbers keep counting."""
    from classrooms.models import Attempt
    from classrooms.services import Conflict
    from tests.classrooms.conftest import build_course, right_answers

    c = build_course(trainer=trainer, space=space, learners=[learner])  # quiz: 2 attempts
    path = services.path_create(user=trainer, space=space, title="Yearly", ordered=False)
    services.path_item_add(user=trainer, path=path, activity=c.quiz)
    services.path_assign(actor=trainer, path=path, users=[learner])
    for answers in ({}, right_answers(c)):
        attempt = classrooms_services.attempt_start(user=learner, activity=c.quiz)
        classrooms_services.attempt_submit(user=learner, attempt=attempt, answers=answers)
    commit()
    with pytest.raises(Conflict):
        classrooms_services.attempt_start(user=learner, activity=c.quiz)
    assert PathAssignment.objects.get(user=learner).completed_at is not None

    clock.now += timedelta(days=365)
    services.path_assign(actor=trainer, path=path, users=[learner], again=True)
    clock.now += timedelta(days=1)
    attempt = classrooms_services.attempt_start(user=learner, activity=c.quiz)
    assert attempt.number == 3
    classrooms_services.attempt_submit(user=learner, attempt=attempt, answers=right_answers(c))
    commit()
    a = PathAssignment.objects.get(user=learner)
    assert a.cycle == 2 and a.completed_at == clock.now
    # Completed again: the cycle is over, the limit counts every attempt once more.
    with pytest.raises(Conflict):
        classrooms_services.attempt_start(user=learner, activity=c.quiz)
    assert Attempt.objects.filter(user=learner, activity=c.quiz).count() == 3


def test_a_new_cycle_is_pushed_to_the_person(two, clock, trainer, learner, learner2, published):
    """Assigned again: ``paths.cycle`` on the restarted person's own topic (their page redraws
    the path's card live), with the new cycle; nothing for someone who was not restarted."""
    services.path_assign(actor=trainer, path=two.path, users=[learner, learner2])
    complete(learner, two.lessons)
    pass_essay(trainer, learner, two.g)
    published()  # the assignment's and the completion's events
    clock.now += timedelta(days=200)
    services.path_assign(actor=trainer, path=two.path, users=[learner, learner2], again=True)
    cycles = [e for e in published() if e.type == "paths.cycle"]
    assert [e.topic for e in cycles] == [f"hub.user.{learner.pk}"]
    data = cycles[0].data
    assert (data["path"], data["cycle"], data["progress"], data["completed"]) == (
        two.path.pk,
        2,
        0,
        False,
    )
    assert data["cycle_started_at"] == clock.now.isoformat()
