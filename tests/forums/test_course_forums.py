"""A course's forum belongs to the course: its learners and trainers, and staff."""

from __future__ import annotations

import pytest

from classrooms import services as course_services
from forums.models import Forum
from forums.selectors import can_view_forum, forums_for, is_forum_moderator
from hub.accounts.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course_forum(trainer, learner, space):
    course = course_services.course_create(
        author=trainer, space=space, title="Course", published=True
    )
    course_services.enrolment_create(actor=trainer, user=learner, course=course)
    return Forum.objects.create(
        space=space, title="Course talk", kind=Forum.Kind.COURSE, course_id=course.pk
    )


def test_only_the_course_people_and_staff_see_it(
    course_forum, forum, trainer, learner, learner2, coordinator, space
):
    other_trainer = UserFactory(roles=[Role.TRAINER], spaces=[space])
    for user, sees in [
        (learner, True),
        (trainer, True),
        (coordinator, True),
        (learner2, False),  # same space, not enrolled
        (other_trainer, False),
    ]:
        assert can_view_forum(user=user, forum=course_forum) is sees, user
        assert (course_forum in forums_for(user=user)) is sees, user
        assert forum in forums_for(user=user)  # the community forum stays open to all


def test_the_course_trainers_moderate_it(course_forum, forum, trainer, space):
    other_trainer = UserFactory(roles=[Role.TRAINER], spaces=[space])
    assert is_forum_moderator(user=trainer, forum=course_forum)
    assert not is_forum_moderator(user=other_trainer, forum=course_forum)
    assert is_forum_moderator(user=other_trainer, forum=forum)


def test_a_session_forum_is_for_its_attendees_and_trainers(
    space, coordinator, trainer, learner, learner2
):
    from datetime import timedelta

    from django.utils import timezone

    from sessions import services as session_services

    start = timezone.now() + timedelta(days=3)
    session = session_services.session_create(
        actor=coordinator, space=space, kind="face_to_face", title="Workshop",
        starts_at=start, ends_at=start + timedelta(hours=2), capacity=10, trainers=[trainer],
    )  # fmt: skip
    session_services.registration_register(actor=learner, session=session)
    forum = Forum.objects.create(
        space=space, title="Workshop talk", kind=Forum.Kind.SESSION, session_id=session.pk
    )
    for user, sees in [(learner, True), (trainer, True), (coordinator, True), (learner2, False)]:
        assert can_view_forum(user=user, forum=forum) is sees, user
        assert (forum in forums_for(user=user)) is sees, user
