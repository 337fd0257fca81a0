"""Searching: one function over both engines, the permission filters of every source,
the filters a person chooses, ranking and highlighting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape

from hub.accounts.models import User
from search import fulltext, registry
from search.models import SearchDocument
from search.query import ParsedQuery, parse

PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
MAX_PAGE = 50  # deeper pages: refine the query instead


@dataclass
class Filters:
    where: str | None = None  # a source's ``where``: conversation, forum, library, course
    where_id: int | None = None  # that conversation, forum or course
    space_id: int | None = None
    author_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    has_attachment: bool | None = None


@dataclass
class Hit:
    source: str
    kind: str
    object_id: int
    url: str
    title_html: str
    snippet_html: str
    context: str
    author: dict[str, Any] | None
    created_at: datetime
    has_attachment: bool
    space_id: int | None


@dataclass
class Results:
    hits: list[Hit] = field(default_factory=list)
    page: int = 1
    has_next: bool = False


def highlighted(text: str) -> str:
    """``text`` escaped, its engine marks turned into ``<mark>``: the only markup."""
    html = escape(text)
    html = html.replace(fulltext.MARK_START, "<mark>").replace(fulltext.MARK_END, "</mark>")
    return html + "</mark>" * (html.count("<mark>") - html.count("</mark>"))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def readable_documents(*, user: Any, where: str | None = None) -> Any:
    """Every document ``user`` may read now (of the sources ``where`` selects)."""
    rule = Q(pk__in=[])
    for source in registry.sources():
        if where is None or source.where == where:
            rule |= Q(source=source.key) & source.readable(user)
    return SearchDocument.objects.filter(rule)


def search(
    *,
    user: Any,
    query: str | ParsedQuery,
    filters: Filters | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> Results:
    """The page ``page`` of what ``user`` may read matching ``query``, best first (relevance,
    then the most recent). Raises ``search.query.QueryTooLong``."""
    parsed = parse(query) if isinstance(query, str) else query
    filters = filters or Filters()
    page = max(1, min(page, MAX_PAGE))
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    if parsed.is_empty or not getattr(user, "is_authenticated", False):
        return Results(page=page)
    docs = readable_documents(user=user, where=filters.where)
    if filters.where_id is not None:
        docs = docs.filter(container_id=filters.where_id)
    if filters.space_id is not None:
        docs = docs.filter(space_id=filters.space_id)
    if filters.author_id is not None:
        docs = docs.filter(author_id=filters.author_id)
    if filters.date_from is not None:
        docs = docs.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to is not None:
        docs = docs.filter(created_at__lt=_day_start(filters.date_to + timedelta(days=1)))
    if filters.has_attachment is not None:
        docs = docs.filter(has_attachment=filters.has_attachment)
    start = (page - 1) * page_size
    rows = list(
        fulltext.ranked(docs, parsed)
        .order_by("-rank", "-created_at", "-id")
        .values(
            "id",
            "source",
            "object_id",
            "container_id",
            "author_id",
            "created_at",
            "has_attachment",
            "label",
            "space_id",
            "rank",
        )[start : start + page_size + 1]
    )
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    marked = fulltext.snippets([r["id"] for r in rows], parsed)
    authors = {u.pk: u for u in User.objects.filter(pk__in={r["author_id"] for r in rows})}
    hits = []
    for row in rows:
        source = registry.get(row["source"])
        if source is None:  # a source no longer registered: its documents wait for rebuild
            continue
        doc = SearchDocument(**{k: v for k, v in row.items() if k not in ("rank",)})
        title, snippet = marked.get(row["id"], ("", ""))
        author = authors.get(row["author_id"])
        hits.append(
            Hit(
                source=source.key,
                kind=str(source.label),
                object_id=row["object_id"],
                url=source.url(doc),
                title_html=highlighted(title),
                snippet_html=highlighted(snippet),
                context=row["label"],
                author={"id": author.pk, "name": author.name} if author else None,
                created_at=row["created_at"],
                has_attachment=row["has_attachment"],
                space_id=row["space_id"],
            )
        )
    return Results(hits=hits, page=page, has_next=has_next)
