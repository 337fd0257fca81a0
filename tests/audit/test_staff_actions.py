"""Staff actions other apps record through hub.audit.record: moderation, enrolments made for
someone else, role changes."""

from __future__ import annotations

import pytest

from classrooms import services as classrooms_services
from forums import services as forum_services
from forums.models import Forum
from hub.accounts.models import Role
from hub.accounts.services import roles_set
from hub.audit.models import Entry

pytestmark = pytest.mark.django_db


def test_moderation_is_recorded(space, learner, coordinator):
    forum = Forum.objects.create(space=space, title="Community", kind=Forum.Kind.COMMUNITY)
    thread = forum_services.thread_create(author=coordinator, forum=forum, title="Hi", body="Hello")
    post = thread.posts.first()
    forum_services.post_hide(moderator=coordinator, post=post, reason="spam")
    entry = Entry.objects.get(action="forums.post.hide")
    assert entry.actor == coordinator and entry.target_type == "forums.post"
    assert entry.space == space and entry.details["reason"] == "spam"


def test_enrolment_for_someone_else_is_recorded(space, trainer, learner):
    course = classrooms_services.course_create(
        author=trainer, space=space, title="Safety", summary="", published=True
    )
    classrooms_services.enrolment_create(actor=trainer, user=learner, course=course)
    entry = Entry.objects.get(action="classrooms.enrolled_for")
    assert entry.actor == trainer and entry.target_id == str(learner.pk)
    assert entry.details == {"course": course.pk}


def test_role_changes_are_recorded(learner, coordinator):
    roles_set(user=learner, roles=[Role.LEARNER, Role.TRAINER], actor=coordinator)
    entry = Entry.objects.get(action="accounts.roles_changed")
    assert entry.details == {"before": ["learner"], "after": ["learner", "trainer"]}
    roles_set(user=learner, roles=[Role.LEARNER, Role.TRAINER])  # no change, no row
    assert Entry.objects.filter(action="accounts.roles_changed").count() == 1
