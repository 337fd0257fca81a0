"""Domain events between apps (ARCHITECTURE §2).

The app where something happens emits; apps that care register a handler in their
``AppConfig.ready()``. The source never imports the listener, so no two apps import each
other::

    # classrooms/services.py
    events.emit("classrooms.course_completed", user=user, course=course)

    # leaderboards/apps.py, in ready()
    events.subscribe("classrooms.course_completed", award_course_points)

Handlers run after the emitting transaction commits (nothing happens for rolled-back
work), each in its own transaction, and must be idempotent: the same event twice changes
nothing. A failing handler is logged and does not stop the others.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[..., None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    """Register ``handler(**payload)`` for event ``name`` (call from ``AppConfig.ready``)."""
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _handlers.get(name, []):
        _handlers[name].remove(handler)


def emit(name: str, **payload: Any) -> None:
    """Run every handler of ``name`` with ``payload`` once the current transaction commits."""
    transaction.on_commit(lambda: _dispatch(name, payload))


def _dispatch(name: str, payload: dict[str, Any]) -> None:
    for handler in list(_handlers.get(name, [])):
        try:
            with transaction.atomic():
                handler(**payload)
        except Exception:
            logger.exception(
                "handler %s of %s failed", getattr(handler, "__qualname__", handler), name
            )
