"""Courses, enrolment rules, completion and progress, through the services."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from notifications.models import Notification

from classrooms import selectors, services
from classrooms.models import Completion, Enrolment, EnrolmentSource, EnrolmentStatus
from hub import events
from hub.accounts.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_author_becomes_trainer_and_text_is_sanitised(trainer, space):
    course = services.course_create(
        author=trainer,
        space=space,
        title="<b>T</b>",
        # CommonMark: an HTML block (here <script>) runs to the end of its line.
        summary="<script>x()</script>\n**b**",
    )
    assert list(course.trainers.all()) == [trainer]
    assert course.title == "T"
    assert "<script" not in course.summary_html and "<strong>b</strong>" in course.summary_html


def test_learner_cannot_create_or_edit(learner, c):
    with pytest.raises(PermissionDenied):
        services.course_create(author=learner, space=c.course.space, title="Mine")
    with pytest.raises(PermissionDenied):
        services.course_update(user=learner, course=c.course, title="Hacked")
    with pytest.raises(PermissionDenied):
        services.module_create(user=learner, course=c.course, title="x")
    c.course.refresh_from_db()
    assert c.course.title == "Safety first"


def test_other_trainer_cannot_edit_someone_elses_course(space, c):
    other = UserFactory(roles=[Role.TRAINER], spaces=[space])
    with pytest.raises(PermissionDenied):
        services.activity_update(user=other, activity=c.lesson, title="Mine now")
    c.lesson.refresh_from_db()
    assert c.lesson.title == "Welcome"


def test_reorder_modules_and_activities(trainer, c):
    m1, m2 = c.modules
    services.modules_reorder(user=trainer, course=c.course, ids=[m2.pk, m1.pk])
    assert [m.pk for m in c.course.modules.all()] == [m2.pk, m1.pk]
    services.activities_reorder(
        user=trainer, module=m1, ids=[c.media.pk, c.optional.pk, c.lesson.pk]
    )
    assert [a.pk for a in m1.activities.all()] == [c.media.pk, c.optional.pk, c.lesson.pk]
    with pytest.raises(ValidationError):
        services.modules_reorder(user=trainer, course=c.course, ids=[m1.pk])


def test_self_enrolment_only_where_allowed(learner, trainer, space):
    course = services.course_create(author=trainer, space=space, title="Closed", published=True)
    with pytest.raises(PermissionDenied):
        services.enrolment_create(actor=learner, user=learner, course=course)
    services.course_update(user=trainer, course=course, self_enrolment=True)
    e = services.enrolment_create(actor=learner, user=learner, course=course)
    assert e.source == EnrolmentSource.SELF and e.enrolled_by == learner


def test_manager_enrols_reports_only(manager, learner, trainer, space, outsider):
    course = services.course_create(author=trainer, space=space, title="Sales", published=True)
    e = services.enrolment_create(actor=manager, user=learner, course=course)
    assert e.source == EnrolmentSource.MANAGER
    stranger = UserFactory(roles=[Role.LEARNER], spaces=[space])
    with pytest.raises(PermissionDenied):
        services.enrolment_create(actor=manager, user=stranger, course=course)
    with pytest.raises(ValidationError):  # the trainer may enrol anyone — of the space
        services.enrolment_create(actor=trainer, user=outsider, course=course)
    assert not Enrolment.objects.filter(user__in=[stranger, outsider]).exists()


def test_enrol_emits_event_once(trainer, learner, space, published):
    seen = []
    events.subscribe("classrooms.enrolled", lambda **kw: seen.append(kw))
    try:
        course = services.course_create(author=trainer, space=space, title="X")
        services.enrolment_create(actor=trainer, user=learner, course=course)
        services.enrolment_create(actor=trainer, user=learner, course=course)
        published()
    finally:
        events._handlers["classrooms.enrolled"].pop()
    assert seen == [{"user": learner, "course": course}]


def test_progress_counts_required_activities(learner, c, published):
    services.activity_view(user=learner, activity=c.lesson)
    e = Enrolment.objects.get(user=learner, course=c.course)
    assert e.progress == 33  # 1 of 3 required
    services.activity_view(user=learner, activity=c.optional)
    e.refresh_from_db()
    assert e.progress == 33
    services.activity_view(user=learner, activity=c.lesson)  # again: nothing changes
    assert Completion.objects.filter(user=learner).count() == 2
    events_ = published(c.course.progress_topic)
    assert [ev.type for ev in events_] == ["progress.updated", "progress.updated"]
    assert events_[0].id == Completion.objects.get(user=learner, activity=c.lesson).pk
    assert events_[0].data["progress"] == 33
    own = published(learner.topic)
    assert own[0].type == "classrooms.progress" and own[0].id is None


def test_quiz_view_does_not_complete_it(learner, c):
    assert services.activity_view(user=learner, activity=c.quiz) is None


def test_not_enrolled_completes_nothing(outsider, c):
    assert services.activity_complete(user=outsider, activity=c.lesson, source="x") is None
    assert not Completion.objects.exists()


def test_course_completion_notifies_learner_and_manager(learner, manager, c, published):
    from tests.classrooms.conftest import right_answers

    completed = []
    events.subscribe("classrooms.course_completed", lambda **kw: completed.append(kw))
    try:
        services.activity_view(user=learner, activity=c.lesson)
        services.activity_complete(user=learner, activity=c.media, source="viewed")
        attempt = services.attempt_start(user=learner, activity=c.quiz)
        services.attempt_submit(user=learner, attempt=attempt, answers=right_answers(c))
        published()
    finally:
        events._handlers["classrooms.course_completed"].pop()
    e = Enrolment.objects.get(user=learner, course=c.course)
    assert (e.progress, e.status) == (100, EnrolmentStatus.COMPLETED)
    assert e.completed_at is not None
    assert completed == [{"user": learner, "course": c.course}]
    recipients = set(
        Notification.objects.filter(data__kind="course_completed").values_list(
            "recipient_id", flat=True
        )
    )
    assert recipients == {learner.pk, manager.pk}


def test_session_attendance_hook(learner, trainer, c):
    """The service other apps (sessions, live class) call."""
    from classrooms.models import ActivityKind

    session = services.activity_create(
        user=trainer,
        module=c.modules[1],
        title="Workshop",
        kind=ActivityKind.SESSION,
        link_kind="training_sessions.session",
        link_id=7,
    )
    e = Enrolment.objects.get(user=learner, course=c.course)
    assert e.progress == 0
    completion = services.activity_complete(
        user=learner, activity=session, source="session_attendance"
    )
    assert completion.source == "session_attendance"
    e.refresh_from_db()
    assert e.progress == 25


def test_adding_required_activity_recomputes(learner, trainer, c):
    from classrooms.models import ActivityKind

    services.activity_view(user=learner, activity=c.lesson)
    services.activity_create(
        user=trainer, module=c.modules[0], title="New", kind=ActivityKind.LESSON
    )
    assert Enrolment.objects.get(user=learner, course=c.course).progress == 25


def test_progress_recompute_is_constant_queries(learner, c, django_assert_max_num_queries):
    """One completion costs a fixed number of queries, whatever the course's size."""
    with django_assert_max_num_queries(14):
        services.activity_view(user=learner, activity=c.lesson)


def test_visibility(learner, learner2, outsider, manager, trainer, space, c):
    hidden = services.course_create(author=trainer, space=space, title="Draft")
    assert set(selectors.courses_visible_to(user=learner)) == {c.course}
    assert not selectors.courses_visible_to(user=outsider).exists()
    assert c.course in selectors.courses_visible_to(user=manager)
    assert hidden in selectors.courses_visible_to(user=trainer)
    assert selectors.can_see_progress_of(viewer=manager, learner=learner, course=c.course)
    assert not selectors.can_see_progress_of(viewer=learner2, learner=learner, course=c.course)
    assert not selectors.can_watch_progress(user=learner, course=c.course)
