"""Forums, threads, posts, reactions, subscriptions, moderation and the learners' library.

Data only (ARCHITECTURE §2): every write goes through ``forums/services.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Space
from hub.files import RandomName

USER = settings.AUTH_USER_MODEL


class Emoji(models.TextChoices):
    """The fixed reaction set: a like plus a few emoji."""

    LIKE = "like", "👍"
    HEART = "heart", "❤️"
    LAUGH = "laugh", "😄"
    TADA = "tada", "🎉"
    THINKING = "thinking", "🤔"
    EYES = "eyes", "👀"


class Forum(models.Model):
    """A forum of a space (community), optionally of one course or one session."""

    class Kind(models.TextChoices):
        COMMUNITY = "community", _("Community")
        COURSE = "course", _("Course")
        SESSION = "session", _("Session")

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="forums")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.COMMUNITY)
    # A course's or a session's forum goes with it (forums -> classrooms, sessions).
    course = models.ForeignKey(
        "classrooms.Course",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="forums",
        verbose_name=_("course"),
    )
    session = models.ForeignKey(
        "training_sessions.Session",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="forums",
        verbose_name=_("session"),
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    moderators = models.ManyToManyField(USER, blank=True, related_name="moderated_forums")
    thread_count = models.PositiveIntegerField(default=0)
    post_count = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("forum")
        verbose_name_plural = _("forums")
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("forum-detail", args=[self.pk])

    @property
    def topic(self) -> str:
        return f"forums.forum.{self.pk}"


class Thread(models.Model):
    class Kind(models.TextChoices):
        DISCUSSION = "discussion", _("Discussion")
        QUESTION = "question", _("Question")

    forum = models.ForeignKey(Forum, on_delete=models.CASCADE, related_name="threads")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="forum_threads")
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.DISCUSSION)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    is_locked = models.BooleanField(_("locked"), default=False)
    is_pinned = models.BooleanField(_("pinned"), default=False)
    is_deleted = models.BooleanField(default=False)
    accepted_post = models.ForeignKey(
        "Post", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    post_count = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("thread")
        verbose_name_plural = _("threads")
        indexes = [models.Index(fields=["forum", "-is_pinned", "-last_activity_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("forum-thread", args=[self.pk])

    @property
    def topic(self) -> str:
        return f"forums.thread.{self.pk}"


class Post(models.Model):
    """A post of a thread (the first one opens it). ``body_html`` is sanitised."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="forum_posts")
    reply_to = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    body = models.TextField(_("text"), help_text=_("Markdown."))
    body_html = models.TextField(editable=False)  # hub/sanitize.py
    # Denormalised {emoji: count}: a page of posts reads reactions without a join.
    reaction_counts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    is_deleted = models.BooleanField(default=False)
    is_hidden = models.BooleanField(default=False)
    hidden_reason = models.CharField(max_length=200, blank=True)
    # Hidden because trusted members' flags reached the space's threshold: it waits for a
    # moderator (uphold keeps it hidden, dismiss restores it).
    hidden_by_flags = models.BooleanField(default=False)
    # A wiki post: members of the trust level ``WIKI_EDIT_LEVEL`` and above may edit it.
    is_wiki = models.BooleanField(_("wiki"), default=False)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        indexes = [
            models.Index(fields=["thread", "id"]),
            models.Index(fields=["author", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} in {self.thread_id}"


class PostRevision(models.Model):
    """What a post said before an edit (the visible history)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    editor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    body_html = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"revision of post {self.post_id}"


def attachment_path(instance: Attachment, filename: str) -> str:
    """Names of attachments stored earlier (kept: migrations refer to it)."""
    return f"forums/{instance.uploader_id}/{filename}"


class Attachment(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="attachments")
    uploader = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    # An unguessable stored name; ``name`` is the uploader's, for display and download.
    file = models.FileField(upload_to=RandomName("forums"), db_index=True)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    is_image = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class LibraryItem(models.Model):
    """Learner-contributed content for a course or a community library, reviewed by trainers."""

    class Kind(models.TextChoices):
        ARTICLE = "article", _("Article")
        LINK = "link", _("Link")
        FILE = "file", _("File")
        VIDEO = "video", _("Short video")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="library_items")
    course = models.ForeignKey(
        "classrooms.Course",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="library_items",
        verbose_name=_("course"),
    )
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="library_items")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    body_html = models.TextField(editable=False, blank=True)
    url = models.URLField(_("link"), blank=True)
    file = models.FileField(upload_to=RandomName("library"), blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    rejection_reason = models.CharField(max_length=500, blank=True)
    reviewed_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reaction_counts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("library item")
        verbose_name_plural = _("library items")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("library-item", args=[self.pk])


class ItemComment(models.Model):
    item = models.ForeignKey(LibraryItem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    body_html = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    is_deleted = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.item_id}"


class Reaction(models.Model):
    """One person's emoji on a post or on a library item."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(
        Post, on_delete=models.CASCADE, null=True, blank=True, related_name="reactions"
    )
    item = models.ForeignKey(
        LibraryItem, on_delete=models.CASCADE, null=True, blank=True, related_name="reactions"
    )
    emoji = models.CharField(max_length=20, choices=Emoji.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(post__isnull=False, item__isnull=True)
                | Q(post__isnull=True, item__isnull=False),
                name="reaction_on_post_or_item",
            ),
            models.UniqueConstraint(
                fields=["user", "post", "emoji"],
                condition=Q(post__isnull=False),
                name="one_reaction_per_post_emoji",
            ),
            models.UniqueConstraint(
                fields=["user", "item", "emoji"],
                condition=Q(item__isnull=False),
                name="one_reaction_per_item_emoji",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id}"


class Subscription(models.Model):
    """Following a thread or a whole forum."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="forum_subscriptions")
    forum = models.ForeignKey(Forum, on_delete=models.CASCADE, null=True, blank=True)
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(forum__isnull=False, thread__isnull=True)
                | Q(forum__isnull=True, thread__isnull=False),
                name="subscription_to_forum_or_thread",
            ),
            models.UniqueConstraint(
                fields=["user", "forum"], condition=Q(forum__isnull=False), name="one_forum_sub"
            ),
            models.UniqueConstraint(
                fields=["user", "thread"], condition=Q(thread__isnull=False), name="one_thread_sub"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.thread_id or self.forum_id}"


class DigestState(models.Model):
    """When a person's last daily digest was sent (the job is idempotent per day)."""

    user = models.OneToOneField(USER, on_delete=models.CASCADE, related_name="+")
    last_sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"digest of {self.user_id}"


class Flag(models.Model):
    class Reason(models.TextChoices):
        SPAM = "spam", _("Spam")
        OFFENSIVE = "offensive", _("Offensive or abusive")
        OFF_TOPIC = "off_topic", _("Off topic")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACTED = "acted", _("Acted on")
        DISMISSED = "dismissed", _("Dismissed")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="flags")
    reporter = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    # What this flag counts towards hiding the post: the reporter's trust level's weight
    # when they flagged (``FLAG_WEIGHTS``; a new member's flag reaches the queue but weighs 0).
    weight = models.PositiveSmallIntegerField(default=1)
    resolved_by = models.ForeignKey(
        USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "reporter"],
                condition=Q(status="open"),
                name="one_open_flag_per_reporter",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} on post {self.post_id}"


