"""Every write of chat. Permission checks live here, so REST, WebSocket and pages agree."""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from hub import events, files, realtime, sanitize
from hub.accounts.models import Role, User
from hub.accounts.selectors import spaces_of
from hub.api import RateLimited
from hub.coalesce import CoalescedJob
from hub.outages import is_outage, warn_once
from messaging import selectors
from messaging.models import (
    Attachment,
    Block,
    ChatSettings,
    Conversation,
    ConversationEvent,
    Membership,
    Message,
    Reaction,
    Report,
    ThreadFollow,
)

MENTION_RE = re.compile(r"(?<![\w@])@([\w.+-]{1,150})")
EMOJI_RE = re.compile(r"^[^\s<>&\"']{1,32}$")


# -- checks --------------------------------------------------------------------------------
def _require_member(user: User, conversation: Conversation) -> Membership:
    membership = selectors.membership_of(user=user, conversation=conversation)
    if membership is None or membership.state not in selectors.READABLE_STATES:
        raise PermissionDenied(_("You are not a member of this conversation."))
    return membership


def _require_poster(user: User, conversation: Conversation) -> Membership:
    membership = _require_member(user, conversation)
    if membership.state != Membership.State.ACTIVE or not user.is_active:
        raise PermissionDenied(_("You may no longer post in this conversation."))
    partner = selectors.direct_partner_id(conversation=conversation, user_id=user.pk)
    if partner is not None and selectors.is_blocked_between(user_ids=(user.pk, partner)):
        raise PermissionDenied(_("You cannot send messages to this person."))
    return membership


def _clean_body(body: str) -> tuple[str, str]:
    """The message's text and HTML, refused over the length limit before it is rendered.

    Call it before the transaction opens: rendering is CPU work only, and inside the
    transaction it would hold its locks (on SQLite, the database's write lock) meanwhile.
    """
    body = (body or "").strip()
    max_length = selectors.limits()["MAX_LENGTH"]
    if len(body) > max_length:
        raise ValidationError(
            _("A message is limited to %(max)d characters.") % {"max": max_length},
            code="too_large",
        )
    return body, sanitize.markdown(body)


def _shares_space(user: User, other: User) -> bool:
    if user.has_role(Role.ADMIN) or other.has_role(Role.ADMIN):
        return True
    return spaces_of(user=user).filter(memberships__user=other).exists()


def _mentions(body: str, conversation: Conversation) -> list[int]:
    names = set(MENTION_RE.findall(body))
    if not names:
        return []
    return sorted(
        conversation.memberships.filter(
            user__username__in=names, state__in=selectors.READABLE_STATES
        ).values_list("user_id", flat=True)
    )


def _record(
    conversation: Conversation, type: str, message_id: int | None = None
) -> ConversationEvent:
    """A durable event row; call ``hold_topic_order`` first (ids commit in order)."""
    event = ConversationEvent.objects.create(
        conversation=conversation, type=type, message_id=message_id or 0
    )
    fields: dict[str, Any] = {"last_event_id": event.id}
    if type == ConversationEvent.Type.CREATED:
        fields["last_message_at"] = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(**fields)
    return event


# -- conversations -------------------------------------------------------------------------
def _add_member(
    conversation: Conversation, user: User, role: str = Membership.Role.MEMBER
) -> Membership:
    membership, created = Membership.objects.get_or_create(
        conversation=conversation,
        user=user,
        defaults={"role": role, "last_read_id": conversation.last_event_id},
    )
    changed = created
    if membership.state == Membership.State.REMOVED:
        membership.state = Membership.State.ACTIVE
        membership.save(update_fields=["state"])
        changed = True
    if role == Membership.Role.ADMIN and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    if changed:
        realtime.publish(user.topic, "messaging.joined", {"conversation": conversation.pk})
    return membership


@transaction.atomic
def conversation_direct_open(*, user: User, other: User) -> Conversation:
    """The one direct conversation between two people, created on first use."""
    if other.pk == user.pk:
        raise ValidationError(_("Choose someone else to talk to."))
    if not other.is_active or not _shares_space(user, other):
        raise PermissionDenied(_("You cannot message this person."))
    key = f"{min(user.pk, other.pk)}:{max(user.pk, other.pk)}"
    conversation = Conversation.objects.filter(direct_key=key).first()
    if conversation is None:
        try:
            with transaction.atomic():
                conversation = Conversation.objects.create(
                    kind=Conversation.Kind.DIRECT, direct_key=key, created_by=user
                )
        except IntegrityError:  # opened by the other person at the same moment
            conversation = Conversation.objects.get(direct_key=key)
    for person in (user, other):
        _add_member(conversation, person)
    return conversation


@transaction.atomic
def conversation_group_create(
    *, creator: User, title: str, members: Iterable[User]
) -> Conversation:
    title = sanitize.plain(title).strip()[:200]
    if not title:
        raise ValidationError({"title": _("A group needs a name.")})
    people = [m for m in members if m.pk != creator.pk]
    for person in people:
        if not _shares_space(creator, person):
            raise PermissionDenied(_("You can only invite people of your spaces."))
    conversation = Conversation.objects.create(
        kind=Conversation.Kind.GROUP, title=title, created_by=creator
    )
    _add_member(conversation, creator, Membership.Role.ADMIN)
    for person in people:
        _add_member(conversation, person)
    return conversation


