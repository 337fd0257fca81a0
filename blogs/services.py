"""Every write of the blogs: permission inside, limits inside, events on commit.

REST (``api.py``), pages (``views.py``) and the WebSocket actions (``realtime.py``) call
these functions, so they agree on who may do what.
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from blogs.models import (
    Blog,
    BlogComment,
    BlogFollow,
    BlogImage,
    BlogPost,
    BlogReaction,
    FeedEvent,
)
from blogs.selectors import (
    can_read_blog,
    can_read_post,
    can_write_blog,
    comment_payload,
    feed_item_payload,
)
from forums.models import Emoji
from forums.services import reaction_toggle
from hub import realtime, sanitize
from hub.accounts.models import Space, Team, User
from hub.accounts.selectors import is_space_member
from hub.api import RateLimited
from hub.files import check_image, display_name, sniff_upload
from hub.notify import notify

MAX_BODY_CHARS = 50_000
MAX_COMMENT_CHARS = 5_000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
# Writes per person (posts, comments, images) in a rolling minute and hour.
WRITES_PER_MINUTE = 10
IMAGES_PER_HOUR = 30


def space_topic(space_id: int) -> str:
    return f"blogs.space.{space_id}"


def _text(value: str, field: str, max_length: int) -> str:
    value = sanitize.plain(value or "").strip()
    if not value:
        raise ValidationError({field: _("This field is required.")})
    return value[:max_length]


def _require_writer(user: User, blog: Blog) -> None:
    if not can_read_blog(user=user, blog=blog):
        raise PermissionDenied(_("You are not a member of this blog's space."))
    if not can_write_blog(user=user, blog=blog):
        raise PermissionDenied(_("Only the blog's author or team writes in it."))


def _check_rate(user: User) -> None:
    since = timezone.now() - timedelta(minutes=1)
    recent = (
        BlogPost.objects.filter(author=user, updated_at__gte=since).count()
        + BlogComment.objects.filter(author=user, created_at__gte=since).count()
    )
    if recent >= WRITES_PER_MINUTE:
        raise RateLimited(detail=_("You are writing too fast; wait a minute."), wait=60)


# -- blogs -----------------------------------------------------------------------------------
@transaction.atomic
def blog_create(
    *, actor: User, space: Space, title: str, description: str = "", team: Team | None = None
) -> Blog:
    """A person opens their blog in a space (one each), or a team's member or manager opens
    the team's (one a team)."""
    if not is_space_member(user=actor, space=space.pk):
        raise PermissionDenied(_("You are not a member of this space."))
    title = _text(title, "title", 200)
    description = sanitize.plain(description or "").strip()[:1000]
    if team is not None:
        if team.space_id != space.pk:
            raise ValidationError({"team": _("This team belongs to another space.")})
        if team.manager_id != actor.pk and not team.members.filter(pk=actor.pk).exists():
            raise PermissionDenied(_("Only the team's members open its blog."))
        if Blog.objects.filter(team=team).exists():
            raise ValidationError({"team": _("This team already has a blog.")})
        owner = None
    else:
        if Blog.objects.filter(space=space, owner=actor).exists():
            raise ValidationError({"space": _("You already have a blog in this space.")})
        owner = actor
    try:
        with transaction.atomic():
            return Blog.objects.create(
                space=space, owner=owner, team=team, title=title, description=description
            )
    except IntegrityError:
        # Two requests at once: the other one made it.
        raise ValidationError({"space": _("This blog already exists.")}) from None


@transaction.atomic
def blog_update(*, actor: User, blog: Blog, title: str, description: str = "") -> Blog:
    blog = Blog.objects.select_for_update(of=("self",)).select_related("team").get(pk=blog.pk)
    _require_writer(actor, blog)
    blog.title = _text(title, "title", 200)
    blog.description = sanitize.plain(description or "").strip()[:1000]
    blog.save(update_fields=["title", "description"])
    return blog


@transaction.atomic
def follow_set(*, user: User, blog: Blog, on: bool) -> bool:
    """Follow a blog (a notification on each new post) or stop."""
    if not can_read_blog(user=user, blog=blog):
        raise PermissionDenied(_("You are not a member of this blog's space."))
    if on:
        try:
            with transaction.atomic():
                BlogFollow.objects.get_or_create(user=user, blog=blog)
        except IntegrityError:
            pass  # followed by another request at the same moment
    else:
        BlogFollow.objects.filter(user=user, blog=blog).delete()
    return on


