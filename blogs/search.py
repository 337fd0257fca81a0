"""Blog posts in search (search/registry.py): published posts, found by whoever may read
their blog (the members of its space), as the blog's own pages decide."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from search.registry import Document, SearchSource, register


def _document(post: Any) -> Document | None:
    if not post.is_published:
        return None  # a draft, or put back to draft: not findable (its document goes)
    return Document(
        space_id=post.blog.space_id,
        container_id=post.blog_id,
        author_id=post.author_id,
        created_at=post.published_at or post.created_at,
        title=post.title,
        body=post.search_text(),
        label=post.blog.title,
        has_attachment=False,
    )


def _scope(user: Any) -> QuerySet:
    """The blogs ``user`` may read: their posts' documents carry the blog as container."""
    from blogs.selectors import blogs_for

    return blogs_for(user=user).values("id")


def register_blog_posts() -> None:
    from blogs.models import Blog, BlogPost

    register(
        SearchSource(
            key="blog_post",
            where="blog",
            where_label=_("Blogs"),
            label=_("Blog post"),
            model=BlogPost,
            document=_document,
            scope=_scope,
            url=lambda doc: reverse("blog-post", args=[doc.object_id]),
            queryset=lambda: BlogPost.objects.select_related("blog"),
            # A blog renamed: its posts' label changes.
            watch={Blog: lambda blog: list(blog.posts.values_list("id", flat=True))},
        )
    )
