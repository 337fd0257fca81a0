"""Searching: one function over both engines, the permission filters of every source,
the filters a person chooses, ranking and highlighting."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape

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


def _scopes(user: Any, chosen: list[registry.SearchSource]) -> dict[Any, set[int]]:
    """What ``user`` reads now, per scope function of ``chosen``: every source's ids in one
    query (a ``UNION ALL`` of the apps' own selectors), read once per search."""
    functions = list(dict.fromkeys(s.scope for s in chosen if s.scope is not None))
    found: dict[Any, set[int]] = {f: set() for f in functions}
    parts, params = [], []
    for number, function in enumerate(functions):
        queryset = function(user).order_by()
        try:
            sql, part_params = queryset.query.get_compiler(using=queryset.db).as_sql()
        except EmptyResultSet:  # the selector knows it is empty: nothing to read
            continue
        parts.append(f"SELECT {number}, s{number}.* FROM ({sql}) AS s{number}")
        params.extend(part_params)
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for number, pk in cursor.fetchall():
                found[functions[number]].add(pk)
    return found


def _id_list(column: str, ids: set[int]) -> tuple[str, list[Any]]:
    """``column`` among ``ids``, as one parameter whatever their number."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [sorted(ids)]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(sorted(ids))]


def readable_documents(*, user: Any, where: str | None = None) -> Any:
    """Every document ``user`` may read now (of the sources ``where`` selects): each
    source's documents whose scope column is among what the person reads, the scopes read
    once here (permissions stay exact: nothing is cached between searches)."""
    chosen = [s for s in registry.sources() if where is None or s.where == where]
    scopes = _scopes(user, chosen)
    table = SearchDocument._meta.db_table
    arms: list[str] = []
    params: list[Any] = []
    by_scope: dict[tuple[Any, str], list[str]] = {}
    for source in chosen:
        if source.scope is not None:
            by_scope.setdefault((source.scope, source.scope_column), []).append(source.key)
        else:  # a rule as a Q: its own subquery
            rule = SearchDocument.objects.filter(Q(source=source.key) & source.readable(user))
            try:
                sql, rule_params = rule.values("id").query.get_compiler(using="default").as_sql()
            except EmptyResultSet:
                continue
            arms.append(f"{table}.id IN ({sql})")
            params.extend(rule_params)
    for (function, column), keys in by_scope.items():
        ids = scopes[function]
        if not ids:
            continue
        id_sql, id_params = _id_list(f"{table}.{column}", ids)
        marks = ", ".join("%s" for _ in keys)
        arms.append(f"({table}.source IN ({marks}) AND {id_sql})")
        params.extend([*keys, *id_params])
    if not arms:
        return SearchDocument.objects.none()
    return SearchDocument.objects.extra(where=["(" + " OR ".join(arms) + ")"], params=params)


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
    rows = fulltext.hits(
        docs,
        parsed,
        offset=(page - 1) * page_size,
        limit=page_size + 1,
        container_id=filters.where_id,
        sources=tuple(s.key for s in registry.sources() if s.where == filters.where)
        if filters.where is not None
        else (),
    )
    has_next = len(rows) > page_size
    rows = rows[:page_size]
    documents: dict[int, SearchDocument] = {
        row["id"]: SearchDocument(**{k: row[k] for k in fulltext.HIT_COLUMNS}) for row in rows
    }
    urls: dict[int, str] = {}
    for key in dict.fromkeys(row["source"] for row in rows):
        source = registry.get(key)
        if source is None:  # a source no longer registered: its documents wait for rebuild
            continue
        docs_of = [documents[row["id"]] for row in rows if row["source"] == key]
        links = source.urls(docs_of) if source.urls else [source.url(d) for d in docs_of]
        urls.update(zip((d.pk for d in docs_of), links, strict=True))
    hits = []
    for row in rows:
        source = registry.get(row["source"])
        if source is None:
            continue
        hits.append(
            Hit(
                source=source.key,
                kind=str(source.label),
                object_id=row["object_id"],
                url=urls[row["id"]],
                title_html=highlighted(row["title"]),
                snippet_html=highlighted(row["snippet"]),
                context=row["label"],
                author={"id": row["author_id"], "name": row["author_name"]}
                if row["author_name"] is not None
                else None,
                created_at=row["created_at"],
                has_attachment=row["has_attachment"],
                space_id=row["space_id"],
            )
        )
    return Results(hits=hits, page=page, has_next=has_next)
