"""The built-in search sources: chat messages, forum topics and posts, library items and
courses. Each permission filter reuses the owning app's own selector, so search never
shows what the app itself would not (docs/SEARCH.md)."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from search.registry import Document, SearchSource, register

# -- chat -----------------------------------------------------------------------------------


def _message_document(message: Any) -> Document | None:
    if message.deleted_at is not None:
        return None
    conversation = message.conversation
    return Document(
        space_id=conversation.space_id,
        container_id=conversation.pk,
        author_id=message.sender_id,
        created_at=message.created_at,
        body=message.body,
        label=conversation.title or str(conversation.get_kind_display()),
        # Annotated by the source's queryset (one query for a whole batch).
        has_attachment=getattr(message, "has_attachments", None)
        if hasattr(message, "has_attachments")
        else message.attachments.exists(),
    )


def _message_scope(user: Any) -> QuerySet:
    """Conversations the person reads now: a removed member reads none of it any more."""
    from messaging.models import Membership
    from messaging.selectors import READABLE_STATES

    return Membership.objects.filter(user_id=user.pk, state__in=READABLE_STATES).values(
        "conversation_id"
    )


def _message_url(doc: Any) -> str:
    return reverse("chat-conversation", args=[doc.container_id]) + f"#message-{doc.object_id}"


def _message_source() -> SearchSource:
    from messaging.models import Attachment, Message

    return SearchSource(
        key="message",
        where="conversation",
        where_label=_("Conversations"),
        label=_("Message"),
        model=Message,
        document=_message_document,
        scope=_message_scope,
        url=_message_url,
        queryset=lambda: Message.objects.select_related("conversation").annotate(
            has_attachments=Exists(Attachment.objects.filter(message=OuterRef("pk")))
        ),
        watch={Attachment: lambda a: [a.message_id] if a.message_id else []},
        # Chat writes messages with raw SQL and QuerySet.update (no save hooks): its
        # services announce each created, edited or deleted message.
        events=("messaging.message_changed",),
        save_hooks=False,
        # A new message costs its sender nothing here (the CPU of a chat message is
        # measured, docs/PERFORMANCE.md): a catch-up indexes the new ones in bulk.
        created_events=("messaging.message_created",),
    )


# -- forums ---------------------------------------------------------------------------------


def _forum_scope(user: Any) -> QuerySet:
    from forums.selectors import forums_for

    return forums_for(user=user).values("id")


def _thread_document(thread: Any) -> Document | None:
    if thread.is_deleted:
        return None
    return Document(
        space_id=thread.forum.space_id,
        container_id=thread.forum_id,
        author_id=thread.author_id,
        created_at=thread.created_at,
        title=thread.title,
        label=thread.forum.title,
    )


def _post_document(post: Any) -> Document | None:
    thread = post.thread
    if post.is_deleted or post.is_hidden or thread.is_deleted:
        return None
    return Document(
        space_id=thread.forum.space_id,
        container_id=thread.forum_id,
        author_id=post.author_id,
        created_at=post.created_at,
        body=post.body,
        label=thread.title,
        has_attachment=post.attachments.exists(),
    )


def _thread_sources() -> list[SearchSource]:
    from forums.models import Attachment, Post, Thread

    return [
        SearchSource(
            key="forum_topic",
            where="forum",
            where_label=_("Forums"),
            label=_("Forum topic"),
            model=Thread,
            document=_thread_document,
            scope=_forum_scope,
            url=lambda doc: reverse("forum-thread", args=[doc.object_id]),
            queryset=lambda: Thread.objects.select_related("forum"),
        ),
        SearchSource(
            key="forum_post",
            where="forum",
            where_label=_("Forums"),
            label=_("Forum post"),
            model=Post,
            document=_post_document,
            scope=_forum_scope,
            url=_post_url,
            urls=_post_urls,
            queryset=lambda: Post.objects.select_related("thread__forum"),
            watch={
                # A topic renamed or deleted changes its posts' documents too.
                Thread: lambda t: Post.objects.filter(thread=t).values_list("id", flat=True),
                Attachment: lambda a: [a.post_id],
            },
        ),
    ]


def _post_url(doc: Any) -> str:
    return _post_urls([doc])[0]


def _post_urls(docs: list[Any]) -> list[str]:
    """The posts' links (in their topic), with one query for a page of hits."""
    from forums.models import Post

    threads = dict(
        Post.objects.filter(pk__in=[d.object_id for d in docs]).values_list("id", "thread_id")
    )
    return [
        reverse("forum-thread", args=[threads.get(d.object_id) or 0]) + f"#post-{d.object_id}"
        for d in docs
    ]


# -- library --------------------------------------------------------------------------------


def _library_document(item: Any) -> Document:
    return Document(
        space_id=item.space_id,
        container_id=item.course_id,
        author_id=item.author_id,
        created_at=item.created_at,
        title=item.title,
        body=item.body,
        label=str(item.get_kind_display()),
        has_attachment=bool(item.file),
    )


def _library_scope(user: Any) -> QuerySet:
    """Approved items of the person's spaces and their own (reviewers: all of theirs)."""
    from forums.selectors import library_items_for

    return library_items_for(user=user).values("id")


def _library_source() -> SearchSource:
    from forums.models import LibraryItem

    return SearchSource(
        key="library_item",
        where="library",
        where_label=_("Library"),
        label=_("Library item"),
        model=LibraryItem,
        document=_library_document,
        scope=_library_scope,
        scope_column="object_id",
        url=lambda doc: reverse("library-item", args=[doc.object_id]),
    )


# -- courses --------------------------------------------------------------------------------


def _course_document(course: Any) -> Document:
    return Document(
        space_id=course.space_id,
        container_id=course.pk,
        author_id=None,
        created_at=course.created_at,
        title=course.title,
        body=course.summary,
    )


def _course_scope(user: Any) -> QuerySet:
    """Courses the person may see (a private course only to its people)."""
    from classrooms.selectors import courses_visible_to

    return courses_visible_to(user=user).values("id")


def _course_source() -> SearchSource:
    from classrooms.models import Course

    return SearchSource(
        key="course",
        where="course",
        where_label=_("Courses"),
        label=_("Course"),
        model=Course,
        document=_course_document,
        scope=_course_scope,
        scope_column="object_id",
        url=lambda doc: reverse("course-detail", args=[doc.object_id]),
    )


def register_builtin() -> None:
    for source in [_message_source(), *_thread_sources(), _library_source(), _course_source()]:
        register(source)