class Suspension(models.Model):
    """``user`` may read but not write in ``forum`` until ``until``."""

    forum = models.ForeignKey(Forum, on_delete=models.CASCADE, related_name="suspensions")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="forum_suspensions")
    until = models.DateTimeField()
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user_id} suspended from {self.forum_id}"


class ModerationLog(models.Model):
    """Append-only audit log of moderator actions."""

    actor = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=40)
    forum = models.ForeignKey(Forum, on_delete=models.CASCADE, null=True, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.SET_NULL, null=True, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.SET_NULL, null=True, related_name="+")
    target_user = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id}"


class ThreadEvent(models.Model):
    """One durable event of ``forums.thread.<id>``; its id is the event id (append-only).

    Replays read the post's *current* state, so a hidden post's text never replays.
    """

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=40)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["thread", "id"])]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class ThreadRead(models.Model):
    """How far a person has read a thread: the last post they were shown.

    A thread with no row for someone is *new* to them (if recent); one whose posts go past
    ``last_read_post_id`` has *unread* posts. Only ever moves forward.
    """

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="forum_reads")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="reads")
    last_read_post_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "thread"], name="one_read_mark")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.thread_id} to {self.last_read_post_id}"


# -- trust levels (issue 22: Discourse-like earned rights) -------------------------------------
class TrustLevel(models.Model):
    """A person's trust level in a space's forums (0-4), as last computed, and its pin.

    ``stats`` is what the level was computed from (shown on the member's page). A pinned
    level (set by a space admin) wins over the computed one until it is unpinned.
    """

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="trust_levels")
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="trust_levels")
    level = models.PositiveSmallIntegerField(default=0)
    pinned_level = models.PositiveSmallIntegerField(null=True, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "space"], name="one_trust_level")]

    def __str__(self) -> str:
        return f"{self.user_id} at level {self.level} in {self.space_id}"

    @property
    def effective(self) -> int:
        return self.level if self.pinned_level is None else self.pinned_level


class TrustChange(models.Model):
    """History: each change of a person's level (promotion, demotion, pin, unpin)."""

    class Reason(models.TextChoices):
        PROMOTED = "promoted", _("Promoted")
        DEMOTED = "demoted", _("Demoted after upheld flags")
        PINNED = "pinned", _("Pinned by an admin")
        UNPINNED = "unpinned", _("Unpinned by an admin")

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="+")
    old_level = models.PositiveSmallIntegerField()
    new_level = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    actor = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.old_level} -> {self.new_level}"


class TrustVisit(models.Model):
    """A day on which a person read something in a space's forums ("days visited")."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "space", "day"], name="one_visit_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.space_id} on {self.day}"


class TrustSettings(models.Model):
    """A space's own thresholds: what each level needs, and the flag weight that hides."""

    space = models.OneToOneField(Space, on_delete=models.CASCADE, related_name="trust_settings")
    # {"1": {"topics_read": 3, ...}, ...}: only what differs from the defaults.
    requirements = models.JSONField(default=dict, blank=True)
    flag_hide_weight = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"trust settings of {self.space_id}"
