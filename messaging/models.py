"""Chat: conversations (direct, group, course channel, live-class chat), members, messages.

Every durable change of a conversation (a message created, edited, deleted, reacted to) is
a ``ConversationEvent`` row whose id is the event id on ``messaging.conversation.<id>``;
a message's id is the id of the event that created it. One sequence, so a reconnecting
client replays creations *and* later edits of old messages in the order they happened.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Space
from hub.files import RandomName


class Conversation(models.Model):
    class Kind(models.TextChoices):
        DIRECT = "direct", _("Direct")
        GROUP = "group", _("Group")
        COURSE = "course", _("Course channel")
        LIVE_CLASS = "live_class", _("Live-class chat")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)
    space = models.ForeignKey(
        Space, on_delete=models.CASCADE, null=True, blank=True, related_name="conversations"
    )
    # The course whose channel this is (kind "course"). A deleted course leaves its
    # channel's history in place, detached.
    course = models.ForeignKey(
        "classrooms.Course",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="chat_channels",
        verbose_name=_("course"),
    )
    # The live class is chosen by the live-class feature and referenced by its key.
    live_class_key = models.CharField(max_length=64, null=True, blank=True)
    # "<smaller user id>:<larger user id>": one direct conversation per pair.
    direct_key = models.CharField(max_length=41, null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_event_id = models.PositiveBigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Messages up to this id have had their notifications worked out (a background job
    # takes every message since, in one run: see services.notify_new_messages).
    notified_id = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["direct_key"],
                condition=Q(direct_key__isnull=False),
                name="one_direct_per_pair",
            ),
            models.UniqueConstraint(
                fields=["course"],
                condition=Q(kind="course", course__isnull=False),
                name="one_channel_per_course",
            ),
            models.UniqueConstraint(
                fields=["live_class_key"],
                condition=Q(live_class_key__isnull=False),
                name="one_chat_per_live_class",
            ),
        ]

    def __str__(self) -> str:
        return self.title or f"{self.get_kind_display()} {self.pk}"

    @property
    def topic(self) -> str:
        return f"messaging.conversation.{self.pk}"

    @property
    def unread_topic(self) -> str:
        """Light facet for navigation badges: which message arrived, not its text."""
        return f"messaging.conversation.{self.pk}.unread"


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        ADMIN = "admin", _("Admin")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")  # reads, may not post
        REMOVED = "removed", _("Removed")  # neither reads nor posts

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    last_read_id = models.PositiveBigIntegerField(default=0)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("conversation member")
        verbose_name_plural = _("conversation members")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="one_membership")
        ]
        indexes = [models.Index(fields=["user", "state"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.conversation}"


class Message(models.Model):
    # Not an AutoField: the id is the id of the ``ConversationEvent`` that created it.
    id = models.PositiveBigIntegerField(primary_key=True)
    # No single-column indexes on the two keys: the (conversation, id) and
    # (sender, created_at) indexes below serve those lookups, and each index less is one
    # write less on every message sent.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="chat_messages",
        db_index=False,
    )
    client_id = models.UUIDField(null=True, blank=True)
    body = models.TextField(blank=True)  # markdown source, kept for editing
    body_html = models.TextField(blank=True)  # sanitised by hub/sanitize.py
    # A quote-reply (``reply_to``) stays in the conversation; a thread reply lives under its
    # root (``thread_root``) and is shown in the root's thread, not in the conversation.
    reply_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies"
    )
    # Always a root (a message outside any thread): replying to a thread reply answers its
    # root's thread. Indexed by the partial index below (main-line messages write nothing).
    thread_root = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="thread_replies",
        db_index=False,
    )
    # On a root: its thread's size and last reply, for the conversation's "3 replies" line.
    # ``db_default``: the send path's raw INSERT (services._insert_message) leaves them out.
    reply_count = models.PositiveIntegerField(default=0, db_default=0)
    last_reply_at = models.DateTimeField(null=True, blank=True)
    mention_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_id"],
                condition=Q(client_id__isnull=False),
                name="one_message_per_client_id",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "id"]),
            # The sender's rate limit counts their messages of the last seconds.
            models.Index(fields=["sender", "created_at"], name="message_sender_recent"),
            # A thread's replies in order; partial, so a main-line message costs no entry.
            models.Index(
                fields=["thread_root", "id"],
                name="message_thread_replies",
                condition=Q(thread_root__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} by {self.sender_id}"


class ConversationEvent(models.Model):
    """One durable event of a conversation; its id is the event id clients resume from."""

    class Type(models.TextChoices):
        CREATED = "message.created"
        EDITED = "message.edited"
        DELETED = "message.deleted"
        REACTED = "message.reacted"

    id = models.BigAutoField(primary_key=True)
    # Served by the (conversation, id) index below (one index less to write per event).
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    type = models.CharField(max_length=20, choices=Type.choices)
    message_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["conversation", "id"])]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class ThreadFollow(models.Model):
    """A person's relation to a thread: following (notified, listed with its unread count),
    muted (never notified, not listed), or none (unfollowed; a post or a mention follows
    again). ``last_read_id``: the last reply they read in it."""

    class State(models.TextChoices):
        FOLLOWING = "following", _("Following")
        MUTED = "muted", _("Muted")
        NONE = "none", _("Not following")

    root = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="thread_follows")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_thread_follows"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.FOLLOWING)
    last_read_id = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("thread follow")
        verbose_name_plural = _("thread follows")
        constraints = [models.UniqueConstraint(fields=["root", "user"], name="one_thread_follow")]
        indexes = [models.Index(fields=["user", "state"], name="thread_follow_user_state")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.state} thread #{self.root_id}"


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="one_reaction")
        ]

    def __str__(self) -> str:
        return f"{self.emoji} on #{self.message_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    """Names of attachments stored before 0.x (kept: migrations refer to it)."""
    return f"chat/{instance.uploader_id}/{filename}"


class Attachment(models.Model):
    """Uploaded first (REST, multipart), then sent with a message by id."""

    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="attachments"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    # An unguessable stored name; ``name`` is the uploader's, for display and download.
    file = models.FileField(upload_to=RandomName("chat"), db_index=True)
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Block(models.Model):
    """``blocker`` receives no direct messages from ``blocked`` (and cannot send them any)."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_blocks"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blocker", "blocked"], name="one_block")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class Report(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reported message")
        verbose_name_plural = _("reported messages")
        constraints = [
            models.UniqueConstraint(fields=["message", "reporter"], name="one_report_per_reporter")
        ]

    def __str__(self) -> str:
        return f"report of #{self.message_id}"


class ChatSettings(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_settings"
    )
    read_receipts = models.BooleanField(_("share read receipts"), default=True)
    email_digest = models.BooleanField(_("e-mail digest of unread messages"), default=False)
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"chat settings of {self.user_id}"
