"""Reads of the blogs, the permission predicates (defined once, here) and the payloads that
REST, the WebSocket topics and the pages share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from blogs.models import Blog, BlogComment, BlogFollow, BlogImage, BlogPost, BlogReaction, FeedEvent
from hub.accounts.selectors import is_space_member, spaces_of


# -- permissions ---------------------------------------------------------------------------
def can_read_blog(*, user: Any, blog: Blog) -> bool:
    """Members of the blog's space (a team's blog too: teams share what they write)."""
    return is_space_member(user=user, space=blog.space_id)


def can_write_blog(*, user: Any, blog: Blog) -> bool:
    """A person's blog: that person; a team's: its members and its manager (while they are
    members of the space)."""
    if not is_space_member(user=user, space=blog.space_id):
        return False
    if blog.owner_id is not None:
        return blog.owner_id == user.pk
    team = blog.team
    return team.manager_id == user.pk or team.members.filter(pk=user.pk).exists()


def can_read_post(*, user: Any, post: BlogPost) -> bool:
    """Published posts: the blog's readers; drafts: its writers only."""
    if post.is_published:
        return can_read_blog(user=user, blog=post.blog)
    return can_write_blog(user=user, blog=post.blog)


def image_file_name(user: Any, name: str) -> str | None:
    """The display name of the blog image stored as ``name`` if ``user`` may read it
    (hub/files.py): whoever may read the blog, while they are in its space."""
    image = BlogImage.objects.filter(file=name).select_related("blog").first()
    if image is None or not can_read_blog(user=user, blog=image.blog):
        return None
    return image.name


# -- reads -----------------------------------------------------------------------------------
def blogs_for(*, user: Any, space_id: int | None = None) -> QuerySet[Blog]:
    """The blogs ``user`` may read (those of their spaces), optionally of one space."""
    blogs = Blog.objects.filter(space__in=spaces_of(user=user)).select_related(
        "owner", "team", "space"
    )
    if space_id is not None:
        blogs = blogs.filter(space_id=space_id)
    return blogs


def writable_blogs(*, user: Any, space_id: int) -> list[Blog]:
    """The blogs of the space ``user`` may write in (their own, their teams')."""
    if not is_space_member(user=user, space=space_id):
        return []
    return list(
        Blog.objects.filter(space_id=space_id)
        .filter(Q(owner=user) | Q(team__members=user) | Q(team__manager=user))
        .select_related("owner", "team")
        .distinct()
        .order_by("title", "id")
    )


def published_posts(*, user: Any, space_id: int | None = None) -> QuerySet[BlogPost]:
    """Published posts of the blogs ``user`` may read, the latest first (the feed)."""
    return (
        BlogPost.objects.filter(
            status=BlogPost.Status.PUBLISHED, blog__in=blogs_for(user=user, space_id=space_id)
        )
        .select_related("blog", "author")
        .order_by("-published_at", "-id")
    )


def blog_posts_for(*, user: Any, blog: Blog) -> QuerySet[BlogPost]:
    """A blog's posts as ``user`` sees them: published ones, and drafts for its writers."""
    posts = blog.posts.select_related("author", "blog").order_by("-published_at", "-created_at")
    if not can_write_blog(user=user, blog=blog):
        posts = posts.filter(status=BlogPost.Status.PUBLISHED)
    return posts


def post_comments(*, post: BlogPost) -> QuerySet[BlogComment]:
    return post.comments.filter(is_deleted=False).select_related("author").order_by("id")


def comments_after(*, post_id: int, after_id: int, limit: int) -> list[BlogComment]:
    return list(
        BlogComment.objects.filter(post_id=post_id, id__gt=after_id, is_deleted=False)
        .select_related("author")
        .order_by("id")[:limit]
    )


def feed_events_after(*, space_id: int, after_id: int, limit: int) -> list[FeedEvent]:
    return list(
        FeedEvent.objects.filter(
            space_id=space_id, id__gt=after_id, post__status=BlogPost.Status.PUBLISHED
        )
        .select_related("post__blog", "post__author")
        .order_by("id")[:limit]
    )


def last_feed_event_id(*, space_id: int) -> int:
    return (
        FeedEvent.objects.filter(space_id=space_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or 0
    )


def my_reactions(*, user: Any, post: BlogPost) -> list[str]:
    return sorted(BlogReaction.objects.filter(user=user, post=post).values_list("emoji", flat=True))


def is_following(*, user: Any, blog: Blog) -> bool:
    return BlogFollow.objects.filter(user=user, blog=blog).exists()


def home_feed(*, user: Any, space_id: int | None) -> dict[str, Any]:
    """The space's latest blog posts and the feed topic, for the home page's section."""
    if space_id is None:
        return {"posts": [], "topics": []}
    return {
        "posts": list(published_posts(user=user, space_id=space_id)[:5]),
        "topics": [f"blogs.space.{space_id}"],
    }


# -- payloads --------------------------------------------------------------------------------
def _person(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "name": user.name}


def blog_payload(blog: Blog) -> dict[str, Any]:
    return {
        "id": blog.pk,
        "space": blog.space_id,
        "title": blog.title,
        "description": blog.description,
        "owner": _person(blog.owner) if blog.owner_id else None,
        "team": {"id": blog.team_id, "name": blog.team.name} if blog.team_id else None,
        "created_at": blog.created_at,
        "url": blog.get_absolute_url(),
    }


def post_payload(post: BlogPost, *, mine: Iterable[str] = ()) -> dict[str, Any]:
    return {
        "id": post.pk,
        "blog": {"id": post.blog_id, "title": post.blog.title},
        "space": post.blog.space_id,
        "author": _person(post.author),
        "title": post.title,
        "body": post.body,
        "body_html": post.body_html,
        "status": post.status,
        "published_at": post.published_at,
        "created_at": post.created_at,
        "updated_at": post.updated_at,
        "reactions": {k: v for k, v in (post.reaction_counts or {}).items() if v},
        "mine": sorted(mine),
        "comment_count": post.comment_count,
        "topic": post.topic,
        "url": post.get_absolute_url(),
    }


def feed_item_payload(post: BlogPost) -> dict[str, Any]:
    """A post in the space's feed: no text beyond an excerpt."""
    from hub import sanitize

    return {
        "id": post.pk,
        "blog": {"id": post.blog_id, "title": post.blog.title},
        "author": _person(post.author),
        "title": post.title,
        "excerpt": sanitize.plain(post.body_html)[:280],
        "published_at": post.published_at,
        "url": post.get_absolute_url(),
    }


def comment_payload(comment: BlogComment) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "post": comment.post_id,
        "author": _person(comment.author),
        "body_html": "" if comment.is_deleted else comment.body_html,
        "created_at": comment.created_at,
        "is_deleted": comment.is_deleted,
    }
