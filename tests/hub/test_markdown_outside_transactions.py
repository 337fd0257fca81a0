"""Markdown is rendered before a service opens its transaction, never inside it (issue 13).

A forum reply of 6,000 "[" rendered inside ``post_create``'s transaction: on PostgreSQL it
held the thread's row lock and topic order for seconds; on SQLite (transactions begin
IMMEDIATE) it held the database's write lock, so another person's chat message failed with
"database is locked". Every service that renders user markdown is checked here: the renderer
records whether it runs inside a transaction. These tests run outside the test transaction
(``transaction=True``), so "inside" can only mean the service's own.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from classrooms import services as classrooms
from classrooms.models import ActivityKind
from forums import services as forums
from forums.models import Forum
from hub import sanitize
from hub.announcements.services import announcement_post
from messaging import services as messaging
from sessions import services as sessions
from tests.forums.conftest import age

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def renders(monkeypatch) -> list[bool]:
    """Whether each markdown rendering ran inside a transaction (cleared before the act)."""
    inside: list[bool] = []
    real = sanitize.markdown

    def spy(text, **kwargs):
        inside.append(connection.in_atomic_block)
        return real(text, **kwargs)

    monkeypatch.setattr(sanitize, "markdown", spy)
    return inside


def assert_rendered_outside(renders: list[bool]) -> None:
    assert renders, "no markdown was rendered"
    assert not any(renders), "markdown was rendered inside a transaction"


@pytest.fixture
def thread(space, learner, settings):
    settings.LYCEUM_FORUMS = {"POSTS_PER_MINUTE": 1_000, "THREADS_PER_HOUR": 1_000}
    age(learner)
    forum = Forum.objects.create(space=space, title="Community")
    return forums.thread_create(author=learner, forum=forum, title="Hello", body="First")


@pytest.fixture
def course(trainer, space, learner):
    course = classrooms.course_create(author=trainer, space=space, title="C", published=True)
    classrooms.enrolment_create(actor=trainer, user=learner, course=course)
    return course


# -- forums: the case first ------------------------------------------------------------
def test_a_forum_reply_renders_before_the_thread_is_locked(thread, learner, renders):
    renders.clear()
    post = forums.post_create(author=learner, thread=thread, body="[" * 500 + " **reply**")
    assert "<strong>reply</strong>" in post.body_html
    assert_rendered_outside(renders)


def test_a_new_thread_renders_outside_the_transaction(thread, learner, renders):
    renders.clear()
    forums.thread_create(author=learner, forum=thread.forum, title="Two", body="*x*")
    assert_rendered_outside(renders)


def test_a_post_edit_renders_outside_the_transaction(thread, learner, renders):
    post = thread.posts.get()
    renders.clear()
    forums.post_edit(editor=learner, post=post, body="edited *now*")
    assert_rendered_outside(renders)


def test_library_items_and_comments_render_outside_the_transaction(
    space, learner, trainer, course, renders
):
    age(learner)
    renders.clear()
    item = forums.library_item_submit(
        author=learner, space=space, kind="article", title="Tips", body="**tip**"
    )
    assert_rendered_outside(renders)
    item = forums.library_item_review(reviewer=trainer, item=item, approve=True)
    renders.clear()
    forums.item_comment_create(author=learner, item=item, body="*thanks*")
    assert_rendered_outside(renders)
    module = classrooms.module_create(user=trainer, course=course, title="M")
    renders.clear()
    forums.library_item_add_to_course(user=trainer, item=item, module=module)
    assert_rendered_outside(renders)


# -- messaging -----------------------------------------------------------------------------------
def test_chat_messages_render_outside_the_transaction(learner, learner2, renders):
    direct = messaging.conversation_direct_open(user=learner, other=learner2)
    renders.clear()
    message = messaging.message_send(sender=learner, conversation=direct, body="**hi**")
    assert_rendered_outside(renders)
    renders.clear()
    messaging.message_edit(editor=learner, message=message, body="*hello*")
    assert_rendered_outside(renders)


# -- classrooms ----------------------------------------------------------------------------------
def test_course_texts_render_outside_the_transaction(trainer, space, learner, renders):
    renders.clear()
    course = classrooms.course_create(author=trainer, space=space, title="C", summary="**s**")
    assert_rendered_outside(renders)
    renders.clear()
    classrooms.course_update(user=trainer, course=course, summary="*t*")
    assert_rendered_outside(renders)
    module = classrooms.module_create(user=trainer, course=course, title="M")
    renders.clear()
    activity = classrooms.activity_create(
        user=trainer, module=module, title="A", kind=ActivityKind.ASSIGNMENT, body="**do**"
    )
    assert_rendered_outside(renders)
    renders.clear()
    classrooms.activity_update(user=trainer, activity=activity, body="*do it*")
    assert_rendered_outside(renders)
    classrooms.enrolment_create(actor=trainer, user=learner, course=course)
    renders.clear()
    classrooms.submission_create(user=learner, activity=activity, text="**done**")
    assert_rendered_outside(renders)


# -- sessions and announcements ------------------------------------------------------------------
def test_session_descriptions_render_outside_the_transaction(coordinator, space, renders):
    start = timezone.now() + timedelta(days=7)
    renders.clear()
    session = sessions.session_create(
        actor=coordinator,
        space=space,
        kind="face_to_face",
        title="First aid",
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        capacity=2,
        description="**bring** water",
    )
    assert_rendered_outside(renders)
    renders.clear()
    sessions.session_update(actor=coordinator, session=session, description="*bring* food")
    assert_rendered_outside(renders)


def test_announcements_render_outside_the_transaction(trainer, space, renders):
    renders.clear()
    announcement_post(author=trainer, space=space, title="News", body="**big**")
    assert_rendered_outside(renders)
