"""Blogs of a space (issue 22): a person's or a team's blog, its posts (Markdown, drafts
and publishing), comments, reactions, followers, uploaded images and the space's feed.

Data only (ARCHITECTURE §2): every write goes through ``blogs/services.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from forums.models import Emoji
from hub import sanitize
from hub.accounts.models import Space, Team
from hub.files import RandomName

USER = settings.AUTH_USER_MODEL


class Blog(models.Model):
    """A person's blog in a space (``owner``) or a team's (``team``): exactly one of them."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="blogs")
    owner = models.ForeignKey(
        USER, on_delete=models.CASCADE, null=True, blank=True, related_name="blogs"
    )
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="blogs"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.CharField(_("description"), max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("blog")
        verbose_name_plural = _("blogs")
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=False, team__isnull=True)
                | Q(owner__isnull=True, team__isnull=False),
                name="blog_of_a_person_or_a_team",
            ),
            models.UniqueConstraint(
                fields=["space", "owner"],
                condition=Q(owner__isnull=False),
                name="one_blog_a_person",
            ),
            models.UniqueConstraint(
                fields=["team"], condition=Q(team__isnull=False), name="one_blog_a_team"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("blog-detail", args=[self.pk])


class BlogPost(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    blog = models.ForeignKey(Blog, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="blog_posts")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), help_text=_("Markdown."))
    body_html = models.TextField(editable=False)  # hub/sanitize.py
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Denormalised {emoji: count}, as forum posts keep theirs.
    reaction_counts = models.JSONField(default=dict, blank=True)
    comment_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("blog post")
        verbose_name_plural = _("blog posts")
        indexes = [models.Index(fields=["blog", "status", "-published_at"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("blog-post", args=[self.pk])

    @property
    def topic(self) -> str:
        return f"blogs.post.{self.pk}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def search_text(self) -> str:
        """The post as plain text (title, then the text without markup), for search."""
        return f"{self.title}\n{sanitize.plain(self.body_html)}".strip()


class BlogComment(models.Model):
    post = models.ForeignKey(BlogPost, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    body_html = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    is_deleted = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["post", "id"])]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.post_id}"


class BlogReaction(models.Model):
    """One person's emoji on a post (the forums' fixed set)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(BlogPost, on_delete=models.CASCADE, related_name="reactions")
    emoji = models.CharField(max_length=20, choices=Emoji.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "post", "emoji"], name="one_blog_reaction_per_emoji"
            )
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id}"


class BlogFollow(models.Model):
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="blog_follows")
    blog = models.ForeignKey(Blog, on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "blog"], name="one_blog_follow")]

    def __str__(self) -> str:
        return f"{self.user_id} follows blog {self.blog_id}"


class BlogImage(models.Model):
    """An image uploaded for a blog's posts, read by whoever may read the blog."""

    blog = models.ForeignKey(Blog, on_delete=models.CASCADE, related_name="images")
    uploader = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=RandomName("blogs"), db_index=True)
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class FeedEvent(models.Model):
    """One durable event of ``blogs.space.<id>`` (a post published); its id is the event id,
    so a post drafted long ago and published now still comes after earlier events."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(BlogPost, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["space", "id"])]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