def _require_moderator(actor: User, conversation: Conversation) -> None:
    if not selectors.is_moderator(user=actor, conversation=conversation):
        raise PermissionDenied(_("Only the conversation's admins may do this."))


@transaction.atomic
def member_add(*, actor: User, conversation: Conversation, user: User) -> Membership:
    if conversation.kind != Conversation.Kind.GROUP:
        raise ValidationError(_("Members are added to groups only."))
    _require_moderator(actor, conversation)
    if not _shares_space(actor, user):
        raise PermissionDenied(_("You can only invite people of your spaces."))
    return _add_member(conversation, user)


def _set_state(conversation: Conversation, user: User, state: str) -> None:
    updated = Membership.objects.filter(conversation=conversation, user=user).update(state=state)
    if not updated:
        raise Membership.DoesNotExist
    realtime.publish(
        user.topic, "messaging.membership", {"conversation": conversation.pk, "state": state}
    )
    realtime.publish(
        conversation.topic, "member.updated", {"id": user.pk, "name": user.name, "state": state}
    )
    if state not in selectors.READABLE_STATES:
        # Their open sockets stop receiving the conversation now, not at the next sub.
        realtime.revoke(conversation.topic, user_id=user.pk)
        realtime.revoke(conversation.unread_topic, user_id=user.pk)


@transaction.atomic
def member_remove(*, actor: User, conversation: Conversation, user: User) -> None:
    """An admin removes someone, or someone leaves (``actor == user``)."""
    if actor.pk != user.pk:
        _require_moderator(actor, conversation)
    elif conversation.kind in (Conversation.Kind.DIRECT, Conversation.Kind.COURSE):
        raise ValidationError(_("You cannot leave this conversation."))
    _set_state(conversation, user, Membership.State.REMOVED)


@transaction.atomic
def member_suspend(
    *, actor: User, conversation: Conversation, user: User, suspended: bool = True
) -> None:
    """A suspended member still reads but may not post."""
    _require_moderator(actor, conversation)
    _set_state(
        conversation, user, Membership.State.SUSPENDED if suspended else Membership.State.ACTIVE
    )


# -- course channels and live-class chats (classrooms never imports messaging) -------------
def _course_channel(course: Any) -> Conversation:
    title = str(getattr(course, "title", None) or getattr(course, "name", None) or course)
    conversation, _created = Conversation.objects.get_or_create(
        kind=Conversation.Kind.COURSE,
        course_id=course.pk,
        defaults={"title": title[:200], "space_id": getattr(course, "space_id", None)},
    )
    return conversation


def on_enrolled(*, user: User, course: Any, **_extra: Any) -> None:
    """``classrooms.enrolled``: the person joins the course channel (idempotent)."""
    with transaction.atomic():
        conversation = _course_channel(course)
        trainers = getattr(course, "trainers", None)
        for trainer in trainers.all() if trainers is not None else ():
            _add_member(conversation, trainer, Membership.Role.ADMIN)
        role = (
            Membership.Role.ADMIN
            if user.has_role(Role.TRAINER, Role.ADMIN)
            else Membership.Role.MEMBER
        )
        _add_member(conversation, user, role)


def on_enrolled_many(*, user_ids: list[int], course: Any, **_extra: Any) -> None:
    """``classrooms.enrolled_many``: many people join the course channel at once (a few
    queries whatever their number; someone who had left it is back). They see it on their
    next page rather than by a ``messaging.joined`` push each."""
    with transaction.atomic():
        conversation = _course_channel(course)
        trainers = getattr(course, "trainers", None)
        for trainer in trainers.all() if trainers is not None else ():
            _add_member(conversation, trainer, Membership.Role.ADMIN)
        Membership.objects.bulk_create(
            [
                Membership(
                    conversation=conversation,
                    user_id=user_id,
                    role=Membership.Role.MEMBER,
                    last_read_id=conversation.last_event_id,
                )
                for user_id in user_ids
            ],
            ignore_conflicts=True,
            batch_size=1000,
        )
        Membership.objects.filter(
            conversation=conversation, user_id__in=user_ids, state=Membership.State.REMOVED
        ).update(state=Membership.State.ACTIVE)


def on_unenrolled(*, user: User, course: Any, **_extra: Any) -> None:
    """``classrooms.unenrolled``: the person leaves the course channel (idempotent)."""
    with transaction.atomic():
        conversation = Conversation.objects.filter(
            kind=Conversation.Kind.COURSE, course_id=course.pk
        ).first()
        if conversation is None:
            return
        if Membership.objects.filter(
            conversation=conversation, user=user, state=Membership.State.REMOVED
        ).exists():
            return
        if Membership.objects.filter(conversation=conversation, user=user).exists():
            _set_state(conversation, user, Membership.State.REMOVED)


