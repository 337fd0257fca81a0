"""Topics of the forums.

``forums.thread.<id>``: new posts, edits, reactions, hides (durable: ``ThreadEvent`` ids,
replayed after a reconnect with the post's current state) and "X is replying" (ephemeral).
``forums.forum.<id>``: new threads (durable: the thread id) and latest activity (ephemeral).
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from forums.models import Forum, Post, Thread
from forums.selectors import (
    can_view_forum,
    can_view_thread,
    post_payload,
    thread_events_after,
    thread_payload,
    threads_after,
)
from forums.services import event_data, post_create, post_react, typing_signal
from hub import realtime
from hub.params import parse_id


class PostCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)
    reply_to = serializers.IntegerField(required=False, allow_null=True, default=None)


class ReactSerializer(serializers.Serializer):
    post = serializers.IntegerField()
    emoji = serializers.CharField(max_length=20)
    on = serializers.BooleanField(default=True)


def _thread(key: str) -> Thread:
    return Thread.objects.select_related("forum").get(pk=int(key))


@realtime.topic("forums.thread")
class ThreadTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        thread_id = parse_id(key)
        if thread_id is None:
            return False
        thread = Thread.objects.select_related("forum").filter(pk=thread_id).first()
        return thread is not None and can_view_thread(user=user, thread=thread)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        thread = _thread(key)
        return [
            realtime.Event(e.type, event_data(e.type, thread=thread, post=e.post), id=e.pk)
            for e in thread_events_after(thread_id=thread.pk, after_id=since, limit=limit)
        ]

    @realtime.action("post", serializer=PostCreateSerializer)
    def post(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        thread = _thread(key)
        reply_to = (
            Post.objects.filter(pk=data["reply_to"], thread=thread).first()
            if data.get("reply_to")
            else None
        )
        return post_payload(
            post_create(author=user, thread=thread, body=data["body"], reply_to=reply_to)
        )

    @realtime.action("react", serializer=ReactSerializer)
    def react(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        post = Post.objects.get(pk=data["post"], thread_id=int(key))
        post = post_react(user=user, post=post, emoji=data["emoji"], on=data["on"])
        return {"id": post.pk, "reactions": post_payload(post)["reactions"]}

    @realtime.action("typing")
    def typing(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        typing_signal(user=user, thread=_thread(key))
        return {}


@realtime.topic("forums.forum")
class ForumTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        forum_id = parse_id(key)
        if forum_id is None:
            return False
        forum = Forum.objects.filter(pk=forum_id).first()
        return forum is not None and can_view_forum(user=user, forum=forum)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return [
            realtime.Event("thread.created", thread_payload(t), id=t.pk)
            for t in threads_after(forum_id=int(key), after_id=since, limit=limit)
        ]
