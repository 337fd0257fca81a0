"""Every write of the forums: permission inside, limits inside, events on commit.

REST (``api.py``), pages (``views.py``) and the WebSocket actions (``realtime.py``) all call
these functions, so they agree on who may do what and how often.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Model
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from classrooms.models import Activity, ActivityKind, MediaKind, Module
from classrooms.services import activity_create
from forums import trust
from forums.conf import limit
from forums.models import (
    Attachment,
    Emoji,
    Flag,
    Forum,
    ItemComment,
    LibraryItem,
    ModerationLog,
    Post,
    PostRevision,
    Reaction,
    Subscription,
    Suspension,
    Thread,
    ThreadEvent,
    ThreadRead,
)
from forums.selectors import (
    active_suspension,
    can_review_library,
    can_view_forum,
    can_view_thread,
    is_forum_moderator,
    post_payload,
    thread_payload,
)
from hub import events, realtime, sanitize
from hub.accounts.models import Role, Space, User
from hub.accounts.selectors import is_space_member
from hub.api import RateLimited
from hub.dates import format_for
from hub.files import check_image, sniff_upload
from hub.notify import notify

MENTION_RE = re.compile(r"(?<![\w@/])@([A-Za-z0-9_.+-]{1,150})")


# -- helpers ---------------------------------------------------------------------------------
def plain_text(value: str) -> str:
    """User text that is not rich text (titles, reasons): tags dropped, stored unescaped
    (templates and the page scripts escape it on output)."""
    return sanitize.plain(value or "").strip()


def _require_writer(user: User, forum: Forum) -> None:
    if not can_view_forum(user=user, forum=forum):
        raise PermissionDenied(_("You are not a member of this forum's space."))
    suspension = active_suspension(user=user, forum=forum)
    if suspension is not None:
        raise PermissionDenied(
            _("You are suspended from this forum until %(until)s.")
            # In the person's own zone, named (the one date policy, hub/dates.py).
            % {"until": format_for(suspension.until, zone=user.time_zone or "UTC")}
        )


def _require_moderator(user: User, forum: Forum) -> None:
    if not is_forum_moderator(user=user, forum=forum):
        raise PermissionDenied(_("Only the forum's moderators may do this."))


def mentioned_names(body: str) -> list[str]:
    # Code spans and blocks do not mention anyone.
    text = re.sub(r"```.*?```|`[^`]*`", "", body or "", flags=re.S)
    seen: dict[str, None] = {}
    for name in MENTION_RE.findall(text):
        seen.setdefault(name.rstrip(".").lower(), None)
    return list(seen)


def _check_rate(user: User, *, new_thread: bool, space_id: int) -> None:
    now = timezone.now()
    posts = Post.objects.filter(author=user)
    if posts.filter(created_at__gte=now - timedelta(minutes=1)).count() >= limit(
        "POSTS_PER_MINUTE"
    ):
        raise RateLimited(detail=_("You are posting too fast; wait a minute."), wait=60)
    if new_thread and Thread.objects.filter(
        author=user, created_at__gte=now - timedelta(hours=1)
    ).count() >= limit("THREADS_PER_HOUR"):
        raise RateLimited(detail=_("Too many new threads this hour."), wait=3600)
    level = trust.level_of(user=user, space=space_id)
    if level == 0 and posts.filter(created_at__gte=now - timedelta(hours=1)).count() >= limit(
        "NEW_POSTS_PER_HOUR"
    ):
        raise RateLimited(
            detail=_("At trust level 0 you may post %(n)s times an hour; level 1 lifts this.")
            % {"n": limit("NEW_POSTS_PER_HOUR")},
            wait=3600,
        )
    cap = trust.limit_at("threads_per_day", level)
    if new_thread and cap is not None:
        opened = Thread.objects.filter(
            author=user, forum__space_id=space_id, created_at__gte=now - timedelta(days=1)
        ).count()
        if opened >= cap:
            raise RateLimited(
                detail=_(
                    "At trust level %(level)s you may open %(n)s threads a day; "
                    "level %(needed)s allows more."
                )
                % {
                    "level": level,
                    "n": cap,
                    "needed": trust.level_needed("threads_per_day", opened + 1),
                },
                wait=86400,
            )


def _render_body(body: str) -> str:
    """The HTML of a post or comment, refused over the length limit before it is rendered.

    Call it before the transaction opens: rendering is CPU work only, and inside the
    transaction it would hold the thread's row lock and topic order (on SQLite, the
    database's write lock) while it runs.
    """
    if len(body or "") > limit("MAX_BODY_CHARS"):
        raise ValidationError({"body": _("This post is too long.")})
    return sanitize.markdown(body)


def _check_content(
    user: User, body: str, body_html: str, files: Sequence[UploadedFile], *, space_id: int
) -> None:
    """Limits on a rendered body (``_render_body`` has checked its length), by the author's
    trust level in the space: links, images and mentions per post."""
    if not plain_text(body_html) and not files and "<img" not in body_html:
        raise ValidationError({"body": _("Write something.")})
    level = trust.level_of(user=user, space=space_id)
    counts = {
        "images": body_html.count("<img") + sum(1 for f in files if _is_image_name(f.name)),
        "links": body_html.count("<a "),
        "mentions": len(mentioned_names(body)),
    }
    messages = {
        "images": _(
            "At trust level %(level)s a post may have %(n)s image(s); this one has %(count)s."
        ),
        "links": _(
            "At trust level %(level)s a post may have %(n)s link(s); this one has %(count)s."
        ),
        "mentions": _(
            "At trust level %(level)s a post may mention %(n)s people; this one mentions %(count)s."
        ),
    }
    for kind, count in counts.items():
        cap = trust.limit_at(kind, level)
        if cap is not None and count > cap:
            message = messages[kind] % {"level": level, "n": cap, "count": count}
            needed = trust.level_needed(kind, count)
            if needed is not None:
                message += " " + _("Level %(needed)s allows it.") % {"needed": needed}
            raise ValidationError({"body": message})


def _extension(name: str) -> str:
    return os.path.splitext(name or "")[1].lower().lstrip(".")


def _is_image_name(name: str) -> bool:
    return limit("ATTACHMENT_TYPES").get(_extension(name), "").startswith("image/")


def _check_files(files: Sequence[UploadedFile]) -> None:
    if len(files) > limit("MAX_ATTACHMENTS"):
        raise ValidationError({"files": _("Too many attachments.")})
    for f in files:
        ext = _extension(f.name)
        if ext not in limit("ATTACHMENT_TYPES"):
            raise ValidationError(
                {"files": _("This kind of file is not accepted: %(n)s") % {"n": f.name}}
            )
        if f.size > limit("MAX_ATTACHMENT_BYTES"):
            raise ValidationError({"files": _("This file is too large: %(n)s") % {"n": f.name}})
        # The bytes must be what the extension says (an .png that is an HTML page, a .txt
        # that is a program, are refused); images within the pixel limit.
        if sniff_upload(f) != limit("ATTACHMENT_TYPES")[ext]:
            raise ValidationError(
                {"files": _("The file's content does not match its name: %(n)s") % {"n": f.name}}
            )
        if _is_image_name(f.name):
            try:
                check_image(f, field="files")
            except ValidationError as exc:
                message = exc.message_dict["files"][0]
                raise ValidationError({"files": f"{f.name}: {message}"}) from None


def _save_files(post: Post, user: User, files: Sequence[UploadedFile]) -> None:
    for f in files:
        ext = _extension(f.name)
        name = get_valid_filename(os.path.basename(f.name))[:150] or f"file.{ext}"
        attachment = Attachment(
            post=post,
            uploader=user,
            name=name,
            content_type=limit("ATTACHMENT_TYPES")[ext],
            size=f.size,
            is_image=_is_image_name(f.name),
        )
        # Stored under a random name (upload_to); ``name`` is for display and download.
        attachment.file.save(f"upload.{ext}", f, save=False)
        attachment.save()


def event_data(type: str, *, thread: Thread, post: Post | None) -> dict[str, Any]:
    """The data of a thread event, live or replayed (always the current state)."""
    if type == "thread.updated" or post is None:
        return thread_payload(thread)
    if type == "reaction.changed":
        return {"id": post.pk, "reactions": post_payload(post)["reactions"]}
    return post_payload(post)


def _thread_event(thread: Thread, type: str, post: Post | None = None) -> ThreadEvent:
    realtime.hold_topic_order(thread.topic)
    event = ThreadEvent.objects.create(thread=thread, type=type, post=post)
    realtime.publish(thread.topic, type, event_data(type, thread=thread, post=post), id=event.pk)
    return event


def _log(
    actor: User,
    action: str,
    *,
    forum: Forum,
    thread: Thread | None = None,
    post: Post | None = None,
    target_user: User | None = None,
    reason: str = "",
) -> None:
    ModerationLog.objects.create(
        actor=actor,
        action=action,
        forum=forum,
        thread=thread,
        post=post,
        target_user=target_user,
        reason=reason[:500],
    )
    # The audit log (issue 16) keeps moderation beside the other staff actions.
    from hub import audit

    audit.record(
        action=f"forums.{action}",
        actor=actor,
        target=post or thread or target_user or forum,
        space=getattr(forum, "space", None),
        details={
            "forum": forum.pk,
            "user": getattr(target_user, "pk", None),
            "reason": reason[:200],
        },
    )


def _clean_tags(tags: Iterable[str]) -> list[str]:
    out: list[str] = []
    for tag in tags or []:
        t = re.sub(r"[^\w-]+", "-", plain_text(str(tag)).lower()).strip("-")[:30]
        if t and t not in out:
            out.append(t)
    return out[:5]


# -- forums ----------------------------------------------------------------------------------
@transaction.atomic
def forum_create(
    *,
    actor: User,
    space: Space,
    title: str,
    description: str = "",
    kind: str = Forum.Kind.COMMUNITY,
    course_id: int | None = None,
    session_id: int | None = None,
) -> Forum:
    """Coordinators, trainers and admins of the space open forums."""
    from forums.selectors import MODERATOR_ROLES

    if not (
        actor.has_role("admin")
        or (actor.has_role(*MODERATOR_ROLES) and is_space_member(user=actor, space=space))
    ):
        raise PermissionDenied(_("Only trainers, coordinators and admins open forums."))
    title = plain_text(title)
    if not title:
        raise ValidationError({"title": _("A title is required.")})
    if kind == Forum.Kind.COURSE and not course_id:
        raise ValidationError({"course_id": _("A course forum needs a course.")})
    if kind == Forum.Kind.SESSION and not session_id:
        raise ValidationError({"session_id": _("A session forum needs a session.")})
    return Forum.objects.create(
        space=space,
        title=title,
        description=plain_text(description),
        kind=kind,
        course_id=course_id,
        session_id=session_id,
    )


# -- threads and posts -------------------------------------------------------------------------
def _insert_post(
    *,
    author: User,
    thread: Thread,
    body: str,
    body_html: str,
    reply_to: Post | None,
    files: Sequence[UploadedFile],
) -> Post:
    """Store a post whose ``body_html`` was rendered before the transaction (the topic's
    order is held from here to the commit)."""
    realtime.hold_topic_order(thread.topic)
    _check_content(author, body, body_html, files, space_id=thread.forum.space_id)
    _check_files(files)
    post = Post.objects.create(
        thread=thread, author=author, body=body, body_html=body_html, reply_to=reply_to
    )
    if files:
        _save_files(post, author, files)
    now = post.created_at
    Thread.objects.filter(pk=thread.pk).update(post_count=F("post_count") + 1, last_activity_at=now)
    Forum.objects.filter(pk=thread.forum_id).update(
        post_count=F("post_count") + 1, last_activity_at=now
    )
    thread.refresh_from_db(fields=["post_count", "last_activity_at"])
    Subscription.objects.get_or_create(user=author, thread=thread)
    return post


def _notify_post(post: Post, *, new_thread: bool) -> None:
    thread = post.thread
    forum = thread.forum
    url = f"{thread.get_absolute_url()}#post-{post.pk}"
    excerpt = plain_text(post.body_html)[:300]
    names = mentioned_names(post.body)[: limit("MAX_MENTIONS_NOTIFIED")]
    mentioned = list(
        User.objects.filter(
            username__in=names, space_memberships__space_id=forum.space_id, is_active=True
        )
        .exclude(pk=post.author_id)
        .distinct()
        if names
        else []
    )
    if mentioned:
        notify(
            recipients=mentioned,
            kind="forums.mention",
            verb=_("%(name)s mentioned you in “%(title)s”")
            % {"name": post.author.name, "title": thread.title},
            actor=post.author,
            target=post,
            description=excerpt,
            url=url,
        )
    skip = {post.author_id, *(u.pk for u in mentioned)}
    if new_thread:
        followers = Subscription.objects.filter(forum=forum).exclude(user_id__in=skip)
        kind = "forums.thread"
        verb = _("New thread in %(forum)s: %(title)s") % {
            "forum": forum.title,
            "title": thread.title,
        }
    else:
        followers = Subscription.objects.filter(thread=thread).exclude(user_id__in=skip)
        kind = "forums.reply"
        verb = _("%(name)s replied in “%(title)s”") % {
            "name": post.author.name,
            "title": thread.title,
        }
    recipients = User.objects.filter(
        pk__in=followers.values("user_id"),
        is_active=True,
        space_memberships__space_id=forum.space_id,
    ).distinct()
    notify(
        recipients=recipients,
        kind=kind,
        verb=verb,
        actor=post.author,
        target=post,
        description=excerpt,
        url=url,
    )


def _forum_activity(thread: Thread, post: Post) -> None:
    realtime.publish(
        thread.forum.topic,
        "thread.activity",
        {
            "id": thread.pk,
            "post_count": thread.post_count,
            "last_activity_at": thread.last_activity_at,
            "last_author": post.author.name,
        },
    )


def thread_create(
    *,
    author: User,
    forum: Forum,
    title: str,
    body: str,
    kind: str = Thread.Kind.DISCUSSION,
    tags: Iterable[str] = (),
    files: Sequence[UploadedFile] = (),
) -> Thread:
    """Open a thread with its first post; the forum's followers are told."""
    body_html = _render_body(body)  # before the transaction and its locks
    thread = _thread_create(
        author=author,
        forum=forum,
        title=title,
        body=body,
        body_html=body_html,
        kind=kind,
        tags=tags,
        files=files,
    )
    trust.trust_recompute(user=author, space=forum.space_id)  # after the forum's lock
    return thread


