"""Topics of chat.

``messaging.conversation.<id>``: messages of a conversation (durable events, id = the
conversation's event sequence), its threads' replies among them (``in_thread``), typing,
read receipts, presence; its actions send (``thread`` to reply in one), edit, delete,
react, read, thread_read, thread_follow, typing and status. Threads share the
conversation's topic, so they resume with its ``since`` and end with its membership.
``messaging.conversation.<id>.unread``: a light feed (which message arrived) for the
navigation's unread badge; subscribing to it does not count as looking at the conversation.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404

from hub import realtime
from hub.params import parse_id
from hub.realtime import apublish
from messaging import selectors, services
from messaging.api import (
    MessageEditSerializer,
    MessageRefSerializer,
    MessageSendSerializer,
    ReactSerializer,
    ReadSerializer,
    StatusSerializer,
    ThreadFollowActionSerializer,
    ThreadReadActionSerializer,
    TypingSerializer,
)
from messaging.models import Conversation, Message


def _conversation(key: str) -> Conversation:
    return get_object_or_404(Conversation, pk=int(key))


def _message(key: str, message_id: int) -> Message:
    return get_object_or_404(Message, conversation_id=int(key), pk=message_id)


@realtime.topic("messaging.conversation")
class ConversationTopic(realtime.Topic):
    presence = True

    def authorize(self, user: Any, key: str) -> bool:
        conversation_id = parse_id(key)
        return conversation_id is not None and selectors.can_read(
            user=user, conversation=conversation_id
        )

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[realtime.Event]:
        return [
            realtime.Event(event.type, selectors.message_payload(message), id=event.id)
            for event, message in selectors.events_after(
                conversation_id=int(key), after_id=since, limit=limit
            )
        ]

    @realtime.action("send", serializer=MessageSendSerializer)
    def send(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        # By id: the service reads the conversation with the sender's membership, one query.
        message = services.message_send(sender=user, conversation=int(key), **data)
        # A new message carries the payload its event was built from (a retry does not).
        return getattr(message, "created_payload", None) or selectors.message_payload(message)

    @realtime.action("edit", serializer=MessageEditSerializer)
    def edit(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        message = services.message_edit(
            editor=user, message=_message(key, data["message"]), body=data["body"]
        )
        return selectors.message_payload(message)

    @realtime.action("delete", serializer=MessageRefSerializer)
    def delete(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        message = services.message_delete(actor=user, message=_message(key, data["message"]))
        return selectors.message_payload(message)

    @realtime.action("react", serializer=ReactSerializer)
    def react(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        message = services.message_react(
            user=user, message=_message(key, data["message"]), emoji=data["emoji"], add=data["add"]
        )
        return selectors.message_payload(message)

    @realtime.action("read", serializer=ReadSerializer)
    def read(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        marker = services.conversation_mark_read(
            user=user, conversation=_conversation(key), last_read_id=data["last_read_id"]
        )
        return {"last_read_id": marker}

    @realtime.action("thread_read", serializer=ThreadReadActionSerializer)
    def thread_read(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        marker = services.thread_mark_read(
            user=user, root=_message(key, data["thread"]), last_read_id=data["last_read_id"]
        )
        return {"last_read_id": marker}

    @realtime.action("thread_follow", serializer=ThreadFollowActionSerializer)
    def thread_follow(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        follow = services.thread_follow_set(
            user=user, root=_message(key, data["thread"]), state=data["state"]
        )
        return {"root": follow.root_id, "state": follow.state}

    @realtime.action("typing", serializer=TypingSerializer)
    async def typing(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        # Ephemeral: no id, not stored. Clients drop a "start" not renewed within ~15 s.
        await apublish(
            f"messaging.conversation.{key}",
            "typing",
            {"user": user.pk, "name": user.name, "state": data["state"]},
        )
        return {}

    @realtime.action("status", serializer=StatusSerializer)
    async def status(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        await apublish(
            f"messaging.conversation.{key}",
            "presence.status",
            {"id": user.pk, "status": data["status"]},
        )
        return {}


@realtime.topic("messaging.conversation.unread")
class ConversationUnreadTopic(realtime.Topic):
    def authorize(self, user: Any, key: str) -> bool:
        conversation_id = parse_id(key)
        return conversation_id is not None and selectors.can_read(
            user=user, conversation=conversation_id
        )
