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
    # Accounts younger than NEW_ACCOUNT_HOURS (Discourse's "new user" trust level).
    "NEW_ACCOUNT_HOURS": 24,
    "NEW_MAX_IMAGES": 1,
    "NEW_MAX_LINKS": 2,
    "NEW_MAX_MENTIONS": 2,
    "NEW_POSTS_PER_HOUR": 10,
    "NEW_THREADS_PER_DAY": 3,
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
