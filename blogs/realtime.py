"""Topics of the blogs.

``blogs.space.<id>``: the space's blog feed: ``post.published`` (durable: ``FeedEvent``
ids, replayed after a reconnect), ``post.withdrawn`` (ephemeral). For the space's members.
``blogs.post.<id>``: a published post's comments (durable: the comment ids),
``comment.deleted``, ``reaction.changed`` and ``post.updated`` (ephemeral). Actions:
``comment``, ``react``. For whoever may read the post.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from blogs.models import BlogPost
from blogs.selectors import (
    can_read_post,
    comment_payload,
    comments_after,
    feed_events_after,
    feed_item_payload,
)
from blogs.services import comment_create, post_react
from forums.models import Emoji
from hub import realtime
from hub.accounts.selectors import is_space_member
from hub.params import parse_id


class CommentSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class ReactSerializer(serializers.Serializer):
    emoji = serializers.ChoiceField(choices=Emoji.choices)
    on = serializers.BooleanField(default=True)


def _post(key: str) -> BlogPost:
    return BlogPost.objects.select_related("blog__team", "author").get(pk=int(key))


@realtime.topic("blogs.space")
class SpaceFeedTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        space_id = parse_id(key)
        return space_id is not None and is_space_member(user=user, space=space_id)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return [
            realtime.Event(e.type, feed_item_payload(e.post), id=e.pk)
            for e in feed_events_after(space_id=int(key), after_id=since, limit=limit)
        ]


@realtime.topic("blogs.post")
class PostTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        post_id = parse_id(key)
        if post_id is None:
            return False
        post = BlogPost.objects.select_related("blog__team").filter(pk=post_id).first()
        return post is not None and post.is_published and can_read_post(user=user, post=post)

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return [
            realtime.Event("comment.created", comment_payload(c), id=c.pk)
            for c in comments_after(post_id=int(key), after_id=since, limit=limit)
        ]

    @realtime.action("comment", serializer=CommentSerializer)
    def comment(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        return comment_payload(comment_create(author=user, post=_post(key), body=data["body"]))

    @realtime.action("react", serializer=ReactSerializer)
    def react(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        post = post_react(user=user, post=_post(key), emoji=data["emoji"], on=data["on"])
        return {"id": post.pk, "reactions": post.reaction_counts}