@transaction.atomic
def live_class_chat_open(*, key: str, title: str, space_id: int | None = None) -> Conversation:
    """The chat of a live class (``key`` chosen by the live-class feature), made once."""
    conversation, _created = Conversation.objects.get_or_create(
        live_class_key=key,
        defaults={"kind": Conversation.Kind.LIVE_CLASS, "title": title[:200], "space_id": space_id},
    )
    return conversation


@transaction.atomic
def live_class_chat_join(
    *, conversation: Conversation, user: User, host: bool = False
) -> Membership:
    if conversation.kind != Conversation.Kind.LIVE_CLASS:
        raise ValidationError(_("Not a live-class chat."))
    return _add_member(
        conversation, user, Membership.Role.ADMIN if host else Membership.Role.MEMBER
    )


def on_liveclass_joined(*, user: User, live_class: Any, host: bool = False, **_extra: Any) -> None:
    """``classrooms.liveclass_joined``: the person joins the class's chat (idempotent)."""
    with transaction.atomic():
        conversation = live_class_chat_open(
            key=live_class.topic, title=live_class.title, space_id=live_class.space_id
        )
        live_class_chat_join(conversation=conversation, user=user, host=host)


def on_liveclass_removed(*, user_id: int, live_class_id: int, **_extra: Any) -> None:
    """``classrooms.liveclass_removed``: put out of the class, out of its chat too."""
    conversation = selectors.live_class_chat(key=f"classrooms.liveclass.{live_class_id}")
    if conversation is None:
        return
    user = User.objects.filter(pk=user_id).first()
    if user is None or not Membership.objects.filter(conversation=conversation, user=user).exists():
        return
    with transaction.atomic():
        _set_state(conversation, user, Membership.State.REMOVED)


# -- messages ------------------------------------------------------------------------------
def message_send(
    *,
    sender: User,
    conversation: Conversation | int,
    body: str,
    client_id: uuid.UUID | None = None,
    reply_to: int | None = None,
    attachments: Iterable[int] = (),
    thread: int | None = None,
) -> Message:
    """Store a message once per (sender, client_id) and publish it to the conversation.

    ``thread``: a message of the conversation whose thread this is a reply in (a reply of
    a thread answers its root's thread).

    ``conversation`` may be an id (the gateway passes the topic's key): the membership and
    the conversation then come in one query.

    A retry is detected by the unique (sender, client_id) constraint rather than a look-up
    before every send: the insert fails, the transaction (or its savepoint) rolls back and
    the stored message is returned, with no second event.
    """
    conversation_id = conversation if isinstance(conversation, int) else conversation.pk
    text, html = _clean_body(body)
    try:
        return _message_store(
            sender=sender,
            conversation=conversation,
            text=text,
            html=html,
            client_id=client_id,
            reply_to=reply_to,
            attachments=attachments,
            thread=thread,
        )
    except IntegrityError:
        if client_id is None:
            raise
        existing = Message.objects.filter(sender=sender, client_id=client_id).first()
        if existing is None:
            raise
        if existing.conversation_id != conversation_id:
            raise ValidationError({"client_id": _("This client id was used elsewhere.")}) from None
        # A retry: the same message, no second event.
        return selectors.get_message(conversation=existing.conversation, message_id=existing.id)


