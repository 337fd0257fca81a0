"""Reads of the forums, the permission predicates (defined once, here) and the payloads that
REST, the WebSocket topics and the pages share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from forums.models import (
    Attachment,
    Flag,
    Forum,
    ItemComment,
    LibraryItem,
    ModerationLog,
    Post,
    Reaction,
    Subscription,
    Suspension,
    Thread,
    ThreadEvent,
    ThreadRead,
)
from hub import files
from hub.accounts.models import Role
from hub.accounts.selectors import is_space_member, spaces_of

# Who moderates: admins everywhere; coordinators in the spaces they belong to; trainers in
# their spaces' community forums and their own courses' forums; anyone named as a forum's
# moderator.
MODERATOR_ROLES = (Role.COORDINATOR, Role.TRAINER)
REVIEWER_ROLES = (Role.TRAINER, Role.COORDINATOR, Role.ADMIN)


# -- permissions ---------------------------------------------------------------------------
def _course_ids_of(user: Any) -> QuerySet:
    """Courses whose forums ``user`` takes part in: enrolled in, or training."""
    from classrooms.models import Course

    return Course.objects.filter(Q(enrolments__user=user) | Q(trainers=user)).values("id")


def _session_ids_of(user: Any) -> QuerySet:
    """Sessions whose forums ``user`` takes part in: registered for (not cancelled), or training."""
    from sessions.models import ACTIVE_STATUSES, Session

    return Session.objects.filter(
        Q(registrations__user=user, registrations__status__in=ACTIVE_STATUSES) | Q(trainers=user)
    ).values("id")


def can_view_forum(*, user: Any, forum: Forum) -> bool:
    """Space members; a course's or a session's forum only for its learners or attendees,
    its trainers, and staff."""
    if not is_space_member(user=user, space=forum.space_id):
        return False
    if user.has_role(Role.ADMIN, Role.COORDINATOR):
        return True
    if forum.course_id is not None and not _course_ids_of(user).filter(id=forum.course_id).exists():
        return False
    if forum.session_id is not None:
        return _session_ids_of(user).filter(id=forum.session_id).exists()
    return True


def is_forum_moderator(*, user: Any, forum: Forum) -> bool:
    """The one moderator predicate of the forums."""
    if user.has_role(Role.ADMIN):
        return True
    if user.has_role(*MODERATOR_ROLES) and is_space_member(user=user, space=forum.space_id):
        if forum.course_id is None or user.has_role(Role.COORDINATOR):
            return True
        # A course's forum is moderated by that course's trainers.
        from classrooms.models import Course

        if Course.objects.filter(pk=forum.course_id, trainers=user).exists():
            return True
    return forum.moderators.filter(pk=user.pk).exists()


def moderated_forums(*, user: Any) -> QuerySet[Forum]:
    """Every forum ``user`` moderates (the same rule as ``is_forum_moderator``)."""
    if user.has_role(Role.ADMIN):
        return Forum.objects.all()
    rule = Q(moderators=user)
    if user.has_role(*MODERATOR_ROLES):
        rule |= Q(space__memberships__user=user)
    return Forum.objects.filter(rule).distinct()


def is_moderator_anywhere(*, user: Any) -> bool:
    return moderated_forums(user=user).exists()


def active_suspension(*, user: Any, forum: Forum) -> Suspension | None:
    return (
        Suspension.objects.filter(user=user, forum=forum, until__gt=timezone.now())
        .order_by("-until")
        .first()
    )


def can_view_thread(*, user: Any, thread: Thread) -> bool:
    if thread.is_deleted and not is_forum_moderator(user=user, forum=thread.forum):
        return False
    return can_view_forum(user=user, forum=thread.forum)


def can_review_library(*, user: Any, space_id: int) -> bool:
    return user.has_role(*REVIEWER_ROLES) and is_space_member(user=user, space=space_id)


def attachment_file_name(user: Any, name: str) -> str | None:
    """The display name of the post attachment stored as ``name`` if ``user`` may read it
    (hub/files.py): whoever may read the thread, while the post is shown (moderators see
    hidden and deleted posts' files too)."""
    attachment = Attachment.objects.filter(file=name).select_related("post__thread__forum").first()
    if attachment is None:
        return None
    post = attachment.post
    if not can_view_thread(user=user, thread=post.thread):
        return None
    if (post.is_hidden or post.is_deleted) and not is_forum_moderator(
        user=user, forum=post.thread.forum
    ):
        return None
    return attachment.name


def library_file_name(user: Any, name: str) -> str | None:
    """The download name of the library item's file stored as ``name`` if ``user`` may read
    the item (hub/files.py): the same rule as the library's list."""
    item = library_items_for(user=user).filter(file=name).first()
    if item is None:
        return None
    return files.download_name(item.title, item.file.name)


# -- queries -------------------------------------------------------------------------------
def forums_for(*, user: Any) -> QuerySet[Forum]:
    """The forums ``user`` may read (the same rule as ``can_view_forum``)."""
    forums = Forum.objects.filter(space__in=spaces_of(user=user)).select_related("space")
    if user.has_role(Role.ADMIN, Role.COORDINATOR):
        return forums
    return forums.filter(
        Q(course_id__isnull=True) | Q(course_id__in=_course_ids_of(user)),
        Q(session_id__isnull=True) | Q(session_id__in=_session_ids_of(user)),
    )


def forum_threads(*, forum: Forum) -> QuerySet[Thread]:
    return (
        Thread.objects.filter(forum=forum, is_deleted=False)
        .select_related("author")
        .order_by("-is_pinned", "-last_activity_at", "-id")
    )


# A thread nobody opened counts as new to a reader for this long after it was started.
NEW_THREAD_DAYS = 14


def forum_threads_for_reader(*, forum: Forum, user: Any) -> QuerySet[Thread]:
    """``forum_threads`` with what ``user`` has not read: ``unread`` (posts after their
    read mark) and ``is_new`` (a recent thread of someone else's they never opened).
    Two correlated subqueries per thread, on indexed columns: constant per page."""
    read_mark = ThreadRead.objects.filter(thread=OuterRef("pk"), user=user)
    unread_posts = (
        Post.objects.filter(thread=OuterRef("pk"), id__gt=OuterRef("last_read"), is_deleted=False)
        .order_by()
        .values("thread")
        .annotate(count=Count("id"))
        .values("count")
    )
    cutoff = timezone.now() - timedelta(days=NEW_THREAD_DAYS)
    return forum_threads(forum=forum).annotate(
        last_read=Subquery(read_mark.values("last_read_post_id")[:1]),
        unread=Coalesce(Subquery(unread_posts), 0),
        is_new=Case(
            When(Q(last_read__isnull=True, created_at__gte=cutoff) & ~Q(author=user), then=True),
            default=False,
            output_field=BooleanField(),
        ),
    )


def forums_with_unread(*, forums: QuerySet[Forum], user: Any) -> QuerySet[Forum]:
    """``forums`` with, for ``user``, ``new_threads`` (recent, never opened, someone
    else's) and ``unread_threads`` (opened, with posts since)."""
    cutoff = timezone.now() - timedelta(days=NEW_THREAD_DAYS)
    new = (
        Thread.objects.filter(forum=OuterRef("pk"), is_deleted=False, created_at__gte=cutoff)
        .exclude(author=user)
        .exclude(reads__user=user)
        .order_by()
        .values("forum")
        .annotate(count=Count("id"))
        .values("count")
    )
    unread = (
        Thread.objects.filter(
            forum=OuterRef("pk"),
            is_deleted=False,
            reads__user=user,
            posts__id__gt=F("reads__last_read_post_id"),
            posts__is_deleted=False,
        )
        .order_by()
        .values("forum")
        .annotate(count=Count("id", distinct=True))
        .values("count")
    )
    return forums.annotate(
        new_threads=Coalesce(Subquery(new), 0), unread_threads=Coalesce(Subquery(unread), 0)
    )


def threads_after(*, forum_id: int, after_id: int, limit: int) -> QuerySet[Thread]:
    return (
        Thread.objects.filter(forum_id=forum_id, id__gt=after_id, is_deleted=False)
        .select_related("author")
        .order_by("id")[:limit]
    )


def thread_posts(*, thread: Thread) -> QuerySet[Post]:
    """Posts of a thread in order, with what a page shows (a constant number of queries)."""
    return (
        Post.objects.filter(thread=thread)
        .select_related("author", "reply_to__author")
        .prefetch_related("attachments")
        .order_by("id")
    )


def thread_events_after(*, thread_id: int, after_id: int, limit: int) -> list[ThreadEvent]:
    return list(
        ThreadEvent.objects.filter(thread_id=thread_id, id__gt=after_id)
        .select_related("post__author", "post__reply_to__author")
        .prefetch_related("post__attachments")
        .order_by("id")[:limit]
    )


def last_thread_event_id(*, thread: Thread) -> int:
    return (
        ThreadEvent.objects.filter(thread=thread)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or 0
    )


def last_thread_id(*, forum: Forum) -> int:
    return (
        Thread.objects.filter(forum=forum).order_by("-id").values_list("id", flat=True).first() or 0
    )


def my_reactions(*, user: Any, posts: Iterable[Post]) -> dict[int, list[str]]:
    ids = [p.pk for p in posts]
    mine: dict[int, list[str]] = {}
    for post_id, emoji in Reaction.objects.filter(user=user, post_id__in=ids).values_list(
        "post_id", "emoji"
    ):
        mine.setdefault(post_id, []).append(emoji)
    return mine


def is_subscribed(*, user: Any, thread: Thread | None = None, forum: Forum | None = None) -> bool:
    return Subscription.objects.filter(user=user, thread=thread, forum=forum).exists()


def search_posts(*, user: Any, query: str, forum: Forum | None = None) -> QuerySet[Post]:
    """Visible posts matching ``query``: PostgreSQL full-text search, else a plain substring
    match over thread titles and post bodies (embedded mode)."""
    posts = Post.objects.filter(
        thread__forum__in=forums_for(user=user),
        is_hidden=False,
        is_deleted=False,
        thread__is_deleted=False,
    ).select_related("author", "thread", "thread__forum")
    if forum is not None:
        posts = posts.filter(thread__forum=forum)
    query = query.strip()
    if not query:
        return posts.none()
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        vector = SearchVector("thread__title", weight="A") + SearchVector("body", weight="B")
        search = SearchQuery(query, search_type="websearch")
        return (
            posts.annotate(_match=vector, rank=SearchRank(vector, search))
            .filter(_match=search)
            .order_by("-rank", "-id")
        )
    return posts.filter(Q(body__icontains=query) | Q(thread__title__icontains=query)).order_by(
        "-id"
    )


def open_flags_for(*, user: Any) -> QuerySet[Flag]:
    return (
        Flag.objects.filter(
            status=Flag.Status.OPEN, post__thread__forum__in=moderated_forums(user=user)
        )
        .select_related("post__author", "post__thread__forum", "reporter")
        .order_by("created_at", "id")
    )


def moderation_log_for(*, user: Any) -> QuerySet[ModerationLog]:
    return ModerationLog.objects.filter(forum__in=moderated_forums(user=user)).select_related(
        "actor", "target_user", "thread", "forum"
    )


def library_items_for(*, user: Any, status: str | None = None) -> QuerySet[LibraryItem]:
    """Approved items of the user's spaces, plus their own; reviewers see everything of
    the spaces they review."""
    qs = LibraryItem.objects.filter(space__in=spaces_of(user=user)).select_related("author")
    if not user.has_role(*REVIEWER_ROLES):
        qs = qs.filter(Q(status=LibraryItem.Status.APPROVED) | Q(author=user))
    if status:
        qs = qs.filter(status=status)
    return qs


def modules_for_library(*, user: Any, space_id: int) -> list[Any]:
    """Modules of the space's courses that ``user`` may edit: where an item can be added."""
    from classrooms.models import Module
    from classrooms.selectors import can_edit_course

    modules = Module.objects.filter(course__space_id=space_id).select_related("course")
    editable: dict[int, bool] = {}
    result = []
    for module in modules.order_by("course__title", "position"):
        if module.course_id not in editable:
            editable[module.course_id] = can_edit_course(user=user, course=module.course)
        if editable[module.course_id]:
            result.append(module)
    return result


def item_comments(*, item: LibraryItem) -> QuerySet[ItemComment]:
    return item.comments.filter(is_deleted=False).select_related("author")


# -- payloads ------------------------------------------------------------------------------
def _person(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "name": user.name}


def forum_payload(forum: Forum) -> dict[str, Any]:
    return {
        "id": forum.pk,
        "space": forum.space_id,
        "kind": forum.kind,
        "course_id": forum.course_id,
        "session_id": forum.session_id,
        "title": forum.title,
        "description": forum.description,
        "thread_count": forum.thread_count,
        "post_count": forum.post_count,
        "last_activity_at": forum.last_activity_at,
        "topic": forum.topic,
        "url": forum.get_absolute_url(),
    }


def thread_payload(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.pk,
        "forum": thread.forum_id,
        "title": thread.title,
        "kind": thread.kind,
        "tags": list(thread.tags or []),
        "author": _person(thread.author),
        "is_locked": thread.is_locked,
        "is_pinned": thread.is_pinned,
        "accepted_post": thread.accepted_post_id,
        "post_count": thread.post_count,
        "last_activity_at": thread.last_activity_at,
        "created_at": thread.created_at,
        "topic": thread.topic,
        "url": thread.get_absolute_url(),
    }


def post_payload(post: Post, *, mine: Iterable[str] = ()) -> dict[str, Any]:
    """One post as everyone sees it. Hidden or deleted posts carry no text at all."""
    gone = post.is_hidden or post.is_deleted
    return {
        "id": post.pk,
        "thread": post.thread_id,
        "author": _person(post.author),
        "reply_to": (
            {"id": post.reply_to_id, "author": post.reply_to.author.name}
            if post.reply_to_id and post.reply_to is not None
            else None
        ),
        "body": "" if gone else post.body,
        "body_html": "" if gone else post.body_html,
        "created_at": post.created_at,
        "edited_at": post.edited_at,
        "is_hidden": post.is_hidden,
        "hidden_by_flags": post.hidden_by_flags,
        "is_deleted": post.is_deleted,
        "is_wiki": post.is_wiki,
        "reactions": {k: v for k, v in (post.reaction_counts or {}).items() if v},
        "mine": sorted(mine),
        "attachments": [] if gone else [attachment_payload(a) for a in post.attachments.all()],
    }


def attachment_payload(attachment: Any) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "url": attachment.file.url,
        "size": attachment.size,
        "is_image": attachment.is_image,
    }


