"""The topic registry: which topic kinds exist, who may subscribe, what they missed, what
they may do. Each app declares its topics in its own ``realtime.py`` (ARCHITECTURE §3)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser

from hub.realtime.errors import GatewayError

# `<app>.<kind>.<key>[.<facet>]`: ASCII, usable as a channel-layer group name as it is.
TOPIC_RE = re.compile(
    r"^([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.([A-Za-z0-9_-]{1,40})(?:\.([a-z][a-z0-9_]*))?$"
)
MAX_TOPIC_LENGTH = 99
# A numeric key names a row: it must fit the BIGINT primary key it is looked up by.
MAX_KEY_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a topic. ``id`` is set for durable events (increasing per topic)."""

    type: str
    data: dict[str, Any]
    id: int | None = None


@dataclass(slots=True)
class ActionSpec:
    name: str
    method: Callable[..., Any]
    serializer: type | None = None


@dataclass(slots=True)
class TopicName:
    """A parsed topic name."""

    text: str
    kind: str  # "<app>.<kind>", or "<app>.<kind>.<facet>" for faceted topics
    key: str


class Topic:
    """Base class of a topic kind. Methods run in a worker thread (they may query the DB).

    Subclasses set ``presence = True`` to track who is connected to each of their topics.
    """

    kind: str = ""
    presence: bool = False
    actions: dict[str, ActionSpec] = {}

    def authorize(self, user: Any, key: str) -> bool:
        """May ``user`` subscribe to ``<kind>.<key>``? Default: nobody."""
        return False

    def backlog(self, user: Any, key: str, since: int, limit: int) -> list[Event]:
        """Durable events with ``id > since``, oldest first, at most ``limit``."""
        return []

    def presence_payload(self, user: Any) -> dict[str, Any]:
        """What others see of ``user`` in this topic's presence list."""
        return {"id": user.pk, "name": getattr(user, "name", str(user))}

    def presence_left(self, user: Any, key: str) -> None:
        """``user``'s last socket on this topic (on every process) has gone: a closed tab,
        a lost network, an unsubscribe. Runs in a worker thread after ``presence.left`` is
        published; a topic whose state follows who is there (attendance) overrides it."""


_topics: dict[str, Topic] = {}


def topic(kind: str) -> Callable[[type[Topic]], type[Topic]]:
    """Class decorator: register a :class:`Topic` subclass for ``kind``.

    ``kind`` is ``"<app>.<kind>"`` or, for a faceted topic such as
    ``classrooms.course.<id>.progress``, ``"classrooms.course.progress"``.
    """

    def register(cls: type[Topic]) -> type[Topic]:
        if kind in _topics and type(_topics[kind]) is not cls:
            raise RuntimeError(f"topic kind {kind!r} registered twice")
        cls.kind = kind
        cls.actions = {
            spec.name: spec
            for attr in dir(cls)
            if (spec := getattr(getattr(cls, attr), "_realtime_action", None)) is not None
        }
        _topics[kind] = cls()
        return cls

    return register


def action(name: str, *, serializer: type | None = None) -> Callable[[Callable], Callable]:
    """Method decorator: expose ``method(self, user, key, data)`` as the ``act`` ``name``.

    ``serializer`` (a DRF serializer class, the same one REST uses) validates ``data``; the
    method receives ``serializer.validated_data``. Its return value is the ``ok`` frame's data.
    """

    def mark(method: Callable) -> Callable:
        method._realtime_action = ActionSpec(name=name, method=method, serializer=serializer)  # type: ignore[attr-defined]
        return method

    return mark


def parse_topic(text: Any) -> TopicName:
    """Parse and validate a topic name, raising ``GatewayError`` on anything malformed."""
    if not isinstance(text, str) or len(text) > MAX_TOPIC_LENGTH:
        raise GatewayError("invalid", "topic must be a string of at most 99 characters")
    match = TOPIC_RE.match(text)
    if not match:
        raise GatewayError("invalid", "topic must look like <app>.<kind>.<id>[.<facet>]")
    app, kind, key, facet = match.groups()
    if key.isdigit() and int(key) > MAX_KEY_ID:
        raise GatewayError("invalid", "topic ids must fit in 64 bits")
    full_kind = f"{app}.{kind}.{facet}" if facet else f"{app}.{kind}"
    if full_kind not in _topics:
        raise GatewayError("not_found", f"unknown topic kind {full_kind!r}")
    return TopicName(text=text, kind=full_kind, key=key)


def get_topic(kind: str) -> Topic:
    return _topics[kind]


def registered_kinds() -> list[str]:
    return sorted(_topics)


def is_anonymous(user: Any) -> bool:
    return user is None or isinstance(user, AnonymousUser) or not user.is_authenticated


__all__ = ["Event", "Topic", "action", "get_topic", "parse_topic", "topic"]
