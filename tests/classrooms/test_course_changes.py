"""A course's structure changes (an activity added, removed, made optional or required):
every learner's progress AND status follow, completions are announced and paid once, and
the live views hear about it (item 11 of issue 13). A quiz's grid cell carries the best
score live (item 12)."""

from __future__ import annotations

import pytest
from notifications.models import Notification

from classrooms import services
from classrooms.models import ActivityKind, Enrolment, EnrolmentStatus
from leaderboards.models import PointAward, Reason
from tests.classrooms.conftest import right_answers

pytestmark = pytest.mark.django_db


def _enrolment(user, c) -> Enrolment:
    return Enrolment.objects.get(user=user, course=c.course)


def _finish(user, c) -> None:
    services.activity_view(user=user, activity=c.lesson)
    services.activity_view(user=user, activity=c.media)
    attempt = services.attempt_start(user=user, activity=c.quiz)
    services.attempt_submit(user=user, attempt=attempt, answers=right_answers(c))


def _course_awards(user, c) -> int:
    return PointAward.objects.filter(
        user=user, reason=Reason.COURSE_COMPLETED, source_id=c.course.pk
    ).count()


def test_a_new_required_activity_reopens_a_completed_course_and_removing_it_closes_it(
    learner, learner2, trainer, manager, c, published
):
    _finish(learner, c)
    published()  # the completion's handlers run: the course is paid once
    assert _enrolment(learner, c).status == EnrolmentStatus.COMPLETED
    assert _course_awards(learner, c) == 1
    team_topic = f"classrooms.team.{manager.managed_teams.get().pk}.progress"
    before = len(published(c.course.progress_topic)), len(published(team_topic))

    extra = services.activity_create(
        user=trainer, module=c.modules[0], title="New rules", kind=ActivityKind.LESSON
    )
    e = _enrolment(learner, c)
    assert (e.progress, e.status, e.completed_at) == (75, EnrolmentStatus.ACTIVE, None)
    # One batched event per topic, carrying every learner whose progress moved.
    course_events = published(c.course.progress_topic)[before[0] :]
    assert [ev.type for ev in course_events] == ["progress.recomputed"]
    rows = {r["user"]["id"]: r for r in course_events[0].data["learners"]}
    assert course_events[0].data["course"] == c.course.pk
    assert rows[learner.pk]["progress"] == 75 and rows[learner.pk]["status"] == "active"
    assert learner2.pk not in rows  # at 0 % before and after: nothing to tell
    team_events = published(team_topic)[before[1] :]
    assert [ev.type for ev in team_events] == ["progress.recomputed"]
    assert [r["user"]["id"] for r in team_events[0].data["learners"]] == [learner.pk]
    own = [ev for ev in published(learner.topic) if ev.type == "classrooms.progress"]
    assert own[-1].data == {"course": c.course.pk, "progress": 75, "status": "active"}

    notified = Notification.objects.filter(data__kind="course_completed").count()
    services.activity_delete(user=trainer, activity=extra)
    e = _enrolment(learner, c)
    assert (e.progress, e.status) == (100, EnrolmentStatus.COMPLETED)
    assert e.completed_at is not None
    published()
    # Completed again: told again, but the points of the course are not paid twice.
    assert Notification.objects.filter(data__kind="course_completed").count() > notified
    assert _course_awards(learner, c) == 1


def test_making_the_last_missing_activity_optional_completes_the_course(
    learner, trainer, c, published
):
    completed = []
    from hub import events

    events.subscribe("classrooms.course_completed", lambda **kw: completed.append(kw))
    try:
        services.activity_view(user=learner, activity=c.lesson)
        services.activity_view(user=learner, activity=c.media)
        assert _enrolment(learner, c).progress == 66
        services.activity_update(user=trainer, activity=c.quiz, required=False)
        published()
    finally:
        events._handlers["classrooms.course_completed"].pop()
    e = _enrolment(learner, c)
    assert (e.progress, e.status) == (100, EnrolmentStatus.COMPLETED)
    assert completed == [{"user": learner, "course": c.course}]
    assert _course_awards(learner, c) == 1
    rows = published(c.course.progress_topic)[-1].data["learners"]
    assert rows == [{"user": {"id": learner.pk, "name": learner.name}, "progress": 100,
                     "status": "completed"}]  # fmt: skip


def test_making_an_optional_activity_required_reopens_the_course(learner, trainer, c, published):
    _finish(learner, c)
    services.activity_update(user=trainer, activity=c.optional, required=True)
    e = _enrolment(learner, c)
    assert (e.progress, e.status) == (75, EnrolmentStatus.ACTIVE)
    assert published(c.course.progress_topic)[-1].type == "progress.recomputed"


def test_a_change_that_moves_nobody_publishes_nothing(learner, trainer, c, published):
    before = len(published(c.course.progress_topic))
    services.activity_update(user=trainer, activity=c.optional, title="Still optional")
    services.activity_create(
        user=trainer, module=c.modules[0], title="Bonus", kind=ActivityKind.LESSON, required=False
    )
    assert len(published(c.course.progress_topic)) == before


# -- item 12: the quiz cell's score ----------------------------------------------------------
def test_each_scored_attempt_and_the_pass_carry_the_best_score(learner, manager, c, published):
    wrong = {str(c.questions[0].pk): [c.questions[0].choices.get(is_correct=False).pk]}
    attempt = services.attempt_start(user=learner, activity=c.quiz)
    services.attempt_submit(user=learner, attempt=attempt, answers=wrong)
    scored = [e for e in published(c.course.progress_topic) if e.type == "quiz.scored"]
    assert scored[-1].data["score"] == 0 and scored[-1].data["activity"] == c.quiz.pk
    assert scored[-1].data["user"]["id"] == learner.pk
    team_topic = f"classrooms.team.{manager.managed_teams.get().pk}.progress"
    assert [e.type for e in published(team_topic)][-1] == "quiz.scored"

    attempt = services.attempt_start(user=learner, activity=c.quiz)
    services.attempt_submit(user=learner, attempt=attempt, answers=right_answers(c))
    events_ = published(c.course.progress_topic)
    passed = [e for e in events_ if e.type == "progress.updated"][-1]
    assert passed.data["activity"] == c.quiz.pk and passed.data["score"] == 100
    assert [e for e in events_ if e.type == "quiz.scored"][-1].data["score"] == 100
    # A reconnecting grid gets the same score from the backlog.
    from classrooms.selectors import progress_after, progress_events

    backlog = progress_events(list(progress_after(course_id=c.course.pk, after_id=0, limit=50)))
    assert backlog[-1].data["score"] == 100


def test_enrolled_again_with_everything_done_is_completed_not_in_progress(
    learner, trainer, c, published
):
    _finish(learner, c)
    published()
    services.enrolment_delete(actor=trainer, enrolment=_enrolment(learner, c))
    services.enrolment_create(actor=trainer, user=learner, course=c.course)
    published()
    e = _enrolment(learner, c)
    assert (e.progress, e.status) == (100, EnrolmentStatus.COMPLETED)
    assert e.completed_at is not None
    assert _course_awards(learner, c) == 1
