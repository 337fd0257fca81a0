"""Limits of the forums. Override any of them with ``LYCEUM_FORUMS = {...}`` in settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Authors may edit their posts this long after posting (moderators: any time).
    "EDIT_WINDOW_MINUTES": 30,
    "MAX_BODY_CHARS": 20_000,
    # Everyone (Discourse-like rate limits).
    "POSTS_PER_MINUTE": 6,
    "THREADS_PER_HOUR": 10,
    # Trust level 0 (Discourse's "new user"): a few posts an hour.
    "NEW_POSTS_PER_HOUR": 10,
    # What each trust level (index 0-4) may put in one post or do per day; None: no limit.
    # docs/COMMUNITY.md shows them to members (``/forums/trust/``).
    "TRUST_LIMITS": {
        "links": [2, 10, 25, None, None],
        "images": [1, 5, 10, None, None],
        "mentions": [2, 5, 10, 20, 50],
        "threads_per_day": [3, 10, 20, None, None],
    },
    # Editing other people's wiki posts needs this level.
    "WIKI_EDIT_LEVEL": 1,
    # What a flag weighs towards hiding a post, per level of the reporter (index 0-4).
    "FLAG_WEIGHTS": [0, 1, 1, 2, 3],
    # Default weight of open flags that hides a post until a moderator decides (per space).
    "FLAG_HIDE_WEIGHT": 3,
    # Upheld flags count against a level for this many days.
    "FLAG_MEMORY_DAYS": 180,
    # Attachments.
    "MAX_ATTACHMENTS": 5,
    "MAX_ATTACHMENT_BYTES": 5 * 1024 * 1024,
    "ATTACHMENT_TYPES": {
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "gif": "image/gif",
        "webp": "image/webp",
        "pdf": "application/pdf",
        "txt": "text/plain",
    },
    "MAX_MENTIONS_NOTIFIED": 10,
}


def limit(name: str) -> Any:
    return getattr(settings, "LYCEUM_FORUMS", {}).get(name, DEFAULTS[name])