def _poster_membership(sender: User, conversation: Conversation | int) -> Membership:
    """The sender's membership with its conversation and their recent message count, in
    one query; raises unless they may post there now."""
    conversation_id = conversation if isinstance(conversation, int) else conversation.pk
    since = timezone.now() - timedelta(seconds=selectors.limits()["RATE_SECONDS"])
    with connection.cursor() as cursor:
        cursor.execute(
            _POSTER_SQL,
            [
                sender.pk,
                connection.ops.adapt_datetimefield_value(since),
                conversation_id,
                sender.pk,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        raise PermissionDenied(_("You are not a member of this conversation."))
    split = len(Membership._meta.concrete_fields)
    membership = _from_row(Membership, row[:split])
    if isinstance(conversation, Conversation):
        membership.conversation = conversation
    else:
        membership.conversation = _from_row(Conversation, row[split:-1])
    membership.recent_messages = row[-1]
    if membership.state not in selectors.READABLE_STATES:
        raise PermissionDenied(_("You are not a member of this conversation."))
    if membership.state != Membership.State.ACTIVE or not sender.is_active:
        raise PermissionDenied(_("You may no longer post in this conversation."))
    partner = selectors.direct_partner_id(conversation=membership.conversation, user_id=sender.pk)
    if partner is not None and selectors.is_blocked_between(user_ids=(sender.pk, partner)):
        raise PermissionDenied(_("You cannot send messages to this person."))
    return membership


def _poster_sql() -> str:
    """Raw SQL, because building the same annotated ORM query on every send cost more CPU
    than the rest of the send (docs/PERFORMANCE.md, Chat)."""
    membership, conversation, message = Membership._meta, Conversation._meta, Message._meta
    columns = [f"m.{f.column}" for f in membership.concrete_fields]
    columns += [f"c.{f.column}" for f in conversation.concrete_fields]
    return f"""
        SELECT {", ".join(columns)},
            (SELECT COUNT(*) FROM {message.db_table} WHERE sender_id = %s AND created_at >= %s)
        FROM {membership.db_table} m
        JOIN {conversation.db_table} c ON c.id = m.conversation_id
        WHERE m.conversation_id = %s AND m.user_id = %s
    """


_POSTER_SQL = _poster_sql()


def _from_row(model: type[Any], values: tuple[Any, ...]) -> Any:
    """A model instance from the raw values of its concrete fields, converted as the ORM
    converts them (SQLite returns date-times as text, for one)."""
    fields = model._meta.concrete_fields
    converted = []
    for (column, converters), value in zip(
        _row_converters(model, connection.alias), values, strict=True
    ):
        for convert in converters:
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


@functools.cache
def _row_converters(model: type[Any], alias: str) -> list[tuple[Any, list[Any]]]:
    """Per concrete field of ``model``: its column and the converters of this database
    (looked up once: on every send they cost as much as the query)."""
    database = connections[alias]
    result = []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        converters = [
            *database.ops.get_db_converters(column),
            *column.get_db_converters(database),
        ]
        result.append((column, converters))
    return result


@transaction.atomic
def _message_store(
    *,
    sender: User,
    conversation: Conversation | int,
    text: str,
    html: str,
    client_id: uuid.UUID | None,
    reply_to: int | None,
    attachments: Iterable[int],
    thread: int | None = None,
) -> Message:
    membership = _poster_membership(sender, conversation)
    conversation = membership.conversation
    if membership.recent_messages >= selectors.limits()["RATE_COUNT"]:
        raise RateLimited(detail=_("You are sending messages too fast."))
    attachment_ids = sorted(set(attachments))
    if not text and not attachment_ids:
        raise ValidationError({"body": _("Write something first.")})
    if len(attachment_ids) > selectors.limits()["MAX_ATTACHMENTS"]:
        raise ValidationError({"attachments": _("Too many attachments.")})
    parent = None
    if reply_to is not None:
        parent = (
            Message.objects.select_related("sender")
            .filter(conversation=conversation, id=reply_to)
            .first()
        )
        if parent is None:
            raise ValidationError({"reply_to": _("No such message in this conversation.")})
    root = None if thread is None else _thread_reply_counted(conversation, thread)
    message = Message(
        conversation=conversation,
        sender=sender,
        client_id=client_id,
        body=text,
        body_html=html,
        reply_to=parent,
        thread_root=root,
        mention_ids=_mentions(text, conversation),
        created_at=timezone.now(),
    )
    # Everything before this line runs without holding the conversation's topic.
    _insert_message(message)
    linked = Attachment.objects.none()
    if attachment_ids:
        updated = Attachment.objects.filter(
            id__in=attachment_ids, uploader=sender, conversation=conversation, message__isnull=True
        ).update(message=message)
        if updated != len(attachment_ids):
            raise ValidationError({"attachments": _("Unknown or already used attachment.")})
        linked = Attachment.objects.filter(message=message).order_by("id")
        list(linked)  # read once here; the payload reuses the result
    # A new message has no reactions yet: the payload needs no query for its relations.
    message._prefetched_objects_cache = {
        "reactions": Reaction.objects.none(),
        "attachments": linked,
    }
    # Built once: the event's frame is encoded from it here, and the sender's ack reuses it.
    message.created_payload = realtime.Encoded(selectors.message_payload(message))
    realtime.publish(
        conversation.topic, ConversationEvent.Type.CREATED, message.created_payload, id=message.id
    )
    if root is None:
        realtime.publish(
            conversation.unread_topic,
            "message.new",
            {"conversation": conversation.pk, "id": message.id, "sender": sender.pk},
        )
    else:
        # A thread's unread counts are its followers' (sent by the notification job).
        _thread_follow_on_reply(root, message)
    # Search (and any app that follows new messages) learns of it: the insert above is raw
    # SQL. After the publishes, so that their on-commit batch is one (realtime.publishing).
    events.emit("messaging.message_created", object_id=message.id)
    if _may_notify(conversation, message):
        transaction.on_commit(lambda: schedule_notifications(conversation.pk), robust=True)
    return message


def _insert_message(message: Message) -> None:
    """Give ``message`` the next event id of its conversation and store it.

    The topic's order lock, the event row, the message row and the conversation's last
    event are one statement on PostgreSQL, so the lock is held for that statement and the
    commit only (other senders to the same conversation wait for nothing else).
    """
    conversation = message.conversation
    if connection.vendor == "postgresql":
        lock_class, lock_key = realtime.topic_lock_key(conversation.topic)
        with connection.cursor() as cursor:
            cursor.execute(
                _INSERT_MESSAGE_SQL,
                [
                    lock_class,
                    lock_key,
                    conversation.pk,
                    ConversationEvent.Type.CREATED,
                    message.created_at,
                    message.created_at,
                    conversation.pk,
                    conversation.pk,
                    message.sender_id,
                    message.client_id,
                    message.body,
                    message.body_html,
                    message.reply_to_id,
                    message.thread_root_id,
                    json.dumps(message.mention_ids),
                    message.created_at,
                ],
            )
            message.id = cursor.fetchone()[0]
        message._state.adding = False
        message._state.db = connection.alias
    else:
        # SQLite runs one writer at a time: these statements cannot interleave with another
        # sender's, and cost no network round trip.
        realtime.hold_topic_order(conversation.topic)
        event = ConversationEvent.objects.create(
            conversation=conversation, type=ConversationEvent.Type.CREATED, message_id=0
        )
        message.id = event.id
        message.save(force_insert=True)
        ConversationEvent.objects.filter(pk=event.pk).update(message_id=event.id)
        Conversation.objects.filter(pk=conversation.pk).update(
            last_event_id=event.id, last_message_at=message.created_at
        )
    conversation.last_event_id = message.id
    conversation.last_message_at = message.created_at


def _insert_message_sql() -> str:
    event, msg, conv = ConversationEvent._meta, Message._meta, Conversation._meta
    return f"""
        WITH turn AS (SELECT pg_advisory_xact_lock(%s, %s)),
        next_id AS (
            SELECT nextval(pg_get_serial_sequence('{event.db_table}', 'id')) AS id FROM turn
        ),
        event AS (
            INSERT INTO {event.db_table} (id, conversation_id, type, message_id, created_at)
            SELECT id, %s, %s, id, %s FROM next_id
        ),
        conversation AS (
            UPDATE {conv.db_table} SET last_event_id = next_id.id, last_message_at = %s
            FROM next_id WHERE {conv.db_table}.id = %s
        )
        INSERT INTO {msg.db_table} (
            id, conversation_id, sender_id, client_id, body, body_html, reply_to_id,
            thread_root_id, mention_ids, created_at
        )
        SELECT id, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s FROM next_id
        RETURNING id
    """


# ``turn`` comes first and ``next_id`` reads from it: the id is drawn once the lock is held,
# so ids of one conversation commit in order (hub/realtime/ordering.py).
_INSERT_MESSAGE_SQL = _insert_message_sql()


def _may_notify(conversation: Conversation, message: Message) -> bool:
    """Whether the notification job could have anyone to tell (see notify_new_message)."""
    if message.thread_root_id is not None:  # the thread's followers
        return True
    if conversation.kind in (Conversation.Kind.DIRECT, Conversation.Kind.GROUP):
        return True
    return bool(set(message.mention_ids) - {message.sender_id})


# -- threads -------------------------------------------------------------------------------
def _thread_reply_counted(conversation: Conversation, thread: int) -> Message:
    """The root of the thread a reply to message ``thread`` goes in, its reply count and last
    reply time already moved on (in the sender's transaction: a refused send undoes it).

    The root's row is locked until commit, before the topic's order lock, as edits do."""
    row = (
        Message.objects.filter(conversation=conversation, id=thread)
        .values_list("thread_root_id")
        .first()
    )
    if row is None:
        raise ValidationError({"thread": _("No such message in this conversation.")})
    root_id = row[0] or thread
    updated = Message.objects.filter(pk=root_id, deleted_at__isnull=True).update(
        reply_count=F("reply_count") + 1, last_reply_at=timezone.now()
    )
    if not updated:
        raise ValidationError({"thread": _("This message was deleted.")})
    return Message.objects.get(pk=root_id)


def _thread_follow_on_reply(root: Message, message: Message) -> None:
    """Who posts in a thread, who is mentioned in it and the root's author follow it, unless
    they muted it; the poster has read it up to their own reply."""
    people = {message.sender_id, root.sender_id, *message.mention_ids}
    known = dict(
        ThreadFollow.objects.filter(root=root, user_id__in=people).values_list("user_id", "state")
    )
    ThreadFollow.objects.bulk_create(
        [
            ThreadFollow(
                root=root,
                user_id=uid,
                last_read_id=message.id if uid == message.sender_id else 0,
            )
            for uid in people
            if uid not in known
        ],
        ignore_conflicts=True,
    )
    again = [uid for uid, state in known.items() if state == ThreadFollow.State.NONE]
    if again:
        ThreadFollow.objects.filter(root=root, user_id__in=again).update(
            state=ThreadFollow.State.FOLLOWING
        )
    if message.sender_id in known:
        ThreadFollow.objects.filter(root=root, user_id=message.sender_id).update(
            last_read_id=Greatest(F("last_read_id"), message.id)
        )


def _publish_thread_state(user_id: int, root: Message, follow: ThreadFollow | None) -> None:
    """Tell the person's tabs (their Threads list) where they stand in a thread."""
    realtime.publish(
        f"hub.user.{user_id}",
        "messaging.thread",
        selectors.thread_state_payload(root=root, follow=follow, user_id=user_id),
    )


@transaction.atomic
def thread_follow_set(*, user: User, root: Message, state: str) -> ThreadFollow:
    """Follow, mute or stop following (``none``) the thread of ``root`` (a thread's reply
    names its root's thread)."""
    _require_member(user, root.conversation)
    if state not in ThreadFollow.State.values:
        raise ValidationError({"state": _("Not a thread state.")})
    root = selectors.thread_root_of(root)
    follow, _created = ThreadFollow.objects.get_or_create(
        root=root, user=user, defaults={"state": state}
    )
    if follow.state != state:
        follow.state = state
        follow.save(update_fields=["state"])
    _publish_thread_state(user.pk, root, follow)
    return follow


@transaction.atomic
def thread_mark_read(*, user: User, root: Message, last_read_id: int) -> int:
    """Move the person's read marker of a thread forward (never back); returns it. Reading
    a thread one does not follow keeps the marker without following it."""
    _require_member(user, root.conversation)
    root = selectors.thread_root_of(root)
    last = selectors.thread_last_reply_id(root=root)
    target = min(max(0, last_read_id), last)
    follow, _created = ThreadFollow.objects.get_or_create(
        root=root,
        user=user,
        defaults={"state": ThreadFollow.State.NONE, "last_read_id": target},
    )
    if target > follow.last_read_id:
        ThreadFollow.objects.filter(pk=follow.pk).update(
            last_read_id=Greatest(F("last_read_id"), target)
        )
        follow.refresh_from_db(fields=["last_read_id"])
    _publish_thread_state(user.pk, root, follow)
    return follow.last_read_id


def _notify_thread_replies(
    conversation: Conversation, root_id: int, replies: list[tuple[int, int]], present: set[int]
) -> None:
    """The notification job's part for the replies of one thread: each follower's unread
    count to their tabs, and a notice of each reply to followers not looking at the
    conversation (muted and unfollowed people get neither)."""
    from hub.notify import notify

    root = Message.objects.filter(pk=root_id).first()
    if root is None:
        return
    follows = list(selectors.thread_followers(root=root))
    for follow in follows:
        _publish_thread_state(follow.user_id, root, follow)
    read_up_to = {f.user_id: f.last_read_id for f in follows}
    for message_id, sender_id in replies:
        # Not of a reply one has read already (one's own later reply reads the thread).
        candidates = {uid for uid, read in read_up_to.items() if read < message_id}
        candidates -= {sender_id} | present
        if not candidates:
            continue
        message = Message.objects.select_related("sender").filter(pk=message_id).first()
        if message is None or message.deleted_at is not None:
            continue
        where = conversation.title or message.sender.name
        notify(
            recipients=User.objects.filter(pk__in=candidates, is_active=True),
            kind="chat_thread",
            verb=_("%(name)s replied in a thread in %(where)s")
            % {"name": message.sender.name, "where": where},
            actor=message.sender,
            target=conversation,
            description=sanitize.plain(message.body_html)[:300],
            url=f"/chat/{conversation.pk}/?thread={root_id}#m{message.pk}",
            topic=conversation.topic,
        )


def _republish(message: Message, type: str) -> Message:
    conversation = message.conversation
    realtime.hold_topic_order(conversation.topic)
    event = _record(conversation, type, message.id)
    message = selectors.get_message(conversation=conversation, message_id=message.id)
    realtime.publish(conversation.topic, type, selectors.message_payload(message), id=event.id)
    # Edits and deletions are QuerySet updates (no save hooks): say which message changed.
    events.emit("messaging.message_changed", object_id=message.id)
    return message


def message_edit(*, editor: User, message: Message, body: str) -> Message:
    text, html = _clean_body(body)
    return _message_edit(editor=editor, message=message, text=text, html=html)


@transaction.atomic
def _message_edit(*, editor: User, message: Message, text: str, html: str) -> Message:
    if message.sender_id != editor.pk:
        raise PermissionDenied(_("You can only edit your own messages."))
    _require_poster(editor, message.conversation)
    if message.deleted_at is not None:
        raise ValidationError(_("This message was deleted."))
    window = selectors.limits()["EDIT_WINDOW_SECONDS"]
    if (timezone.now() - message.created_at).total_seconds() > window:
        raise PermissionDenied(_("The time to edit this message is over."))
    if not text:
        raise ValidationError({"body": _("Write something first.")})
    Message.objects.filter(pk=message.pk).update(
        body=text,
        body_html=html,
        edited_at=timezone.now(),
        mention_ids=_mentions(text, message.conversation),
    )
    return _republish(message, ConversationEvent.Type.EDITED)


@transaction.atomic
def message_delete(*, actor: User, message: Message) -> Message:
    """The sender or a moderator deletes; everyone sees "deleted" in its place."""
    conversation = message.conversation
    if message.sender_id == actor.pk:
        _require_member(actor, conversation)
    elif not selectors.is_moderator(user=actor, conversation=conversation):
        raise PermissionDenied(_("You can only delete your own messages."))
    if message.deleted_at is not None:
        return message
    Message.objects.filter(pk=message.pk).update(deleted_at=timezone.now(), body="", body_html="")
    return _republish(message, ConversationEvent.Type.DELETED)


@transaction.atomic
def message_react(*, user: User, message: Message, emoji: str, add: bool = True) -> Message:
    _require_poster(user, message.conversation)
    if not EMOJI_RE.match(emoji or ""):
        raise ValidationError({"emoji": _("Not a reaction.")})
    if message.deleted_at is not None:
        raise ValidationError(_("This message was deleted."))
    if add:
        _created = Reaction.objects.get_or_create(message=message, user=user, emoji=emoji)[1]
        changed = _created
    else:
        changed = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()[0] > 0
    if not changed:
        return message
    return _republish(message, ConversationEvent.Type.REACTED)


@transaction.atomic
def conversation_mark_read(*, user: User, conversation: Conversation, last_read_id: int) -> int:
    """Move the user's read marker forward (never back); returns the marker."""
    membership = _require_member(user, conversation)
    conversation.refresh_from_db(fields=["last_event_id"])
    target = min(max(0, last_read_id), conversation.last_event_id)
    if target <= membership.last_read_id:
        return membership.last_read_id
    Membership.objects.filter(pk=membership.pk).update(
        last_read_id=Greatest(F("last_read_id"), target)
    )
    unread = (
        Message.objects.filter(
            conversation=conversation,
            id__gt=target,
            deleted_at__isnull=True,
            thread_root__isnull=True,
        )
        .exclude(sender=user)
        .count()
    )
    realtime.publish(
        user.topic,
        "messaging.read",
        {"conversation": conversation.pk, "last_read_id": target, "unread": unread},
    )
    if selectors.shows_read_receipts(conversation=conversation) and selectors.shares_read_receipts(
        user=user
    ):
        realtime.publish(
            conversation.topic, "read.updated", {"user": user.pk, "last_read_id": target}
        )
    return target


# -- attachments, blocks, reports, settings ------------------------------------------------
@transaction.atomic
def attachment_upload(
    *, uploader: User, conversation: Conversation, file: UploadedFile
) -> Attachment:
    _require_poster(uploader, conversation)
    conf = selectors.limits()
    if file.size > conf["MAX_ATTACHMENT_BYTES"]:
        raise ValidationError(
            {
                "file": _("Files are limited to %(mb)d MB.")
                % {"mb": conf["MAX_ATTACHMENT_BYTES"] // 2**20}
            }
        )
    # The bytes decide the type, not the client's Content-Type or the name's extension: an
    # HTML page sent as text/plain or image/png is stored (and served) as text.
    content_type = files.sniff_upload(file)
    if content_type not in conf["ATTACHMENT_TYPES"]:
        raise ValidationError({"file": _("This type of file cannot be attached.")})
    if content_type in files.RASTER_IMAGE_TYPES:
        files.check_image(file, field="file")
    name = re.sub(r"[^\w.\- ]", "_", (file.name or "file").rsplit("/", 1)[-1])[:150] or "file"
    attachment = Attachment(
        uploader=uploader,
        conversation=conversation,
        name=name,
        size=file.size,
        content_type=content_type,
    )
    # Stored under a random name (the field's upload_to) with the sniffed type's extension.
    attachment.file.save(f"upload.{files.EXTENSIONS[content_type]}", file, save=False)
    attachment.save()
    return attachment


@transaction.atomic
def user_block(*, blocker: User, blocked: User) -> Block:
    if blocker.pk == blocked.pk:
        raise ValidationError(_("You cannot block yourself."))
    return Block.objects.get_or_create(blocker=blocker, blocked=blocked)[0]


@transaction.atomic
def user_unblock(*, blocker: User, blocked: User) -> None:
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


@transaction.atomic
def message_report(*, reporter: User, message: Message, reason: str = "") -> Report:
    """Flag a message for the moderators (conversation admins and site administrators)."""
    from hub.notify import notify

    _require_member(reporter, message.conversation)
    report, created = Report.objects.get_or_create(
        message=message, reporter=reporter, defaults={"reason": sanitize.plain(reason)[:2000]}
    )
    if created:
        conversation = message.conversation
        events.emit("messaging.message_reported", user=reporter, message=message, report=report)
        moderator_ids = set(
            conversation.memberships.filter(role=Membership.Role.ADMIN).values_list(
                "user_id", flat=True
            )
        ) | set(User.objects.filter(role_grants__role=Role.ADMIN).values_list("id", flat=True))
        moderator_ids.discard(reporter.pk)
        notify(
            recipients=User.objects.filter(pk__in=moderator_ids, is_active=True),
            kind="chat_report",
            verb=_("A message was reported"),
            actor=reporter,
            target=message,
            description=report.reason[:500],
            url=f"/admin/messaging/report/{report.pk}/change/",
        )
    return report


@transaction.atomic
def chat_settings_update(
    *, user: User, read_receipts: bool | None = None, email_digest: bool | None = None
) -> ChatSettings:
    settings_row, _created = ChatSettings.objects.get_or_create(user=user)
    if read_receipts is not None:
        settings_row.read_receipts = read_receipts
    if email_digest is not None:
        settings_row.email_digest = email_digest
    settings_row.save()
    return settings_row


# -- notifications -------------------------------------------------------------------------
def present_user_ids(topic: str) -> set[int]:
    """Who has a socket subscribed to ``topic`` right now (is looking at it)."""
    from hub.realtime import presence

    return {p["id"] for p in presence.store().present_now(topic)}


def _notify_pending_key(conversation_id: int) -> str:
    return f"messaging:notify-pending:{conversation_id}"


# One notification job per conversation per ``NOTIFY_DELAY_SECONDS``, across processes.
notification_jobs = CoalescedJob("chat notices")


def schedule_notifications(conversation_id: int) -> None:
    """Queue the conversation's notification job unless one is already waiting: however
    fast a conversation talks, it costs one job per ``NOTIFY_DELAY_SECONDS``, not one per
    message, and the messages sent while it waits cost no cache round trip
    (hub/coalesce.py). The job is due after the delay, so messages sent meanwhile join it.
    """
    from messaging.tasks import notify_new_messages_job

    delay = float(selectors.limits()["NOTIFY_DELAY_SECONDS"])

    def enqueue() -> None:
        job = notify_new_messages_job
        if delay > 0:
            job = job.using(run_after=timezone.now() + timedelta(seconds=delay))
        job.enqueue(conversation_id)

    notification_jobs.ask(
        conversation_id, _notify_pending_key(conversation_id), delay=delay, enqueue=enqueue
    )


def notify_new_messages(*, conversation_id: int) -> int:
    """In-app notices of the conversation's messages since the last run, for members who
    are not looking at it; returns how many messages were considered.

    Direct and group messages notify every member; in course channels and live-class chats
    only the people @mentioned (everyone else would be flooded). Ids commit in order per
    conversation, so every message up to the conversation's ``last_event_id`` is there to
    read; the range is claimed first, so two runs never notify the same message.
    """
    from hub.notify import notify

    # From here on a new message queues the next run, which takes what this one misses.
    try:
        cache.delete(_notify_pending_key(conversation_id))
    except Exception as exc:
        if not is_outage(exc):
            raise
        # Redis is down: senders queue a run each meanwhile (``schedule_notifications``).
        warn_once("redis", "Redis is unreachable: chat notices are queued without coalescing")
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return 0
    start, end = conversation.notified_id, conversation.last_event_id
    if end <= start:
        return 0
    claimed = Conversation.objects.filter(pk=conversation_id, notified_id=start).update(
        notified_id=end
    )
    if not claimed:
        return 0
    messages = Message.objects.filter(
        conversation_id=conversation_id, id__gt=start, id__lte=end, deleted_at__isnull=True
    ).order_by("id")
    everyone = conversation.kind in (Conversation.Kind.DIRECT, Conversation.Kind.GROUP)
    if not everyone:
        # Thread replies always count: their thread's followers are told.
        messages = messages.exclude(Q(mention_ids=[]) & Q(thread_root__isnull=True))
    members = set(selectors.member_ids(conversation=conversation)) if everyone else set()
    present: set[int] | None = None  # asked once per run, only if someone could be told
    blockers: dict[int, set[int]] = {}
    considered = 0
    # Most messages of a busy conversation tell nobody (its members are looking at it): the
    # scan reads three columns, and a whole message (with its sender) only for a notice.
    threads: dict[int, list[tuple[int, int]]] = {}
    for message_id, sender_id, mention_ids, root_id in messages.values_list(
        "id", "sender_id", "mention_ids", "thread_root_id"
    ):
        considered += 1
        if root_id is not None:
            threads.setdefault(root_id, []).append((message_id, sender_id))
            continue
        candidates = set(members if everyone else mention_ids)
        candidates.discard(sender_id)
        if not candidates:
            continue
        if present is None:
            present = present_user_ids(conversation.topic)
        candidates -= present
        if conversation.kind == Conversation.Kind.DIRECT and candidates:
            if sender_id not in blockers:
                blockers[sender_id] = set(
                    Block.objects.filter(blocked_id=sender_id).values_list("blocker_id", flat=True)
                )
            candidates -= blockers[sender_id]
        if not candidates:
            continue
        message = Message.objects.select_related("sender").filter(pk=message_id).first()
        if message is None:  # deleted since the scan
            continue
        where = conversation.title or message.sender.name
        notify(
            recipients=User.objects.filter(pk__in=candidates, is_active=True),
            kind="chat_message",
            verb=_("New message from %(name)s") % {"name": message.sender.name}
            if conversation.kind == Conversation.Kind.DIRECT
            else _("New message in %(where)s") % {"where": where},
            actor=message.sender,
            target=conversation,
            description=sanitize.plain(message.body_html)[:300],
            url=f"/chat/{conversation.pk}/#m{message.pk}",
            # Web Push asks again when it sends: someone may have opened it meanwhile.
            topic=conversation.topic,
        )
    for root_id, replies in threads.items():
        if present is None:
            present = present_user_ids(conversation.topic)
        _notify_thread_replies(conversation, root_id, replies, present)
    return considered
