"""Demo data: a course forum and a community forum with threads, replies and reactions, and
one library item waiting for approval. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from django.apps import apps
from django.test import override_settings
from django.utils import timezone

from forums import services
from forums.models import Forum, LibraryItem
from hub.accounts.models import Space, User

UNLIMITED = {
    "POSTS_PER_MINUTE": 10_000,
    "THREADS_PER_HOUR": 10_000,
    "NEW_POSTS_PER_HOUR": 10_000,
    "TRUST_LIMITS": {
        kind: [None] * 5 for kind in ("links", "images", "mentions", "threads_per_day")
    },
}


def _first_course_id(space: Space) -> int | None:
    """The demo course of classrooms, read through the app registry (no import of it)."""
    try:
        course = apps.get_model("classrooms", "Course")
    except LookupError:
        return None
    qs = course.objects.all()
    if any(f.name == "space" for f in course._meta.get_fields()):
        qs = qs.filter(space=space)
    return qs.order_by("id").values_list("id", flat=True).first()


def seed(*, users: dict[str, User], space: Space) -> None:
    if Forum.objects.filter(space=space).exists():
        return
    # Demo accounts were created a moment ago: lift the trust level 0 limits while seeding.
    with override_settings(LYCEUM_FORUMS=UNLIMITED):
        _seed(users, space)


def _seed(users: dict[str, User], space: Space) -> None:
    trainer, learner, learner2 = users["trainer"], users["learner"], users["learner2"]
    course_id = _first_course_id(space)
    community = services.forum_create(
        actor=users["coordinator"],
        space=space,
        title="Community lounge",
        description="Introduce yourself, share tips, ask anything.",
    )
    course_forum = services.forum_create(
        actor=trainer,
        space=space,
        title="Course Q&A",
        description="Questions and answers about the course.",
        kind=Forum.Kind.COURSE if course_id else Forum.Kind.COMMUNITY,
        course_id=course_id,
    )
    hello = services.thread_create(
        author=trainer,
        forum=community,
        title="Welcome! Introduce yourself",
        body="Tell us who you are and what you want to learn. **Be kind.**",
        tags=["welcome"],
    )
    services.thread_set_flags(moderator=trainer, thread=hello, pinned=True)
    first = services.post_create(
        author=learner, thread=hello, body="Hi all, I'm Leo from the sales team 👋"
    )
    services.post_create(
        author=learner2, thread=hello, body="Hello @learner! Lina here.", reply_to=first
    )
    services.post_react(user=trainer, post=first, emoji="like")
    services.post_react(user=learner2, post=first, emoji="heart")
    question = services.thread_create(
        author=learner,
        forum=course_forum,
        title="How is the final quiz scored?",
        body="Does every question count the same?",
        kind="question",
        tags=["quiz"],
    )
    answer = services.post_create(
        author=trainer,
        thread=question,
        body="Yes: every question counts the same, and you need 70% to pass.",
    )
    services.post_react(user=learner, post=answer, emoji="like")
    services.thread_accept_answer(user=learner, thread=question, post=answer)
    services.thread_create(
        author=learner2,
        forum=course_forum,
        title="Study group for module 2?",
        body="Anyone up for a study session next week?",
        tags=["study-group"],
    )
    if not LibraryItem.objects.filter(space=space).exists():
        services.library_item_submit(
            author=learner,
            space=space,
            kind=LibraryItem.Kind.LINK,
            title="A great article on negotiation",
            body="Short and practical, worth 10 minutes.",
            url="https://example.com/negotiation",
            course_id=course_id,
        )
    # Let the demo's own posts fall out of the per-minute window at once.
    from forums.models import Post, Thread

    earlier = timezone.now() - timedelta(hours=2)
    Post.objects.filter(thread__forum__space=space).update(created_at=earlier)
    Thread.objects.filter(forum__space=space).update(created_at=earlier)
