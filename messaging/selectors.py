"""Reads and permission predicates of chat, and the payloads REST, WebSocket and pages share."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from messaging.models import (
    Attachment,
    Block,
    ChatSettings,
    Conversation,
    ConversationEvent,
    Membership,
    Message,
    ThreadFollow,
)

# Read receipts are shown in direct conversations and groups up to this size (Zulip-like:
# in big channels a receipt is noise and its fan-out costs every member).
RECEIPTS_MAX_MEMBERS = 20
READABLE_STATES = (Membership.State.ACTIVE, Membership.State.SUSPENDED)


def limits() -> dict[str, Any]:
    """Chat limits; ``settings.LYCEUM_MESSAGING`` may override any of them."""
    base = {
        "MAX_LENGTH": 10_000,
        "EDIT_WINDOW_SECONDS": 600,
        "RATE_COUNT": 30,  # messages per sender ...
        "RATE_SECONDS": 10,  # ... per this many seconds
        "MAX_ATTACHMENTS": 5,
        "MAX_ATTACHMENT_BYTES": 10 * 1024 * 1024,
        "ATTACHMENT_TYPES": (
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "application/pdf",
            "text/plain",
        ),
        "PAGE_SIZE": 50,
        # New-message notices wait this long, so a busy conversation costs one job per
        # period (and nobody is told of a message they read a moment later).
        "NOTIFY_DELAY_SECONDS": 1.0,
    }
    base.update(getattr(settings, "LYCEUM_MESSAGING", {}))
    # Benchmarks (bench/chat.py) lift the per-person message rate from the environment.
    if os.environ.get("LYCEUM_CHAT_RATE_COUNT"):
        base["RATE_COUNT"] = int(os.environ["LYCEUM_CHAT_RATE_COUNT"])
    return base


# -- predicates ----------------------------------------------------------------------------
def membership_of(*, user: Any, conversation: Conversation | int) -> Membership | None:
    conversation_id = conversation if isinstance(conversation, int) else conversation.pk
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(conversation_id=conversation_id, user_id=user.pk).first()


def live_class_chat(*, key: str) -> Conversation | None:
    """The chat of a live class by the key the live-class feature chose."""
    return Conversation.objects.filter(
        kind=Conversation.Kind.LIVE_CLASS, live_class_key=key
    ).first()


def can_read(*, user: Any, conversation: Conversation | int) -> bool:
    membership = membership_of(user=user, conversation=conversation)
    return membership is not None and membership.state in READABLE_STATES


def attachment_file_name(user: Any, name: str) -> str | None:
    """The display name of the chat attachment stored as ``name`` if ``user`` may read it
    (hub/files.py): once sent, whoever reads its conversation, while the message is not
    deleted; before it is sent, its uploader only. A member removed stops reading it."""
    attachment = Attachment.objects.filter(file=name).select_related("message").first()
    if attachment is None:
        return None
    if attachment.message_id is None:
        return attachment.name if attachment.uploader_id == user.pk else None
    if attachment.message.deleted_at is not None:
        return None
    return attachment.name if can_read(user=user, conversation=attachment.conversation_id) else None


def is_blocked_between(*, user_ids: tuple[int, int]) -> bool:
    a, b = user_ids
    return Block.objects.filter(
        Q(blocker_id=a, blocked_id=b) | Q(blocker_id=b, blocked_id=a)
    ).exists()


def direct_partner_id(*, conversation: Conversation, user_id: int) -> int | None:
    if conversation.kind != Conversation.Kind.DIRECT or not conversation.direct_key:
        return None
    a, b = (int(x) for x in conversation.direct_key.split(":"))
    return b if a == user_id else a


def shows_read_receipts(*, conversation: Conversation) -> bool:
    if conversation.kind == Conversation.Kind.DIRECT:
        return True
    if conversation.kind != Conversation.Kind.GROUP:
        return False
    return active_member_count(conversation=conversation) <= RECEIPTS_MAX_MEMBERS


def shares_read_receipts(*, user: Any) -> bool:
    row = ChatSettings.objects.filter(user_id=user.pk).values_list("read_receipts", flat=True)
    return next(iter(row), True)


def is_moderator(*, user: Any, conversation: Conversation) -> bool:
    from hub.accounts.models import Role

    if user.has_role(Role.ADMIN):
        return True
    membership = membership_of(user=user, conversation=conversation)
    return membership is not None and membership.role == Membership.Role.ADMIN


# -- reads ---------------------------------------------------------------------------------
def active_member_count(*, conversation: Conversation) -> int:
    return conversation.memberships.filter(state__in=READABLE_STATES).count()


def member_ids(*, conversation: Conversation, states=READABLE_STATES) -> list[int]:
    return list(conversation.memberships.filter(state__in=states).values_list("user_id", flat=True))


def conversations_for(*, user: Any) -> QuerySet[Membership]:
    """The user's memberships (readable), with ``unread`` counted, most recent first."""
    return (
        Membership.objects.filter(user_id=user.pk, state__in=READABLE_STATES)
        .select_related("conversation")
        .annotate(
            unread=Count(
                "conversation__messages",
                filter=Q(conversation__messages__id__gt=F("last_read_id"))
                & ~Q(conversation__messages__sender_id=user.pk)
                & Q(conversation__messages__deleted_at__isnull=True)
                # Thread replies count in their thread, for its followers.
                & Q(conversation__messages__thread_root__isnull=True),
            )
        )
        .order_by(F("conversation__last_message_at").desc(nulls_last=True), "-conversation_id")
    )


