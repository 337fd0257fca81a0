"""Every write of chat. Permission checks live here, so REST, WebSocket and pages agree."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from hub import realtime, sanitize
from hub.accounts.models import Role, User
from hub.accounts.selectors import spaces_of
from hub.api import RateLimited
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


def _check_rate(user: User) -> None:
    """A sliding window over the sender's own messages: no burst at a window's edge, and
    nothing to keep in sync with the data (the messages are the record)."""
    conf = selectors.limits()
    since = timezone.now() - timedelta(seconds=conf["RATE_SECONDS"])
    if Message.objects.filter(sender=user, created_at__gte=since).count() >= conf["RATE_COUNT"]:
        raise RateLimited(detail=_("You are sending messages too fast."))


def _clean_body(body: str) -> tuple[str, str]:
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
@transaction.atomic
def message_send(
    *,
    sender: User,
    conversation: Conversation,
    body: str,
    client_id: uuid.UUID | None = None,
    reply_to: int | None = None,
    attachments: Iterable[int] = (),
) -> Message:
    """Store a message once per (sender, client_id) and publish it to the conversation."""
    if client_id is not None:
        existing = Message.objects.filter(sender=sender, client_id=client_id).first()
        if existing is not None:
            if existing.conversation_id != conversation.pk:
                raise ValidationError({"client_id": _("This client id was used elsewhere.")})
            return existing  # a retry: the same message, no second event
    _require_poster(sender, conversation)
    text, html = _clean_body(body)
    attachment_ids = sorted(set(attachments))
    if not text and not attachment_ids:
        raise ValidationError({"body": _("Write something first.")})
    if len(attachment_ids) > selectors.limits()["MAX_ATTACHMENTS"]:
        raise ValidationError({"attachments": _("Too many attachments.")})
    if (
        reply_to is not None
        and not Message.objects.filter(conversation=conversation, id=reply_to).exists()
    ):
        raise ValidationError({"reply_to": _("No such message in this conversation.")})
    _check_rate(sender)
    realtime.hold_topic_order(conversation.topic)
    if client_id is not None:
        # Another retry may have committed while we waited for the topic.
        existing = Message.objects.filter(sender=sender, client_id=client_id).first()
        if existing is not None:
            return existing
    event = _record(conversation, ConversationEvent.Type.CREATED)
    message = Message.objects.create(
        id=event.id,
        conversation=conversation,
        sender=sender,
        client_id=client_id,
        body=text,
        body_html=html,
        reply_to_id=reply_to,
        mention_ids=_mentions(text, conversation),
    )
    ConversationEvent.objects.filter(pk=event.pk).update(message_id=message.id)
    if attachment_ids:
        linked = Attachment.objects.filter(
            id__in=attachment_ids, uploader=sender, conversation=conversation, message__isnull=True
        ).update(message=message)
        if linked != len(attachment_ids):
            raise ValidationError({"attachments": _("Unknown or already used attachment.")})
    message = selectors.get_message(conversation=conversation, message_id=message.id)
    realtime.publish(
        conversation.topic,
        ConversationEvent.Type.CREATED,
        selectors.message_payload(message),
        id=message.id,
    )
    realtime.publish(
        conversation.unread_topic,
        "message.new",
        {"conversation": conversation.pk, "id": message.id, "sender": sender.pk},
    )
    transaction.on_commit(lambda: notify_new_message(message_id=message.id), robust=True)
    return message


def _republish(message: Message, type: str) -> Message:
    conversation = message.conversation
    realtime.hold_topic_order(conversation.topic)
    event = _record(conversation, type, message.id)
    message = selectors.get_message(conversation=conversation, message_id=message.id)
    realtime.publish(conversation.topic, type, selectors.message_payload(message), id=event.id)
    return message


@transaction.atomic
def message_edit(*, editor: User, message: Message, body: str) -> Message:
    if message.sender_id != editor.pk:
        raise PermissionDenied(_("You can only edit your own messages."))
    _require_poster(editor, message.conversation)
    if message.deleted_at is not None:
        raise ValidationError(_("This message was deleted."))
    window = selectors.limits()["EDIT_WINDOW_SECONDS"]
    if (timezone.now() - message.created_at).total_seconds() > window:
        raise PermissionDenied(_("The time to edit this message is over."))
    text, html = _clean_body(body)
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
        Message.objects.filter(conversation=conversation, id__gt=target, deleted_at__isnull=True)
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
    content_type = (file.content_type or "").split(";")[0].strip().lower()
    if content_type not in conf["ATTACHMENT_TYPES"]:
        raise ValidationError({"file": _("This type of file cannot be attached.")})
    name = re.sub(r"[^\w.\- ]", "_", (file.name or "file").rsplit("/", 1)[-1])[:150] or "file"
    attachment = Attachment(
        uploader=uploader,
        conversation=conversation,
        name=name,
        size=file.size,
        content_type=content_type,
    )
    attachment.file.save(f"{uuid.uuid4().hex}-{name}", file, save=False)
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

    return {p["id"] for p in async_to_sync(presence.store().present)(topic)}


def notify_new_message(*, message_id: int) -> None:
    """In-app notice of a new message for members who are not looking at the conversation.

    Direct and group messages notify every member; in course channels and live-class chats
    only the people @mentioned (everyone else would be flooded).
    """
    from hub.notify import notify

    message = Message.objects.select_related("conversation", "sender").filter(pk=message_id).first()
    if message is None or message.deleted_at is not None:
        return
    conversation = message.conversation
    if conversation.kind in (Conversation.Kind.DIRECT, Conversation.Kind.GROUP):
        candidates = set(selectors.member_ids(conversation=conversation))
    else:
        candidates = set(message.mention_ids)
    candidates.discard(message.sender_id)
    if not candidates:
        return
    candidates -= present_user_ids(conversation.topic)
    if not candidates:
        return
    if conversation.kind == Conversation.Kind.DIRECT:
        blockers = set(
            Block.objects.filter(blocked_id=message.sender_id).values_list("blocker_id", flat=True)
        )
        candidates -= blockers
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
    )