# -- posts -----------------------------------------------------------------------------------
def _render(body: str) -> str:
    """Rendered before any transaction opens (no lock held while it runs)."""
    html = sanitize.markdown(body, max_chars=MAX_BODY_CHARS, field="body")
    if not sanitize.plain(html).strip() and "<img" not in html:
        raise ValidationError({"body": _("Write something.")})
    return html


def post_create(*, author: User, blog: Blog, title: str, body: str) -> BlogPost:
    """A draft: nobody but the blog's writers sees it until it is published."""
    body_html = _render(body)
    return _post_create(author=author, blog=blog, title=title, body=body, body_html=body_html)


@transaction.atomic
def _post_create(*, author: User, blog: Blog, title: str, body: str, body_html: str) -> BlogPost:
    blog = Blog.objects.select_related("team").get(pk=blog.pk)
    _require_writer(author, blog)
    _check_rate(author)
    return BlogPost.objects.create(
        blog=blog, author=author, title=_text(title, "title", 200), body=body, body_html=body_html
    )


def post_update(*, editor: User, post: BlogPost, title: str, body: str) -> BlogPost:
    """Change a draft or a published post (its writers); a published one changes live."""
    body_html = _render(body)
    return _post_update(editor=editor, post=post, title=title, body=body, body_html=body_html)


@transaction.atomic
def _post_update(
    *, editor: User, post: BlogPost, title: str, body: str, body_html: str
) -> BlogPost:
    post = (
        BlogPost.objects.select_for_update(of=("self",))
        .select_related("blog__team", "author")
        .get(pk=post.pk)
    )
    _require_writer(editor, post.blog)
    _check_rate(editor)
    post.title, post.body, post.body_html = _text(title, "title", 200), body, body_html
    post.save(update_fields=["title", "body", "body_html", "updated_at"])
    if post.is_published:
        realtime.publish(post.topic, "post.updated", {"id": post.pk, "title": post.title})
    return post


@transaction.atomic
def post_publish(*, editor: User, post: BlogPost) -> BlogPost:
    """Publish a draft: in the space's feed (live, ``blogs.space.<id>``), and the blog's
    followers are told. Publishing twice changes nothing."""
    post = (
        BlogPost.objects.select_for_update(of=("self",))
        .select_related("blog__team", "author")
        .get(pk=post.pk)
    )
    _require_writer(editor, post.blog)
    if post.is_published:
        return post
    post.status, post.published_at = BlogPost.Status.PUBLISHED, timezone.now()
    post.save(update_fields=["status", "published_at", "updated_at"])
    topic = space_topic(post.blog.space_id)
    realtime.hold_topic_order(topic)
    event = FeedEvent.objects.create(space_id=post.blog.space_id, post=post, type="post.published")
    realtime.publish(topic, "post.published", feed_item_payload(post), id=event.pk)
    followers = User.objects.filter(
        blog_follows__blog=post.blog,
        is_active=True,
        space_memberships__space_id=post.blog.space_id,
    ).exclude(pk=editor.pk)
    notify(
        recipients=followers.distinct(),
        kind="blogs.post",
        verb=_("New post in %(blog)s: %(title)s") % {"blog": post.blog.title, "title": post.title},
        actor=editor,
        target=post,
        description=sanitize.plain(post.body_html)[:300],
        url=post.get_absolute_url(),
        topic=post.topic,
    )
    return post


@transaction.atomic
def post_unpublish(*, editor: User, post: BlogPost) -> BlogPost:
    """Back to a draft: out of the feed and hidden from readers."""
    post = (
        BlogPost.objects.select_for_update(of=("self",))
        .select_related("blog__team")
        .get(pk=post.pk)
    )
    _require_writer(editor, post.blog)
    if post.is_published:
        post.status = BlogPost.Status.DRAFT
        post.save(update_fields=["status", "updated_at"])
        realtime.publish(space_topic(post.blog.space_id), "post.withdrawn", {"id": post.pk})
    return post


@transaction.atomic
def post_delete(*, actor: User, post: BlogPost) -> None:
    post = (
        BlogPost.objects.select_for_update(of=("self",))
        .select_related("blog__team")
        .get(pk=post.pk)
    )
    _require_writer(actor, post.blog)
    if post.is_published:
        realtime.publish(space_topic(post.blog.space_id), "post.withdrawn", {"id": post.pk})
    post.delete()


# -- readers: comments and reactions ---------------------------------------------------------
def _require_reader(user: User, post: BlogPost) -> None:
    if not can_read_post(user=user, post=post):
        raise PermissionDenied(_("You cannot see this post."))
    if not post.is_published:
        raise ValidationError(_("Only published posts take comments and reactions."))