def revision_payload(revision: Any) -> dict[str, Any]:
    return {
        "id": revision.pk,
        "editor": revision.editor.name,
        "body": revision.body,
        "body_html": revision.body_html,
        "created_at": revision.created_at,
    }


def flag_payload(flag: Flag) -> dict[str, Any]:
    post = flag.post
    return {
        "id": flag.pk,
        "reason": flag.reason,
        "note": flag.note,
        "status": flag.status,
        "reporter": flag.reporter.name,
        "created_at": flag.created_at,
        # Moderators see the text even of a hidden post: they decide on it.
        "post": {
            "id": post.pk,
            "thread": post.thread_id,
            "thread_title": post.thread.title,
            "author": _person(post.author),
            "body_html": post.body_html,
            "is_hidden": post.is_hidden,
            "url": f"{post.thread.get_absolute_url()}#post-{post.pk}",
        },
    }


def log_payload(entry: ModerationLog) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "actor": entry.actor.name,
        "action": entry.action,
        "forum": entry.forum_id,
        "thread": entry.thread_id,
        "post": entry.post_id,
        "target_user": entry.target_user.name if entry.target_user else None,
        "reason": entry.reason,
        "created_at": entry.created_at,
    }


def library_item_payload(item: LibraryItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "space": item.space_id,
        "course_id": item.course_id,
        "kind": item.kind,
        "title": item.title,
        "body_html": item.body_html,
        "url": item.url,
        "file": item.file.url if item.file else "",
        "status": item.status,
        "rejection_reason": item.rejection_reason,
        "author": _person(item.author),
        "reactions": {k: v for k, v in (item.reaction_counts or {}).items() if v},
        "created_at": item.created_at,
        "page": item.get_absolute_url(),
    }


def comment_payload(comment: ItemComment) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "item": comment.item_id,
        "author": _person(comment.author),
        "body_html": comment.body_html,
        "created_at": comment.created_at,
    }


def search_result_payload(post: Post) -> dict[str, Any]:

    from hub import sanitize

    return {
        "post": post.pk,
        "thread": post.thread_id,
        "thread_title": post.thread.title,
        "forum": post.thread.forum_id,
        "author": post.author.name,
        "excerpt": sanitize.plain(post.body_html)[:300],
        "url": f"{post.thread.get_absolute_url()}#post-{post.pk}",
        "created_at": post.created_at,
    }