@transaction.atomic
def _thread_create(
    *,
    author: User,
    forum: Forum,
    title: str,
    body: str,
    body_html: str,
    kind: str,
    tags: Iterable[str],
    files: Sequence[UploadedFile],
) -> Thread:
    _require_writer(author, forum)
    _check_rate(author, new_thread=True, space_id=forum.space_id)
    title = plain_text(title)
    if not title:
        raise ValidationError({"title": _("A title is required.")})
    if kind not in Thread.Kind.values:
        raise ValidationError({"kind": _("Unknown kind of thread.")})
    realtime.hold_topic_order(forum.topic)
    thread = Thread.objects.create(
        forum=forum,
        author=author,
        title=title[:200],
        kind=kind,
        tags=_clean_tags(tags),
        last_activity_at=timezone.now(),
    )
    Forum.objects.filter(pk=forum.pk).update(thread_count=F("thread_count") + 1)
    post = _insert_post(
        author=author, thread=thread, body=body, body_html=body_html, reply_to=None, files=files
    )
    _thread_event(thread, "post.created", post)
    _advance_read_mark(user=author, thread=thread, post_id=post.pk)
    realtime.publish(forum.topic, "thread.created", thread_payload(thread), id=thread.pk)
    _notify_post(post, new_thread=True)
    return thread


