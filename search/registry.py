"""The registry of search sources: what can be searched, and by whom.

A source is one kind of row (chat messages, forum posts, library items, courses, blog
posts...). It tells the search app three things (docs/SEARCH.md):

- how to index a row: ``document(row)`` returns the text and the filter columns, or
  ``None`` when the row must not be found (deleted, hidden, awaiting moderation);
- which rows a person may read: ``scope(user)``, the ids of what the person reads (a
  values queryset from the app's own selector: their conversations, forums, courses...),
  matched against ``scope_column`` of the documents (``container_id`` by default, or
  ``object_id``). Search reads every source's scope in one query, once per search, then
  matches documents on those indexed columns; ``readable(user)`` is the same rule as a
  ``Q`` (derived from ``scope``; a source may give a ``Q`` of its own instead, slower);
- how to link to a hit: ``url(document)``.

The search app keeps each source's documents current through ``watch``: for every model
listed, a save or a delete re-indexes the rows that the function returns (the row itself
for the source's own model). Writes that bypass ``save()`` (``QuerySet.update``, raw SQL)
name the rows through a domain event instead (``events``: each event carries
``object_id=``). Registering from an app's ``AppConfig.ready()``::

    from search.registry import SearchSource, register
    register(SearchSource(key="blog_post", where="blog", model=BlogPost, ...))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Model, Q, QuerySet


@dataclass
class Document:
    """What a source returns for a row: the searchable text and the filter columns."""

    space_id: int | None
    container_id: int | None
    author_id: int | None
    created_at: datetime
    title: str = ""
    body: str = ""
    label: str = ""  # shown beside the hit: the conversation, thread or course it is in
    has_attachment: bool = False


@dataclass
class SearchSource:
    key: str  # stored in SearchDocument.source; ASCII, short
    where: str  # the ``where`` filter that selects it: conversation, forum, library, course...
    label: str  # shown on a hit ("Message", "Forum post")
    model: type[Model]
    document: Callable[[Any], Document | None]
    url: Callable[[Any], str]
    # Who reads what: ``scope(user)`` is a values queryset of ids matched against the
    # documents' ``scope_column`` ("container_id" or "object_id"). Sources sharing one
    # function (forum topics and posts) share its read.
    scope: Callable[[Any], QuerySet] | None = None
    scope_column: str = "container_id"
    # Or a ``Q`` over SearchDocument columns, for a rule ``scope`` cannot say (a subquery
    # per search: slower). Derived from ``scope`` when not given.
    readable_rule: Callable[[Any], Q] | None = None
    # Links of a page of hits at once (one query, not one per hit); else ``url`` per hit.
    urls: Callable[[list[Any]], list[str]] | None = None
    # Rows to index, with what ``document`` reads already joined (rebuild and re-index).
    queryset: Callable[[], QuerySet] | None = None
    # Other models whose writes change this source's documents: model -> the row ids.
    watch: dict[type[Model], Callable[[Any], Iterable[int]]] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    # Events announcing new rows of a busy source (chat): not indexed one by one in the
    # writer's request but by a background catch-up a moment later, in bulk, for every
    # recent row without a document (``indexing.catch_up``); rows need ``created_at``.
    created_events: tuple[str, ...] = ()
    where_label: str = ""  # the ``where`` choice on the page ("Conversations"); else label
    # False when ``events`` announce every write of the model itself: no save hook then
    # (its delete hook stays, for rows removed with their parent).
    save_hooks: bool = True

    def __post_init__(self) -> None:
        if self.scope is None and self.readable_rule is None:
            raise ValueError(f"search source {self.key!r}: give scope or readable_rule")
        if self.scope_column not in ("container_id", "object_id"):
            raise ValueError(f"search source {self.key!r}: scope_column {self.scope_column!r}")

    def readable(self, user: Any) -> Q:
        """The documents of this source ``user`` may read now, as a ``Q``."""
        if self.readable_rule is not None:
            return self.readable_rule(user)
        return Q(**{f"{self.scope_column}__in": self.scope(user)})

    def rows(self) -> QuerySet:
        return self.queryset() if self.queryset is not None else self.model._default_manager.all()


_sources: dict[str, SearchSource] = {}


def register(source: SearchSource) -> None:
    """Add a source (call from ``AppConfig.ready``); registering a key again replaces it."""
    _sources[source.key] = source
    from search import indexing  # connects the hooks of sources registered after ready()

    indexing.connect(source)


def sources() -> list[SearchSource]:
    return list(_sources.values())


def get(key: str) -> SearchSource | None:
    return _sources.get(key)


def where_kinds() -> list[str]:
    """The values the ``where`` filter accepts, in registration order."""
    return list(dict.fromkeys(s.where for s in _sources.values()))