def comment_create(*, author: User, post: BlogPost, body: str) -> BlogComment:
    body_html = sanitize.markdown(body, max_chars=MAX_COMMENT_CHARS, field="body")
    if not sanitize.plain(body_html).strip():
        raise ValidationError({"body": _("Write something.")})
    return _comment_create(author=author, post=post, body=body, body_html=body_html)


@transaction.atomic
def _comment_create(*, author: User, post: BlogPost, body: str, body_html: str) -> BlogComment:
    post = (
        BlogPost.objects.select_for_update(of=("self",))
        .select_related("blog__team", "author")
        .get(pk=post.pk)
    )
    _require_reader(author, post)
    _check_rate(author)
    realtime.hold_topic_order(post.topic)
    comment = BlogComment.objects.create(post=post, author=author, body=body, body_html=body_html)
    BlogPost.objects.filter(pk=post.pk).update(comment_count=F("comment_count") + 1)
    realtime.publish(post.topic, "comment.created", comment_payload(comment), id=comment.pk)
    if post.author_id != author.pk:
        notify(
            recipients=[post.author],
            kind="blogs.comment",
            verb=_("%(name)s commented on “%(title)s”")
            % {"name": author.name, "title": post.title},
            actor=author,
            target=post,
            description=sanitize.plain(body_html)[:300],
            url=f"{post.get_absolute_url()}#comment-{comment.pk}",
            topic=post.topic,
        )
    return comment


@transaction.atomic
def comment_delete(*, actor: User, comment: BlogComment) -> BlogComment:
    """Its author, or the blog's writers (their blog, their rules)."""
    comment = BlogComment.objects.select_related("post__blog__team").get(pk=comment.pk)
    post = comment.post
    if not can_read_post(user=actor, post=post):
        raise PermissionDenied(_("You cannot see this post."))
    if comment.author_id != actor.pk and not can_write_blog(user=actor, blog=post.blog):
        raise PermissionDenied(_("Only its author or the blog's writers delete a comment."))
    if not comment.is_deleted:
        comment.is_deleted = True
        comment.save(update_fields=["is_deleted"])
        BlogPost.objects.filter(pk=post.pk, comment_count__gt=0).update(
            comment_count=F("comment_count") - 1
        )
        realtime.publish(post.topic, "comment.deleted", {"id": comment.pk})
    return comment


@transaction.atomic
def post_react(*, user: User, post: BlogPost, emoji: str, on: bool = True) -> BlogPost:
    """Add (``on``) or take back one reaction, as on forum posts; counts change live."""
    if emoji not in Emoji.values:
        raise ValidationError({"emoji": _("Unknown reaction.")})
    post = (
        BlogPost.objects.select_for_update(of=("self",))
        .select_related("blog__team", "author")
        .get(pk=post.pk)
    )
    _require_reader(user, post)
    if reaction_toggle(BlogReaction, post, user=user, emoji=emoji, on=on, post=post):
        realtime.publish(
            post.topic, "reaction.changed", {"id": post.pk, "reactions": post.reaction_counts}
        )
    return post


# -- images ----------------------------------------------------------------------------------
@transaction.atomic
def image_upload(*, user: User, blog: Blog, file: UploadedFile) -> BlogImage:
    """An image for the blog's posts (PNG, JPEG, GIF, WebP; the bytes decide, never the
    name): stored under a random name, read through the blog's permission."""
    blog = Blog.objects.select_related("team").get(pk=blog.pk)
    _require_writer(user, blog)
    if (
        BlogImage.objects.filter(
            uploader=user, created_at__gte=timezone.now() - timedelta(hours=1)
        ).count()
        >= IMAGES_PER_HOUR
    ):
        raise RateLimited(detail=_("Too many images this hour."), wait=3600)
    if file.size > MAX_IMAGE_BYTES:
        raise ValidationError({"file": _("This image is too large (5 MB at most).")})
    kind = sniff_upload(file)
    if kind not in IMAGE_TYPES:
        raise ValidationError({"file": _("Only PNG, JPEG, GIF or WebP images.")})
    check_image(file, field="file")
    name = display_name(os.path.basename(file.name or ""), default=f"image.{IMAGE_TYPES[kind]}")
    image = BlogImage(blog=blog, uploader=user, name=name, content_type=kind, size=file.size)
    image.file.save(f"upload.{IMAGE_TYPES[kind]}", file, save=False)
    image.save()
    return image