def post_create(
    *,
    author: User,
    thread: Thread,
    body: str,
    reply_to: Post | None = None,
    files: Sequence[UploadedFile] = (),
) -> Post:
    """Reply in a thread (optionally quoting ``reply_to``); live for everyone on the thread."""
    body_html = _render_body(body)  # before the transaction: never under the thread's lock
    post = _post_create(
        author=author, thread=thread, body=body, body_html=body_html, reply_to=reply_to, files=files
    )
    # Posting counts towards the author's trust level; after the thread's lock is released.
    trust.trust_recompute(user=author, space=post.thread.forum.space_id)
    return post


@transaction.atomic
def _post_create(
    *,
    author: User,
    thread: Thread,
    body: str,
    body_html: str,
    reply_to: Post | None,
    files: Sequence[UploadedFile],
) -> Post:
    thread = Thread.objects.select_for_update().select_related("forum").get(pk=thread.pk)
    if not can_view_thread(user=author, thread=thread) or thread.is_deleted:
        raise PermissionDenied(_("You cannot see this thread."))
    _require_writer(author, thread.forum)
    if thread.is_locked and not is_forum_moderator(user=author, forum=thread.forum):
        raise PermissionDenied(_("This thread is locked."))
    if reply_to is not None and reply_to.thread_id != thread.pk:
        raise ValidationError({"reply_to": _("Quote a post of the same thread.")})
    _check_rate(author, new_thread=False, space_id=thread.forum.space_id)
    post = _insert_post(
        author=author,
        thread=thread,
        body=body,
        body_html=body_html,
        reply_to=reply_to,
        files=files,
    )
    _thread_event(thread, "post.created", post)
    _advance_read_mark(user=author, thread=thread, post_id=post.pk)
    _forum_activity(thread, post)
    _notify_post(post, new_thread=False)
    events.emit("forums.posted", user=author, post=post, forum=thread.forum)
    return post


