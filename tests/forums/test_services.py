"""Forum services: posting, permissions, limits, moderation, events on the topics."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone
from notifications.models import Notification

from forums import services, trust
from forums.models import Flag, ModerationLog, Post, PostRevision, ThreadEvent
from forums.selectors import is_forum_moderator, post_payload
from tests.forums.conftest import age

pytestmark = pytest.mark.django_db


def test_thread_create_publishes_on_forum_and_thread_topics(forum, learner, published):
    age(learner)
    thread = services.thread_create(
        author=learner, forum=forum, title="  <b>Hi</b> ", body="**hello**", tags=["Intro", "x y"]
    )
    assert thread.title == "Hi"
    assert thread.tags == ["intro", "x-y"]
    assert thread.post_count == 1
    post = thread.posts.get()
    assert post.body_html == "<p><strong>hello</strong></p>"
    forum_events = published(forum.topic)
    assert [(e.type, e.id) for e in forum_events] == [("thread.created", thread.pk)]
    thread_events = published(thread.topic)
    assert [e.type for e in thread_events] == ["post.created"]
    assert thread_events[0].id == ThreadEvent.objects.get(thread=thread).pk


def test_reply_is_live_and_counts(thread, learner2, published):
    age(learner2)
    post = services.post_create(author=learner2, thread=thread, body="Welcome!")
    thread.refresh_from_db()
    assert thread.post_count == 2
    created = [e for e in published(thread.topic) if e.type == "post.created"]
    assert created[-1].data["id"] == post.pk
    assert created[-1].data["body_html"] == "<p>Welcome!</p>"
    activity = [e for e in published(thread.forum.topic) if e.type == "thread.activity"]
    assert activity[-1].id is None and activity[-1].data["post_count"] == 2


def test_outsider_cannot_post(thread, outsider):
    with pytest.raises(PermissionDenied):
        services.post_create(author=outsider, thread=thread, body="hi")


def test_locked_thread_refuses_replies_but_not_moderators(thread, learner2, trainer):
    services.thread_set_flags(moderator=trainer, thread=thread, locked=True)
    with pytest.raises(PermissionDenied):
        services.post_create(author=learner2, thread=thread, body="hi")
    age(trainer)
    services.post_create(author=trainer, thread=thread, body="Closing note")
    assert ModerationLog.objects.filter(action="thread.lock", actor=trainer).exists()


def test_only_moderators_lock_pin_hide(thread, learner2):
    with pytest.raises(PermissionDenied):
        services.thread_set_flags(moderator=learner2, thread=thread, pinned=True)
    with pytest.raises(PermissionDenied):
        services.post_hide(moderator=learner2, post=thread.posts.first())


def test_moderator_predicate(forum, trainer, coordinator, learner, outsider):
    assert is_forum_moderator(user=trainer, forum=forum)
    assert is_forum_moderator(user=coordinator, forum=forum)
    assert not is_forum_moderator(user=learner, forum=forum)
    forum.moderators.add(learner)
    assert is_forum_moderator(user=learner, forum=forum)
    assert not is_forum_moderator(user=outsider, forum=forum)


def test_hide_and_restore_publish_without_text(thread, trainer, published):
    post = thread.posts.first()
    services.post_hide(moderator=trainer, post=post, reason="spam")
    services.post_restore(moderator=trainer, post=post)
    events = [e for e in published(thread.topic) if e.type in ("post.hidden", "post.restored")]
    assert [e.type for e in events] == ["post.hidden", "post.restored"]
    assert events[0].data["is_hidden"] is True and events[0].data["body_html"] == ""
    assert events[1].data["body_html"] == "<p>First post</p>"
    actions = list(ModerationLog.objects.values_list("action", flat=True).order_by("id"))
    assert actions == ["post.hide", "post.restore"]


def test_flag_queue_and_resolution(thread, learner2, trainer):
    post = thread.posts.first()
    flag = services.post_flag(reporter=learner2, post=post, reason="spam", note="<b>ad</b>")
    assert flag.note == "ad"
    assert services.post_flag(reporter=learner2, post=post, reason="spam").pk == flag.pk
    services.flag_resolve(moderator=trainer, flag=flag, hide=True)
    flag.refresh_from_db()
    post.refresh_from_db()
    assert flag.status == Flag.Status.ACTED and post.is_hidden


def test_cannot_flag_own_post(thread, learner):
    with pytest.raises(ValidationError):
        services.post_flag(reporter=learner, post=thread.posts.first(), reason="spam")


def test_edit_keeps_history_inside_window(thread, learner, learner2, published):
    post = thread.posts.first()
    services.post_edit(editor=learner, post=post, body="First post, edited")
    post.refresh_from_db()
    assert post.edited_at is not None and post.body_html == "<p>First post, edited</p>"
    assert list(PostRevision.objects.filter(post=post).values_list("body", flat=True)) == [
        "First post"
    ]
    assert "post.updated" in [e.type for e in published(thread.topic)]
    with pytest.raises(PermissionDenied):
        services.post_edit(editor=learner2, post=post, body="not mine")


@override_settings(LYCEUM_FORUMS={"EDIT_WINDOW_MINUTES": 5})
def test_edit_window_is_configurable(thread, learner, trainer):
    post = thread.posts.first()
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(minutes=6))
    with pytest.raises(PermissionDenied):
        services.post_edit(editor=learner, post=post, body="too late")
    services.post_edit(editor=trainer, post=post, body="moderators may")


def test_soft_delete_keeps_a_tombstone(thread, learner, published):
    post = thread.posts.first()
    services.post_delete(actor=learner, post=post)
    post.refresh_from_db()
    assert post.is_deleted and Post.objects.filter(pk=post.pk).exists()
    payload = post_payload(post)
    assert payload["body"] == "" and payload["body_html"] == ""
    assert published(thread.topic)[-1].type == "post.deleted"


def test_reactions_count_once_per_person(thread, learner2, published):
    post = thread.posts.first()
    services.post_react(user=learner2, post=post, emoji="like")
    services.post_react(user=learner2, post=post, emoji="like")
    services.post_react(user=learner2, post=post, emoji="tada")
    post.refresh_from_db()
    assert post.reaction_counts == {"like": 1, "tada": 1}
    services.post_react(user=learner2, post=post, emoji="like", on=False)
    post.refresh_from_db()
    assert post.reaction_counts == {"tada": 1}
    changes = [e for e in published(thread.topic) if e.type == "reaction.changed"]
    assert len(changes) == 3 and changes[-1].data == {"id": post.pk, "reactions": {"tada": 1}}
    with pytest.raises(ValidationError):
        services.post_react(user=learner2, post=post, emoji="poop")


def test_accepted_answer(question, learner, learner2, trainer, published):
    age(learner2)
    answer = services.post_create(author=learner2, thread=question, body="Like this.")
    with pytest.raises(PermissionDenied):
        services.thread_accept_answer(user=learner2, thread=question, post=answer)
    services.thread_accept_answer(user=learner, thread=question, post=answer)
    question.refresh_from_db()
    assert question.accepted_post_id == answer.pk
    assert published(question.topic)[-1].type == "thread.updated"
    assert Notification.objects.filter(recipient=learner2, data__kind="forums.accepted").exists()


def test_discussion_has_no_accepted_answer(thread, learner):
    with pytest.raises(ValidationError):
        services.thread_accept_answer(user=learner, thread=thread, post=thread.posts.first())


def test_suspension_blocks_writing_for_a_period(thread, forum, trainer, learner2):
    age(learner2)
    services.suspension_create(moderator=trainer, forum=forum, user=learner2, days=1, reason="rude")
    with pytest.raises(PermissionDenied):
        services.post_create(author=learner2, thread=thread, body="hi")
    assert ModerationLog.objects.filter(action="user.suspend", target_user=learner2).exists()
    forum.suspensions.update(until=timezone.now() - timedelta(seconds=1))
    services.post_create(author=learner2, thread=thread, body="back")


def test_mentions_notify_space_members(thread, learner2, outsider, veteran):
    post = services.post_create(
        author=veteran, thread=thread, body="Hi @learner2 and @outsider, `@learner1` in code"
    )
    assert Notification.objects.filter(recipient=learner2, data__kind="forums.mention").exists()
    assert not Notification.objects.filter(recipient=outsider).exists()
    # learner1 follows the thread they opened: told of the reply (not of the code mention).
    kinds = list(
        Notification.objects.filter(recipient=thread.author).values_list("data__kind", flat=True)
    )
    assert kinds == ["forums.reply"]
    assert post.pk


def test_forum_followers_hear_of_new_threads(forum, learner, learner2):
    services.subscription_set(user=learner2, forum=forum, on=True)
    age(learner)
    services.thread_create(author=learner, forum=forum, title="News", body="text")
    assert Notification.objects.filter(recipient=learner2, data__kind="forums.thread").exists()


# -- limits --------------------------------------------------------------------------------------
def test_new_accounts_are_limited_in_links_images_mentions(thread, learner2):
    assert trust.level_of(user=learner2, space=thread.forum.space_id) == 0
    with pytest.raises(ValidationError, match="link"):
        services.post_create(
            author=learner2,
            thread=thread,
            body="https://a.com https://b.com https://c.com",
        )
    with pytest.raises(ValidationError, match="image"):
        services.post_create(
            author=learner2,
            thread=thread,
            body="![a](https://x.example/a.png) ![b](https://x.example/b.png)",
        )
    with pytest.raises(ValidationError, match="mention"):
        services.post_create(author=learner2, thread=thread, body="@a @b @c")
    services.post_create(author=learner2, thread=thread, body="one link https://a.example")


@override_settings(LYCEUM_FORUMS={"NEW_POSTS_PER_HOUR": 2, "POSTS_PER_MINUTE": 100})
def test_new_accounts_post_a_few_times_an_hour(thread, learner2):
    services.post_create(author=learner2, thread=thread, body="1")
    services.post_create(author=learner2, thread=thread, body="2")
    with pytest.raises(services.RateLimited):
        services.post_create(author=learner2, thread=thread, body="3")


@override_settings(LYCEUM_FORUMS={"POSTS_PER_MINUTE": 2})
def test_everyone_is_rate_limited(thread, veteran):
    services.post_create(author=veteran, thread=thread, body="1")
    services.post_create(author=veteran, thread=thread, body="2")
    with pytest.raises(services.RateLimited):
        services.post_create(author=veteran, thread=thread, body="3")


def test_empty_post_is_refused(thread, veteran):
    with pytest.raises(ValidationError):
        services.post_create(author=veteran, thread=thread, body="<div> </div>")


def test_attachments_limits(thread, veteran):
    from django.core.files.uploadedfile import SimpleUploadedFile

    svg = SimpleUploadedFile("x.svg", b"<svg onload=alert(1)>", content_type="image/svg+xml")
    with pytest.raises(ValidationError):
        services.post_create(author=veteran, thread=thread, body="see", files=[svg])
    fake_png = SimpleUploadedFile("x.png", b"<html>", content_type="image/png")
    with pytest.raises(ValidationError):
        services.post_create(author=veteran, thread=thread, body="see", files=[fake_png])
    txt = SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")
    post = services.post_create(author=veteran, thread=thread, body="see", files=[txt])
    (attachment,) = post_payload(post)["attachments"]
    assert attachment["name"] == "notes.txt" and not attachment["is_image"]