def unread_total(*, user: Any) -> int:
    return sum(m.unread for m in conversations_for(user=user))


def unread_counts(*, user: Any) -> dict[int, int]:
    return {m.conversation_id: m.unread for m in conversations_for(user=user)}


def _messages() -> QuerySet[Message]:
    return Message.objects.select_related(
        "sender", "reply_to", "reply_to__sender", "thread_root"
    ).prefetch_related("reactions", "attachments")


def messages_page(
    *,
    conversation: Conversation,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> list[Message]:
    """Up to ``limit`` messages, oldest first: the latest, or those before/after an id.
    Thread replies are not in the conversation's pages (they are in their thread's)."""
    qs = _messages().filter(conversation=conversation, thread_root__isnull=True)
    if after is not None:
        return list(qs.filter(id__gt=after).order_by("id")[:limit])
    if before is not None:
        qs = qs.filter(id__lt=before)
    return list(reversed(qs.order_by("-id")[:limit]))


def first_unread_id(*, membership: Membership) -> int | None:
    return (
        Message.objects.filter(
            conversation_id=membership.conversation_id,
            id__gt=membership.last_read_id,
            thread_root__isnull=True,
        )
        .exclude(sender_id=membership.user_id)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )


def events_after(
    *, conversation_id: int, after_id: int, limit: int
) -> list[tuple[ConversationEvent, Message]]:
    """Durable events with id > ``after_id`` and the current state of their message."""
    events = list(
        ConversationEvent.objects.filter(conversation_id=conversation_id, id__gt=after_id).order_by(
            "id"
        )[:limit]
    )
    messages = {m.id: m for m in _messages().filter(id__in={e.message_id for e in events})}
    return [(e, messages[e.message_id]) for e in events if e.message_id in messages]


def get_message(*, conversation: Conversation, message_id: int) -> Message:
    return _messages().get(conversation=conversation, id=message_id)


def read_states(*, conversation: Conversation) -> dict[int, int]:
    """Last read id of each member who shares read receipts (where receipts are shown)."""
    if not shows_read_receipts(conversation=conversation):
        return {}
    rows = conversation.memberships.filter(state__in=READABLE_STATES).values_list(
        "user_id", "last_read_id"
    )
    hidden = set(
        ChatSettings.objects.filter(
            user_id__in=[uid for uid, _ in rows], read_receipts=False
        ).values_list("user_id", flat=True)
    )
    return {uid: last for uid, last in rows if uid not in hidden}


# -- payloads ------------------------------------------------------------------------------
def message_payload(message: Message) -> dict[str, Any]:
    deleted = message.deleted_at is not None
    reactions: dict[str, list[int]] = {}
    if not deleted:
        for reaction in message.reactions.all():
            reactions.setdefault(reaction.emoji, []).append(reaction.user_id)
    reply = None
    if message.reply_to_id is not None and message.reply_to is not None:
        parent = message.reply_to
        reply = {
            "id": parent.id,
            "sender": parent.sender.name,
            "deleted": parent.deleted_at is not None,
            "excerpt": "" if parent.deleted_at else _excerpt(parent.body),
        }
    return {
        "id": message.id,
        "conversation": message.conversation_id,
        # A reply in a thread (shown in its root's thread), and the thread's summary: on a
        # root with replies its own, on a reply its root's; null otherwise.
        "in_thread": message.thread_root_id is not None,
        "thread": thread_summary(message),
        "sender": {"id": message.sender_id, "name": message.sender.name},
        "client_id": str(message.client_id) if message.client_id else None,
        "body": "" if deleted else message.body,
        "body_html": "" if deleted else message.body_html,
        "reply_to": reply,
        "mentions": [] if deleted else message.mention_ids,
        "reactions": [
            {"emoji": emoji, "users": sorted(users)} for emoji, users in sorted(reactions.items())
        ],
        "attachments": []
        if deleted
        else [
            {
                "id": a.id,
                "name": a.name,
                "size": a.size,
                "content_type": a.content_type,
                "url": a.file.url,
            }
            for a in message.attachments.all()
        ],
        "created_at": message.created_at,
        "edited_at": message.edited_at,
        "deleted": deleted,
    }


def thread_summary(message: Message) -> dict[str, Any] | None:
    root = message.thread_root if message.thread_root_id is not None else message
    if not root.reply_count:
        return None
    return {"root": root.id, "reply_count": root.reply_count, "last_reply_at": root.last_reply_at}


# -- threads -------------------------------------------------------------------------------
def thread_root_of(message: Message) -> Message:
    """The root of the thread ``message`` is in (itself when it is in none)."""
    if message.thread_root_id is None:
        return message
    return Message.objects.select_related("conversation").get(pk=message.thread_root_id)


def thread_replies(
    *, root: Message, before: int | None = None, after: int | None = None, limit: int = 50
) -> list[Message]:
    """Up to ``limit`` replies of a thread, oldest first: the first ones, or those
    before/after an id (a thread is read from its start)."""
    qs = _messages().filter(thread_root=root)
    if before is not None:
        return list(reversed(qs.filter(id__lt=before).order_by("-id")[:limit]))
    if after is not None:
        qs = qs.filter(id__gt=after)
    return list(qs.order_by("id")[:limit])


def thread_last_reply_id(*, root: Message) -> int:
    last = (
        Message.objects.filter(thread_root=root).order_by("-id").values_list("id", flat=True)
    ).first()
    return last or 0


def _thread_unread(user_field: str | F) -> Count:
    """Replies after the follow's read marker from someone else, not deleted."""
    return Count(
        "root__thread_replies",
        filter=Q(root__thread_replies__id__gt=F("last_read_id"))
        & ~Q(root__thread_replies__sender_id=user_field)
        & Q(root__thread_replies__deleted_at__isnull=True),
    )


def _readable(follows: QuerySet[ThreadFollow]) -> QuerySet[ThreadFollow]:
    """Only threads of conversations the follower still reads (a removed member's follows
    stay, silent, until they are back)."""
    return follows.filter(
        Exists(
            Membership.objects.filter(
                conversation_id=OuterRef("root__conversation_id"),
                user_id=OuterRef("user_id"),
                state__in=READABLE_STATES,
            )
        )
    )


def thread_followers(*, root: Message) -> QuerySet[ThreadFollow]:
    """The thread's followers who still read its conversation, with their ``unread``."""
    return _readable(
        ThreadFollow.objects.filter(root=root, state=ThreadFollow.State.FOLLOWING)
    ).annotate(unread=_thread_unread(F("user_id")))


def threads_for(*, user: Any, limit: int = 100) -> QuerySet[ThreadFollow]:
    """The threads ``user`` follows, with their ``unread``, the latest reply first."""
    return (
        _readable(ThreadFollow.objects.filter(user_id=user.pk, state=ThreadFollow.State.FOLLOWING))
        .select_related("root", "root__sender", "root__conversation")
        .annotate(unread=_thread_unread(user.pk))
        .order_by(F("root__last_reply_at").desc(nulls_last=True), "-root_id")[:limit]
    )


def thread_follow_of(*, user: Any, root: Message) -> ThreadFollow | None:
    return ThreadFollow.objects.filter(root=root, user_id=user.pk).first()


def thread_unread(*, user: Any, root: Message, follow: ThreadFollow | None) -> int:
    return (
        Message.objects.filter(
            thread_root=root,
            id__gt=follow.last_read_id if follow else 0,
            deleted_at__isnull=True,
        )
        .exclude(sender_id=user.pk)
        .count()
    )


def thread_state_payload(
    *, root: Message, follow: ThreadFollow | None, user_id: int
) -> dict[str, Any]:
    """Where someone stands in a thread: followed, muted or not; read up to; unread."""
    unread = getattr(follow, "unread", None)
    if unread is None:
        unread = thread_unread(user=_Id(user_id), root=root, follow=follow)
    return {
        "conversation": root.conversation_id,
        "root": root.id,
        "state": follow.state if follow else ThreadFollow.State.NONE.value,
        "last_read_id": follow.last_read_id if follow else 0,
        "unread": unread,
        "reply_count": root.reply_count,
        "last_reply_at": root.last_reply_at,
    }


class _Id:
    """Stands for a user where only the id is needed."""

    def __init__(self, pk: int) -> None:
        self.pk = pk


def thread_list_payload(follow: ThreadFollow) -> dict[str, Any]:
    """One line of a person's Threads list."""
    root = follow.root
    conversation = root.conversation
    title = conversation.title
    if not title:  # a direct conversation is named after the other person
        from hub.accounts.models import User

        partner = direct_partner_id(conversation=conversation, user_id=follow.user_id)
        other = User.objects.filter(pk=partner).first() if partner else None
        title = other.name if other else root.sender.name
    return {
        **thread_state_payload(root=root, follow=follow, user_id=follow.user_id),
        "conversation_title": title,
        "root_sender": root.sender.name,
        "excerpt": "" if root.deleted_at else _excerpt(root.body),
    }


def _excerpt(text: str, length: int = 120) -> str:
    from hub import sanitize

    plain = " ".join(sanitize.plain(text).split())
    return plain if len(plain) <= length else plain[: length - 1] + "…"


def conversation_payload(membership: Membership, *, viewer: Any = None) -> dict[str, Any]:
    conversation = membership.conversation
    title = conversation.title
    partner = None
    if conversation.kind == Conversation.Kind.DIRECT:
        partner_id = direct_partner_id(conversation=conversation, user_id=membership.user_id)
        from hub.accounts.models import User

        other = User.objects.filter(pk=partner_id).first()
        partner = {"id": partner_id, "name": other.name if other else "?"}
        title = partner["name"]
    return {
        "id": conversation.pk,
        "kind": conversation.kind,
        "title": title,
        "topic": conversation.topic,
        "partner": partner,
        "course_id": conversation.course_id,
        "role": membership.role,
        "state": membership.state,
        "last_read_id": membership.last_read_id,
        "last_event_id": conversation.last_event_id,
        "unread": getattr(membership, "unread", None),
        "receipts": shows_read_receipts(conversation=conversation),
    }


def member_payloads(*, conversation: Conversation) -> list[dict[str, Any]]:
    rows = conversation.memberships.filter(state__in=READABLE_STATES).select_related("user")
    return [
        {"id": m.user_id, "name": m.user.name, "role": m.role, "state": m.state}
        for m in rows.order_by("user__username")
    ]