@transaction.atomic
def thread_mark_read(*, user: User, thread: Thread, post_id: int) -> int:
    """``user`` was shown ``thread`` up to the post ``post_id``: its posts up to there are
    read. Marks only move forward (an older tab reporting late changes nothing); a post id
    past the thread's last post counts as its last post. Returns the mark."""
    if not can_view_thread(user=user, thread=thread):
        raise PermissionDenied(_("You cannot see this thread."))
    # Reading counts towards trust levels: a day visited, topics and posts read.
    space_id = thread.forum.space_id
    trust.visit_record(user=user, space=space_id)
    transaction.on_commit(lambda: trust.trust_recompute(user=user, space=space_id))
    shown = (
        Post.objects.filter(thread=thread, id__lte=post_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return _advance_read_mark(user=user, thread=thread, post_id=shown or 0)


def _advance_read_mark(*, user: User, thread: Thread, post_id: int) -> int:
    mark, created = ThreadRead.objects.get_or_create(
        user=user, thread=thread, defaults={"last_read_post_id": post_id}
    )
    if not created and mark.last_read_post_id < post_id:
        # Conditional: of two tabs reporting at once, the further one wins.
        ThreadRead.objects.filter(pk=mark.pk, last_read_post_id__lt=post_id).update(
            last_read_post_id=post_id, updated_at=timezone.now()
        )
        return post_id
    return max(mark.last_read_post_id, post_id)


def can_edit_post(*, user: User, post: Post) -> bool:
    if post.is_deleted:
        return False
    if is_forum_moderator(user=user, forum=post.thread.forum):
        return True
    if post.is_wiki and not post.is_hidden and not post.thread.is_locked:
        # A wiki post: its author, and others from the wiki level up, at any time.
        return post.author_id == user.pk or trust.level_of(
            user=user, space=post.thread.forum.space_id
        ) >= limit("WIKI_EDIT_LEVEL")
    window = timedelta(minutes=limit("EDIT_WINDOW_MINUTES"))
    return (
        post.author_id == user.pk
        and not post.is_hidden
        and not post.thread.is_locked
        and timezone.now() - post.created_at <= window
    )


def post_edit(*, editor: User, post: Post, body: str) -> Post:
    """Change a post's text, keeping the previous text as a visible revision."""
    body_html = _render_body(body)  # before the transaction: never under the post's lock
    return _post_edit(editor=editor, post=post, body=body, body_html=body_html)


@transaction.atomic
def _post_edit(*, editor: User, post: Post, body: str, body_html: str) -> Post:
    post = (
        Post.objects.select_for_update().select_related("thread__forum", "author").get(pk=post.pk)
    )
    if not can_edit_post(user=editor, post=post):
        if post.is_wiki and post.author_id != editor.pk and not post.is_hidden:
            raise PermissionDenied(
                _(
                    "Editing other people's wiki posts needs trust level %(needed)s; "
                    "you are at level %(level)s."
                )
                % {
                    "needed": limit("WIKI_EDIT_LEVEL"),
                    "level": trust.level_of(user=editor, space=post.thread.forum.space_id),
                }
            )
        raise PermissionDenied(_("You can no longer edit this post."))
    _require_writer(editor, post.thread.forum)
    _check_content(editor, body, body_html, (), space_id=post.thread.forum.space_id)
    if body == post.body:
        return post
    PostRevision.objects.create(post=post, editor=editor, body=post.body, body_html=post.body_html)
    post.body, post.body_html, post.edited_at = body, body_html, timezone.now()
    post.save(update_fields=["body", "body_html", "edited_at"])
    _thread_event(post.thread, "post.updated", post)
    return post


@transaction.atomic
def post_delete(*, actor: User, post: Post) -> Post:
    """Soft delete: the author or a moderator; the post stays as a tombstone."""
    post = (
        Post.objects.select_for_update().select_related("thread__forum", "author").get(pk=post.pk)
    )
    moderator = is_forum_moderator(user=actor, forum=post.thread.forum)
    if post.author_id != actor.pk and not moderator:
        raise PermissionDenied(_("Only the author or a moderator may delete a post."))
    if post.is_deleted:
        return post
    post.is_deleted = True
    post.save(update_fields=["is_deleted"])
    if moderator and post.author_id != actor.pk:
        _log(
            actor,
            "post.delete",
            forum=post.thread.forum,
            thread=post.thread,
            post=post,
            target_user=post.author,
        )
    _thread_event(post.thread, "post.deleted", post)
    return post


@transaction.atomic
def post_react(*, user: User, post: Post, emoji: str, on: bool = True) -> Post:
    """Add (``on``) or take back one reaction; counts change live for everyone."""
    if emoji not in Emoji.values:
        raise ValidationError({"emoji": _("Unknown reaction.")})
    post = (
        Post.objects.select_for_update().select_related("thread__forum", "author").get(pk=post.pk)
    )
    if not can_view_thread(user=user, thread=post.thread):
        raise PermissionDenied(_("You cannot see this thread."))
    _require_writer(user, post.thread.forum)
    if post.is_hidden or post.is_deleted:
        raise ValidationError(_("This post cannot be reacted to."))
    if reaction_toggle(Reaction, post, user=user, emoji=emoji, on=on, post=post):
        _thread_event(post.thread, "reaction.changed", post)
        if emoji in trust.LIKES and post.author_id != user.pk:
            # A like received counts towards the author's level (after this commit).
            author, space_id = post.author, post.thread.forum.space_id
            transaction.on_commit(lambda: trust.trust_recompute(user=author, space=space_id))
    return post


@transaction.atomic
def thread_accept_answer(*, user: User, thread: Thread, post: Post | None) -> Thread:
    """The asker (or a moderator) marks the answer of a question; ``None`` clears it."""
    thread = Thread.objects.select_for_update().select_related("forum", "author").get(pk=thread.pk)
    if thread.kind != Thread.Kind.QUESTION:
        raise ValidationError(_("Only questions have an accepted answer."))
    if thread.author_id != user.pk and not is_forum_moderator(user=user, forum=thread.forum):
        raise PermissionDenied(_("Only the asker or a moderator accepts an answer."))
    if post is not None and (post.thread_id != thread.pk or post.is_hidden or post.is_deleted):
        raise ValidationError({"post": _("Accept a visible post of this thread.")})
    thread.accepted_post = post
    thread.save(update_fields=["accepted_post"])
    _thread_event(thread, "thread.updated")
    if post is not None and post.author_id != user.pk:
        notify(
            recipients=[post.author],
            kind="forums.accepted",
            verb=_("Your answer was accepted in “%(title)s”") % {"title": thread.title},
            actor=user,
            target=post,
            url=f"{thread.get_absolute_url()}#post-{post.pk}",
        )
        events.emit("forums.answer_accepted", user=post.author, post=post, thread=thread)
    return thread


def typing_signal(*, user: User, thread: Thread) -> None:
    """“X is replying”: an ephemeral event (no id, never replayed)."""
    if not can_view_thread(user=user, thread=thread):
        raise PermissionDenied(_("You cannot see this thread."))
    realtime.publish(thread.topic, "typing", {"user": {"id": user.pk, "name": user.name}})


# -- moderation ------------------------------------------------------------------------------
@transaction.atomic
def thread_set_flags(
    *, moderator: User, thread: Thread, locked: bool | None = None, pinned: bool | None = None
) -> Thread:
    thread = Thread.objects.select_for_update().select_related("forum", "author").get(pk=thread.pk)
    _require_moderator(moderator, thread.forum)
    changed = []
    if locked is not None and locked != thread.is_locked:
        thread.is_locked = locked
        changed.append("is_locked")
        _log(
            moderator,
            "thread.lock" if locked else "thread.unlock",
            forum=thread.forum,
            thread=thread,
        )
    if pinned is not None and pinned != thread.is_pinned:
        thread.is_pinned = pinned
        changed.append("is_pinned")
        _log(
            moderator, "thread.pin" if pinned else "thread.unpin", forum=thread.forum, thread=thread
        )
    if changed:
        thread.save(update_fields=changed)
        _thread_event(thread, "thread.updated")
    return thread


@transaction.atomic
def post_hide(*, moderator: User, post: Post, reason: str = "") -> Post:
    """Hide a post from everyone (live): its text leaves every page and every replay."""
    post = (
        Post.objects.select_for_update().select_related("thread__forum", "author").get(pk=post.pk)
    )
    _require_moderator(moderator, post.thread.forum)
    if post.is_hidden:
        return post
    post.is_hidden, post.hidden_reason = True, plain_text(reason)[:200]
    post.save(update_fields=["is_hidden", "hidden_reason"])
    Flag.objects.filter(post=post, status=Flag.Status.OPEN).update(
        status=Flag.Status.ACTED, resolved_by=moderator, resolved_at=timezone.now()
    )
    _log(
        moderator,
        "post.hide",
        forum=post.thread.forum,
        thread=post.thread,
        post=post,
        target_user=post.author,
        reason=reason,
    )
    _thread_event(post.thread, "post.hidden", post)
    return post


@transaction.atomic
def post_restore(*, moderator: User, post: Post, reason: str = "") -> Post:
    post = (
        Post.objects.select_for_update().select_related("thread__forum", "author").get(pk=post.pk)
    )
    _require_moderator(moderator, post.thread.forum)
    if not post.is_hidden:
        return post
    post.is_hidden, post.hidden_reason, post.hidden_by_flags = False, "", False
    post.save(update_fields=["is_hidden", "hidden_reason", "hidden_by_flags"])
    _log(
        moderator,
        "post.restore",
        forum=post.thread.forum,
        thread=post.thread,
        post=post,
        target_user=post.author,
        reason=reason,
    )
    _thread_event(post.thread, "post.restored", post)
    return post


def _forum_moderators(forum: Forum) -> list[User]:
    """The people who moderate ``forum`` (``is_forum_moderator``), for a notice."""
    from django.db.models import Q

    candidates = (
        User.objects.filter(
            Q(role_grants__role=Role.ADMIN)
            | Q(
                role_grants__role__in=[Role.COORDINATOR, Role.TRAINER],
                space_memberships__space_id=forum.space_id,
            )
            | Q(moderated_forums=forum),
            is_active=True,
        )
        .distinct()
        .order_by("pk")[:200]
    )
    return [u for u in candidates if is_forum_moderator(user=u, forum=forum)]


@transaction.atomic
def post_flag(*, reporter: User, post: Post, reason: str, note: str = "") -> Flag:
    """Report a post to the moderators' queue (once per person while it is open).

    The flag weighs what the reporter's trust level weighs (``FLAG_WEIGHTS``); when the
    open flags of a post weigh the space's threshold, the post is hidden (live) until a
    moderator decides. The post's row is locked first, so flags at the same moment are
    counted one after the other, each once, and the post is hidden once.
    """
    post = (
        Post.objects.select_for_update().select_related("thread__forum", "author").get(pk=post.pk)
    )
    if not can_view_thread(user=reporter, thread=post.thread):
        raise PermissionDenied(_("You cannot see this thread."))
    if reason not in Flag.Reason.values:
        raise ValidationError({"reason": _("Choose a reason.")})
    if post.author_id == reporter.pk:
        raise ValidationError(_("You cannot flag your own post."))
    if post.is_deleted:
        raise ValidationError(_("This post was deleted."))
    existing = Flag.objects.filter(post=post, reporter=reporter, status=Flag.Status.OPEN).first()
    if existing:
        return existing
    forum = post.thread.forum
    weight = trust.flag_weight(trust.level_of(user=reporter, space=forum.space_id))
    flag = Flag.objects.create(
        post=post, reporter=reporter, reason=reason, note=plain_text(note)[:500], weight=weight
    )
    total = sum(
        Flag.objects.filter(post=post, status=Flag.Status.OPEN).values_list("weight", flat=True)
    )
    if not post.is_hidden and weight and total >= trust.flag_hide_weight(forum.space_id):
        post.is_hidden, post.hidden_by_flags = True, True
        post.hidden_reason = _("Hidden after flags from members; waiting for a moderator.")
        post.save(update_fields=["is_hidden", "hidden_by_flags", "hidden_reason"])
        _thread_event(post.thread, "post.hidden", post)
        notify(
            recipients=_forum_moderators(forum),
            kind="forums.flagged",
            verb=_("A post in “%(title)s” was hidden by members' flags: decide")
            % {"title": post.thread.title},
            actor=reporter,
            target=post,
            url=reverse("forum-moderation"),
        )
    return flag


@transaction.atomic
def flag_resolve(*, moderator: User, flag: Flag, hide: bool, reason: str = "") -> Flag:
    """Uphold the flags on a post (it stays or becomes hidden; its author's trust level
    is computed again: upheld flags count against it) or dismiss them (a post the flags
    hid is restored)."""
    flag = Flag.objects.select_related("post__thread__forum").get(pk=flag.pk)
    _require_moderator(moderator, flag.post.thread.forum)
    post = (
        Post.objects.select_for_update()
        .select_related("thread__forum", "author")
        .get(pk=flag.post_id)
    )
    forum = post.thread.forum
    now = timezone.now()
    if hide:
        if post.is_hidden:
            Flag.objects.filter(post=post, status=Flag.Status.OPEN).update(
                status=Flag.Status.ACTED, resolved_by=moderator, resolved_at=now
            )
            post.hidden_by_flags = False
            post.hidden_reason = plain_text(reason or flag.get_reason_display())[:200]
            post.save(update_fields=["hidden_by_flags", "hidden_reason"])
            _log(
                moderator,
                "flag.uphold",
                forum=forum,
                thread=post.thread,
                post=post,
                target_user=post.author,
                reason=reason,
            )
        else:
            post_hide(moderator=moderator, post=post, reason=reason or flag.get_reason_display())
        author = post.author
        transaction.on_commit(lambda: trust.trust_recompute(user=author, space=forum.space_id))
    else:
        Flag.objects.filter(post=post, status=Flag.Status.OPEN).update(
            status=Flag.Status.DISMISSED, resolved_by=moderator, resolved_at=now
        )
        _log(
            moderator,
            "flag.dismiss",
            forum=forum,
            thread=post.thread,
            post=post,
            reason=reason,
        )
        if post.hidden_by_flags:
            post.is_hidden, post.hidden_by_flags, post.hidden_reason = False, False, ""
            post.save(update_fields=["is_hidden", "hidden_by_flags", "hidden_reason"])
            _thread_event(post.thread, "post.restored", post)
    flag.refresh_from_db()
    return flag


@transaction.atomic
def post_set_wiki(*, user: User, post: Post, on: bool) -> Post:
    """Make a post a wiki (or not): its author or a moderator."""
    post = (
        Post.objects.select_for_update().select_related("thread__forum", "author").get(pk=post.pk)
    )
    if not can_view_thread(user=user, thread=post.thread):
        raise PermissionDenied(_("You cannot see this thread."))
    if post.author_id != user.pk and not is_forum_moderator(user=user, forum=post.thread.forum):
        raise PermissionDenied(_("Only the author or a moderator makes a post a wiki."))
    if post.is_deleted or post.is_hidden:
        raise ValidationError(_("This post cannot be a wiki."))
    if post.is_wiki != on:
        post.is_wiki = on
        post.save(update_fields=["is_wiki"])
        _thread_event(post.thread, "post.updated", post)
    return post


@transaction.atomic
def suspension_create(
    *, moderator: User, forum: Forum, user: User, days: float, reason: str
) -> Suspension:
    """Keep ``user`` from writing in ``forum`` for ``days`` (they still read)."""
    _require_moderator(moderator, forum)
    if user.pk == moderator.pk:
        raise ValidationError(_("You cannot suspend yourself."))
    if not 0 < days <= 3650:
        raise ValidationError({"days": _("Between a few hours and ten years.")})
    reason = plain_text(reason)
    if not reason:
        raise ValidationError({"reason": _("Give a reason.")})
    suspension = Suspension.objects.create(
        forum=forum,
        user=user,
        until=timezone.now() + timedelta(days=days),
        reason=reason[:500],
        created_by=moderator,
    )
    _log(moderator, "user.suspend", forum=forum, target_user=user, reason=f"{days:g} d: {reason}")
    return suspension


# -- subscriptions -----------------------------------------------------------------------------
@transaction.atomic
def subscription_set(
    *, user: User, on: bool, thread: Thread | None = None, forum: Forum | None = None
) -> bool:
    if (thread is None) == (forum is None):
        raise ValidationError(_("Follow a thread or a forum."))
    target_forum = forum if forum is not None else thread.forum
    if not can_view_forum(user=user, forum=target_forum):
        raise PermissionDenied(_("You are not a member of this forum's space."))
    if on:
        Subscription.objects.get_or_create(user=user, thread=thread, forum=forum)
    else:
        Subscription.objects.filter(user=user, thread=thread, forum=forum).delete()
    return on


# -- the learners' library (UGC) ---------------------------------------------------------------
def library_item_submit(
    *,
    author: User,
    space: Space,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    file: UploadedFile | None = None,
    course_id: int | None = None,
) -> LibraryItem:
    """A learner shares an item; it waits for a trainer's approval."""
    # Before the transaction (SQLite's write lock); the REST serializer and form say 20,000 too.
    body_html = sanitize.markdown(body, max_chars=limit("MAX_BODY_CHARS"), field="body")
    return _library_item_submit(
        author=author,
        space=space,
        kind=kind,
        title=title,
        body=body,
        body_html=body_html,
        url=url,
        file=file,
        course_id=course_id,
    )


@transaction.atomic
def _library_item_submit(
    *,
    author: User,
    space: Space,
    kind: str,
    title: str,
    body: str,
    body_html: str,
    url: str,
    file: UploadedFile | None,
    course_id: int | None,
) -> LibraryItem:
    if not is_space_member(user=author, space=space):
        raise PermissionDenied(_("You are not a member of this space."))
    if kind not in LibraryItem.Kind.values:
        raise ValidationError({"kind": _("Unknown kind of item.")})
    title = plain_text(title)
    if not title:
        raise ValidationError({"title": _("A title is required.")})
    if kind in (LibraryItem.Kind.LINK, LibraryItem.Kind.VIDEO) and not url and file is None:
        raise ValidationError({"url": _("Give the address of the link or video.")})
    if kind == LibraryItem.Kind.FILE and file is None:
        raise ValidationError({"file": _("Attach the file.")})
    if url and not re.match(r"^https?://", url, re.I):
        raise ValidationError({"url": _("Only http(s) addresses.")})
    if file is not None:
        _check_files([file])
    if LibraryItem.objects.filter(
        author=author, created_at__gte=timezone.now() - timedelta(hours=1)
    ).count() >= limit("THREADS_PER_HOUR"):
        raise RateLimited(detail=_("Too many items this hour."), wait=3600)
    item = LibraryItem(
        space=space,
        course_id=course_id,
        author=author,
        kind=kind,
        title=title[:200],
        body=body,
        body_html=body_html,
        url=url,
    )
    if file is not None:
        item.file.save(f"upload.{_extension(file.name)}", file, save=False)
    item.save()
    return item


@transaction.atomic
def library_item_review(
    *, reviewer: User, item: LibraryItem, approve: bool, reason: str = ""
) -> LibraryItem:
    """Approve, or reject with a reason; the author is told either way."""
    item = LibraryItem.objects.select_for_update().select_related("author").get(pk=item.pk)
    if not can_review_library(user=reviewer, space_id=item.space_id):
        raise PermissionDenied(_("Only trainers review shared content."))
    reason = plain_text(reason)
    if not approve and not reason:
        raise ValidationError({"reason": _("Say why the item is rejected.")})
    item.status = LibraryItem.Status.APPROVED if approve else LibraryItem.Status.REJECTED
    item.rejection_reason = "" if approve else reason[:500]
    item.reviewed_by, item.reviewed_at = reviewer, timezone.now()
    item.save(update_fields=["status", "rejection_reason", "reviewed_by", "reviewed_at"])
    notify(
        recipients=[item.author],
        kind="forums.library",
        verb=(
            _("Your item “%(title)s” was approved")
            if approve
            else _("Your item “%(title)s” was not approved")
        )
        % {"title": item.title},
        actor=reviewer,
        target=item,
        description=item.rejection_reason,
        url=item.get_absolute_url(),
    )
    return item


LIBRARY_LINK_KIND = "forums.library_item"


def library_item_add_to_course(*, user: User, item: LibraryItem, module: Module) -> Activity:
    """Make an approved item an activity of a course the trainer edits (once per course).

    An article becomes a lesson page, a link or a file a document, a short video a video;
    the activity keeps a reference to the item, and the author is told.

    No transaction around the whole: ``activity_create`` renders the item's text before it
    opens its own, and an outer one would hold its locks while that text renders. The notice
    follows in a transaction of its own (``notify``'s).
    """
    course = module.course
    if item.status != LibraryItem.Status.APPROVED:
        raise ValidationError(_("Only approved items can be added to a course."))
    if item.space_id != course.space_id:
        raise ValidationError(_("The item and the course belong to different spaces."))
    existing = course.activities.filter(link_kind=LIBRARY_LINK_KIND, link_id=item.pk).first()
    if existing is not None:
        return existing
    file_url = f"{settings.SITE_URL}{item.file.url}" if item.file else ""
    if item.kind == LibraryItem.Kind.ARTICLE:
        fields: dict[str, Any] = {"kind": ActivityKind.LESSON, "body": item.body}
    else:
        media_kind = MediaKind.VIDEO if item.kind == LibraryItem.Kind.VIDEO else MediaKind.DOCUMENT
        fields = {
            "kind": ActivityKind.MEDIA,
            "media_kind": media_kind,
            "media_url": item.url or file_url,
            "body": item.body,
        }
    # classrooms checks that ``user`` may edit the course.
    activity = activity_create(
        user=user,
        module=module,
        title=item.title,
        link_kind=LIBRARY_LINK_KIND,
        link_id=item.pk,
        **fields,
    )
    notify(
        recipients=[item.author],
        kind="forums.library",
        verb=_("Your item “%(title)s” is now part of the course %(course)s")
        % {"title": item.title, "course": course.title},
        actor=user,
        target=item,
        url=course.get_absolute_url(),
    )
    return activity


def _require_approved_reader(user: User, item: LibraryItem) -> None:
    if not is_space_member(user=user, space=item.space_id):
        raise PermissionDenied(_("You are not a member of this space."))
    if item.status != LibraryItem.Status.APPROVED:
        raise ValidationError(_("Only approved items take reactions and comments."))


@transaction.atomic
def library_item_react(
    *, user: User, item: LibraryItem, emoji: str, on: bool = True
) -> LibraryItem:
    if emoji not in Emoji.values:
        raise ValidationError({"emoji": _("Unknown reaction.")})
    item = LibraryItem.objects.select_for_update().select_related("author").get(pk=item.pk)
    _require_approved_reader(user, item)
    reaction_toggle(Reaction, item, user=user, emoji=emoji, on=on, item=item)
    return item


def reaction_toggle(
    reactions: type[Model], target: Model, *, user: User, emoji: str, on: bool, **of: Any
) -> bool:
    """Add (``on``) or remove ``user``'s ``emoji`` among ``reactions`` rows of ``target``
    (``of``: the row's link to it, e.g. ``post=post``) and keep ``target.reaction_counts``
    in step; True if anything changed. Forum posts, library items and blog posts share it
    (the caller holds ``target``'s row lock)."""
    if on:
        _obj, changed = reactions.objects.get_or_create(user=user, emoji=emoji, **of)
    else:
        changed = bool(reactions.objects.filter(user=user, emoji=emoji, **of).delete()[0])
    if changed:
        counts = dict(target.reaction_counts or {})
        counts[emoji] = max(0, counts.get(emoji, 0) + (1 if on else -1))
        target.reaction_counts = {k: v for k, v in counts.items() if v}
        target.save(update_fields=["reaction_counts"])
    return changed


def item_comment_create(*, author: User, item: LibraryItem, body: str) -> ItemComment:
    body_html = _render_body(body)  # before the transaction (SQLite's write lock)
    return _item_comment_create(author=author, item=item, body=body, body_html=body_html)


@transaction.atomic
def _item_comment_create(
    *, author: User, item: LibraryItem, body: str, body_html: str
) -> ItemComment:
    _require_approved_reader(author, item)
    _check_rate(author, new_thread=False, space_id=item.space_id)
    _check_content(author, body, body_html, (), space_id=item.space_id)
    return ItemComment.objects.create(item=item, author=author, body=body, body_html=body_html)
