"""The two full-text engines behind one interface, chosen from the database vendor:
PostgreSQL full-text search (services mode) and SQLite FTS5 (embedded mode).

``install(connection)`` creates what the engine needs beside ``search_searchdocument``
(run by migration 0002 and again, harmlessly, by ``manage.py search_rebuild``: SQLite
drops a table's triggers when a later migration rebuilds the table). ``matching()`` narrows
a queryset of documents to those matching a parsed query, annotated with ``rank`` (higher
is better); ``snippets()`` returns the highlighted title and excerpt of a page of hits.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, transaction
from django.db import connection as default_connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils.dateparse import parse_datetime

from search.query import WORD_RE, ParsedQuery, to_fts5, to_tsquery

TABLE = "search_searchdocument"
FTS_TABLE = "search_fts"
# Highlight marks from the engines: private-use characters, removed from indexed text
# (search/indexing.py), so the only ones in a snippet are the engine's.
MARK_START = "\ue000"
MARK_END = "\ue001"
SNIPPET_WORDS = 24


def configs() -> list[str]:
    """The PostgreSQL text search configurations in use: 'simple' and the spaces' own."""
    chosen = getattr(settings, "LYCEUM_SEARCH", {}).get("SPACE_CONFIGS", {})
    return sorted({"simple", *chosen.values()})


# -- schema ---------------------------------------------------------------------------------
# The source and the container (conversation, forum, course) are two more columns, so a
# search narrowed to one container is an intersection of match lists inside FTS5 (the
# words', the source's, the container id's) instead of a walk of the words' whole list
# checking each row's container. The source is needed too: container ids are per source
# (conversation 1 and forum 1 are both "1"; in the bench, forum 1 holds 100,000 posts
# beside conversation 1's 5,000 messages). Typed words are matched in title and body only
# (``fts5_match``): a number typed never matches a container.
SQLITE_SCHEMA = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        title, body, source, container_id, content='{TABLE}', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER IF NOT EXISTS search_fts_insert AFTER INSERT ON {TABLE} BEGIN
        INSERT INTO {FTS_TABLE}(rowid, title, body, source, container_id)
        VALUES (new.id, new.title, new.body, new.source, new.container_id);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS search_fts_delete AFTER DELETE ON {TABLE} BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body, source, container_id)
        VALUES ('delete', old.id, old.title, old.body, old.source, old.container_id);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS search_fts_update
    AFTER UPDATE OF title, body, source, container_id ON {TABLE}
    BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body, source, container_id)
        VALUES ('delete', old.id, old.title, old.body, old.source, old.container_id);
        INSERT INTO {FTS_TABLE}(rowid, title, body, source, container_id)
        VALUES (new.id, new.title, new.body, new.source, new.container_id);
    END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS search_fts_insert",
    "DROP TRIGGER IF EXISTS search_fts_delete",
    "DROP TRIGGER IF EXISTS search_fts_update",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]

# unaccent is STABLE (its dictionary can change); the index needs an IMMUTABLE function,
# hence this wrapper naming the dictionary explicitly (the usual recipe).
PG_UNACCENT = """CREATE OR REPLACE FUNCTION lyceum_search_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1) $$"""
# Without the extension (a database role that may not create it): accents stay significant.
PG_NO_UNACCENT = """CREATE OR REPLACE FUNCTION lyceum_search_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$ SELECT $1 $$"""
PG_SCHEMA = [
    """CREATE OR REPLACE FUNCTION search_document_vector() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.search_vector :=
            setweight(to_tsvector(NEW.config::regconfig,
                                  lyceum_search_unaccent(coalesce(NEW.title, ''))), 'A')
            || setweight(to_tsvector(NEW.config::regconfig,
                                     lyceum_search_unaccent(coalesce(NEW.body, ''))), 'B');
        RETURN NEW;
    END $$""",
]
# Created only when missing: DDL on the table would fail inside a transaction that wrote
# to it (PostgreSQL: "pending trigger events"), as a rebuild after writes does.
PG_TRIGGER = f"""CREATE TRIGGER search_document_vector
    BEFORE INSERT OR UPDATE OF title, body, config
    ON {TABLE} FOR EACH ROW EXECUTE FUNCTION search_document_vector()"""
PG_INDEX = f"CREATE INDEX search_document_fts ON {TABLE} USING gin (search_vector)"
PG_DROP = [
    "DROP INDEX IF EXISTS search_document_fts",
    f"DROP TRIGGER IF EXISTS search_document_vector ON {TABLE}",
    "DROP FUNCTION IF EXISTS search_document_vector()",
    "DROP FUNCTION IF EXISTS lyceum_search_unaccent(text)",
]


def install(connection: Any = default_connection) -> None:
    """Create the engine's index and the triggers that keep it current (idempotent)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            for statement in SQLITE_SCHEMA:
                cursor.execute(statement)
        elif connection.vendor == "postgresql":
            cursor.execute(_pg_unaccent(connection))
            for statement in PG_SCHEMA:
                cursor.execute(statement)
            cursor.execute(
                "SELECT 1 FROM pg_trigger WHERE tgname = 'search_document_vector' "
                "AND tgrelid = %s::regclass",
                [TABLE],
            )
            if cursor.fetchone() is None:
                cursor.execute(PG_TRIGGER)
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'search_document_fts'")
            if cursor.fetchone() is None:
                cursor.execute(PG_INDEX)


def reinstall(connection: Any = default_connection) -> None:
    """SQLite: recreate the FTS5 table and its triggers with the current schema and index
    every document again (a schema change of the index: ``CREATE ... IF NOT EXISTS`` would
    keep the old table). PostgreSQL: ``install``."""
    if connection.vendor != "sqlite":
        install(connection)
        return
    uninstall(connection)
    install(connection)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")


def uninstall(connection: Any = default_connection) -> None:
    with connection.cursor() as cursor:
        for statement in {"sqlite": SQLITE_DROP, "postgresql": PG_DROP}.get(connection.vendor, []):
            cursor.execute(statement)


def _pg_unaccent(connection: Any) -> str:
    """The wrapper over unaccent, creating the extension when the role may."""
    with connection.cursor() as cursor:
        try:
            with transaction.atomic(using=connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        except DatabaseError:  # no privilege, or not packaged: go without
            return PG_NO_UNACCENT
        cursor.execute(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'"
        )
        return PG_UNACCENT.format(schema=cursor.fetchone()[0])


# -- queries --------------------------------------------------------------------------------
# Ranking reads every matching row's index entry: for a word in a third of a million rows
# that is seconds. Only the most recent matches are ranked (docs/SEARCH.md, *Limits*).
MAX_CANDIDATES = 2_000
# PostgreSQL, for a short prefix, a phrase or a search narrowed to one container: the
# matches are first looked for among the newest RECENT_WINDOW documents the person may read
# (with their filters), read newest first; when that window holds at least
# RECENT_MIN_MATCHES of them, or is every such document, the candidates are those.
# Otherwise the search reads every match as before. A longer prefix (a word being finished)
# expands to few words: the planner's own plan serves it (the window would cost a rare
# word ~0.1 s for nothing). docs/SEARCH.md, *Limits*; docs/PERFORMANCE.md, *Search*.
RECENT_WINDOW = 10_000
RECENT_MIN_MATCHES = 20
RECENT_PREFIX_MAX = 5  # letters


def _is_pg(documents: QuerySet) -> bool:
    return documents.db == "default" and default_connection.vendor == "postgresql"


def fts5_match(
    parsed: ParsedQuery, container_id: int | None = None, sources: tuple[str, ...] = ()
) -> str:
    """The FTS5 MATCH of ``parsed``: its words in the title and body columns only, and,
    for a search narrowed to one container of ``sources``, that container's id and those
    sources' keys (the caller keeps its own filters: the tokens narrow the read, the
    filters stay exact)."""
    match = f"{{title body}} : ({to_fts5(parsed)})"
    if container_id is not None:
        match += f' AND container_id : "{int(container_id)}"'
        # A key is letters and underscores: "forum_post" is the phrase "forum post".
        keys = [" ".join(WORD_RE.findall(key.lower())) for key in sources]
        keys = [k for k in keys if k]
        if keys:
            match += " AND source : (" + " OR ".join(f'"{k}"' for k in keys) + ")"
    return match


def matching(
    documents: QuerySet,
    parsed: ParsedQuery,
    *,
    container_id: int | None = None,
    sources: tuple[str, ...] = (),
) -> QuerySet:
    """``documents`` that match ``parsed`` (a filter, no ranking)."""
    if _is_pg(documents):
        return documents.extra(where=[_pg_match_sql()], params=_pg_match_params(parsed))
    return documents.extra(
        tables=[FTS_TABLE],
        where=[f"{FTS_TABLE}.rowid = {TABLE}.id", f"{FTS_TABLE} MATCH %s"],
        params=[fts5_match(parsed, container_id, sources)],
    )


# The columns of a hit, as ``hits()`` returns them.
HIT_COLUMNS = (
    "id",
    "source",
    "object_id",
    "container_id",
    "author_id",
    "created_at",
    "has_attachment",
    "label",
    "space_id",
)


def hits(
    documents: QuerySet,
    parsed: ParsedQuery,
    *,
    offset: int,
    limit: int,
    container_id: int | None = None,
    sources: tuple[str, ...] = (),
) -> list[dict]:
    """A page of ``documents`` matching ``parsed``, best first, in one query: the most
    recent ``MAX_CANDIDATES`` matches (early stop: an index read newest first for a common
    word, the full-text index for a rare one), ranked, the page cut, then only its rows
    highlighted and their authors' names joined. Each hit: ``HIT_COLUMNS``, ``rank``,
    ``title`` and ``snippet`` (engine marks, not escaped), ``author_name``.
    ``container_id``, ``sources``: ``documents`` are narrowed to that container of those
    sources (a hint for the engine's read, not a filter)."""
    from django.contrib.auth import get_user_model

    users = get_user_model()._meta.db_table
    build = _pg_hits_sql if _is_pg(documents) else _sqlite_hits_sql
    try:
        sql, params = build(
            documents,
            parsed,
            offset=offset,
            limit=limit,
            users=users,
            container_id=container_id,
            sources=sources,
        )
    except EmptyResultSet:  # a filter that can match nothing (none())
        return []
    with default_connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    from hub.accounts.models import User

    marks = (
        {}
        if _is_pg(documents)
        else _sqlite_marks([row[0] for row in rows], fts5_match(parsed, container_id, sources))
    )
    out = []
    for row in rows:
        hit = dict(zip(HIT_COLUMNS, row[: len(HIT_COLUMNS)], strict=True))
        rank, title, snippet, username, first, last, display = row[len(HIT_COLUMNS) :]
        if hit["id"] in marks:
            title, snippet = marks[hit["id"]]
        hit.update(rank=rank, title=title or "", snippet=snippet or "")
        # The name as ``User.name`` words it, without loading the whole row.
        hit["author_name"] = (
            User(username=username, first_name=first, last_name=last, display_name=display).name
            if username is not None
            else None
        )
        if isinstance(hit["created_at"], str):  # SQLite through a subquery: text (UTC)
            hit["created_at"] = parse_datetime(hit["created_at"]).replace(tzinfo=UTC)
        hit["has_attachment"] = bool(hit["has_attachment"])
        out.append(hit)
    return out


def _compiled(queryset: QuerySet) -> tuple[str, list[Any]]:
    # Compiled on its own (not as a subquery): the engines' SQL names the document table,
    # which Django would alias inside a subquery.
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    return sql, list(params)


_AUTHOR_COLUMNS = "u.username, u.first_name, u.last_name, u.display_name"
_HIT_SELECT = ", ".join(f"r.{c}" for c in HIT_COLUMNS)


def _pg_query_case(parsed: ParsedQuery, column: str) -> tuple[str, list[str]]:
    """The tsquery of a row's configuration: one constant per configuration in use (folded
    once by the planner, not rebuilt per row)."""
    text = to_tsquery(parsed)
    arms = " ".join(
        "WHEN %s THEN to_tsquery(%s::regconfig, lyceum_search_unaccent(%s))" for _ in configs()
    )
    params = [v for config in configs() for v in (config, config, text)]
    return f"(CASE {column} {arms} END)", params


def _pg_hits_sql(
    documents: QuerySet,
    parsed: ParsedQuery,
    *,
    offset: int,
    limit: int,
    users: str,
    container_id: int | None = None,
    sources: tuple[str, ...] = (),
) -> tuple[str, list[Any]]:
    candidates, candidate_params = _compiled(
        matching(documents, parsed)
        .order_by("-created_at", "-id")
        .values(*HIT_COLUMNS, "config", "search_vector")[:MAX_CANDIDATES]
    )
    short_prefix = parsed.prefix is not None and len(parsed.prefix) <= RECENT_PREFIX_MAX
    if container_id is not None or short_prefix or parsed.phrases:
        candidates, candidate_params = _pg_recent_first(
            documents, parsed, candidates, candidate_params, one_container=container_id is not None
        )
    rank_query, rank_params = _pg_query_case(parsed, "c.config")
    title_query, title_params = _pg_query_case(parsed, "r.config")
    body_query, body_params = _pg_query_case(parsed, "r.config")
    marks = f"StartSel={MARK_START}, StopSel={MARK_END}"
    sql = f"""SELECT {_HIT_SELECT}, r.rank,
            ts_headline(r.config::regconfig, t.title, {title_query}, %s),
            ts_headline(r.config::regconfig, t.body, {body_query}, %s),
            {_AUTHOR_COLUMNS}
        FROM (
            SELECT c.*, ts_rank_cd(c.search_vector, {rank_query}, 1) AS rank
            FROM ({candidates}) AS c
            ORDER BY rank DESC, c.created_at DESC, c.id DESC
            LIMIT %s OFFSET %s
        ) AS r
        JOIN {TABLE} AS t ON t.id = r.id
        LEFT JOIN {users} AS u ON u.id = r.author_id
        ORDER BY r.rank DESC, r.created_at DESC, r.id DESC"""
    params = [
        *title_params,
        f"HighlightAll=true, {marks}",
        *body_params,
        f'{marks}, MaxWords={SNIPPET_WORDS}, MinWords=8, MaxFragments=2, FragmentDelimiter=" … "',
        *rank_params,
        *candidate_params,
        limit,
        offset,
    ]
    return sql, params


def _pg_recent_first(
    documents: QuerySet,
    parsed: ParsedQuery,
    every: str,
    every_params: list[Any],
    *,
    one_container: bool = False,
) -> tuple[str, list[Any]]:
    """The candidates read from the newest readable documents first (one statement).

    Why: a prefix expands to many words and a phrase needs each row's positions, so the
    planner cannot tell how many rows match; at a million rows it may take the full-text
    index and fetch every match (~20,000 rows for a 4-letter prefix) to keep the newest,
    or walk the whole table newest first for a rare phrase of common words. A container's
    filter (one conversation) collides in the statistics with other sources' containers of
    the same id, and the planner walks the table for its rows. Here the readable documents
    (permission filters and the person's own, exactly as for ``every``) are read newest
    first, at most ``RECENT_WINDOW`` of them (behind a LIMIT: the planner cannot push the
    match into that read, and takes the conversation's own index for a container), the
    match checked on each, stopping at the cap. That window is kept when it holds at least
    ``RECENT_MIN_MATCHES`` matches or is every readable document (then it is exact);
    otherwise ``every`` (all matches, newest ``MAX_CANDIDATES``) is read instead. Either
    way only documents the person may read are candidates.

    ``one_container``: the window is that container's rows, found by its index and sorted.
    Ordered by ``created_at`` itself, the planner walks the whole ``created_at`` index
    newest first instead (EXPLAIN at a million rows: 0.4-1.1 s, 600,000-1,000,000 rows
    read for a conversation of 5,000): a container id is also another source's container
    (a forum of the same id holding 100,000 posts), so it believes the conversation's rows
    are many and near. Extended statistics on (source, container_id) did not change that
    plan; an order on an expression no index has does."""
    order = "-created_at"
    if one_container:
        order = RawSQL(f"{TABLE}.created_at + interval '0 seconds'", []).desc()
    window, window_params = _compiled(
        documents.order_by(order, "-id").values(*HIT_COLUMNS, "config", "search_vector")[
            :RECENT_WINDOW
        ]
    )
    size, size_params = _compiled(documents.order_by().values("id")[:RECENT_WINDOW])
    # The window's own rows, aliased as the table: the match condition names its columns so.
    kept = f"((SELECT count(*) FROM recent) >= %s OR (SELECT count(*) FROM ({size}) AS n) < %s)"
    kept_params = [RECENT_MIN_MATCHES, *size_params, RECENT_WINDOW]
    sql = f"""WITH recent AS MATERIALIZED (
            SELECT * FROM ({window}) AS {TABLE}
            WHERE {_pg_match_sql()}
            ORDER BY {TABLE}.created_at DESC, {TABLE}.id DESC
            LIMIT %s
        )
        SELECT * FROM recent WHERE {kept}
        UNION ALL
        SELECT * FROM ({every}) AS every WHERE NOT {kept}"""
    params = [
        *window_params,
        *_pg_match_params(parsed),
        MAX_CANDIDATES,
        *kept_params,
        *every_params,
        *kept_params,
    ]
    return sql, params


def _sqlite_hits_sql(
    documents: QuerySet,
    parsed: ParsedQuery,
    *,
    offset: int,
    limit: int,
    users: str,
    container_id: int | None = None,
    sources: tuple[str, ...] = (),
) -> tuple[str, list[Any]]:
    match = fts5_match(parsed, container_id, sources)
    # FTS5 reads a word's matches newest first (ORDER BY rowid DESC: no sort) and stops at
    # the cap: a document's id is the order it was indexed in, so the candidates are the
    # most recently indexed matches. bm25 (lower is better; title x4) is computed in the
    # same pass, for the candidates only. The title and excerpt come after (_sqlite_marks).
    candidates, candidate_params = _compiled(
        documents.extra(
            tables=[FTS_TABLE],
            where=[f"{FTS_TABLE}.rowid = {TABLE}.id", f"{FTS_TABLE} MATCH %s"],
            params=[match],
            # The source and container columns weigh nothing: filters, not relevance.
            select={
                "rank": f"-bm25({FTS_TABLE}, 4.0, 1.0, 0.0, 0.0)",
                "fts_id": f"{FTS_TABLE}.rowid",
            },
        )
        .order_by("-fts_id")
        .values(*HIT_COLUMNS, "rank")[:MAX_CANDIDATES]
    )
    sql = f"""SELECT {_HIT_SELECT}, r.rank, '', '', {_AUTHOR_COLUMNS}
        FROM (
            SELECT c.* FROM ({candidates}) AS c
            ORDER BY c.rank DESC, c.created_at DESC, c.id DESC
            LIMIT %s OFFSET %s
        ) AS r
        LEFT JOIN {users} AS u ON u.id = r.author_id
        ORDER BY r.rank DESC, r.created_at DESC, r.id DESC"""
    return sql, [*candidate_params, limit, offset]


def _sqlite_marks(ids: list[int], match: str) -> dict[int, tuple[str, str]]:
    """The page's titles and excerpts, highlighted. FTS5 needs a MATCH for them; asked row
    by row (``rowid = ?``) it reads a common word's whole match list each time, so this
    reads the matches once between the page's lowest and highest ids (FTS5 seeks to a
    rowid range) and keeps the page's rows."""
    if not ids:
        return {}
    placeholders = ", ".join("%s" for _ in ids)
    with default_connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT rowid, highlight({FTS_TABLE}, 0, %s, %s),
                snippet({FTS_TABLE}, 1, %s, %s, '…', %s)
            FROM {FTS_TABLE}
            WHERE {FTS_TABLE} MATCH %s AND rowid BETWEEN %s AND %s
                AND +rowid IN ({placeholders})""",
            [
                MARK_START,
                MARK_END,
                MARK_START,
                MARK_END,
                SNIPPET_WORDS,
                match,
                min(ids),
                max(ids),
                *ids,
            ],
        )
        return {row[0]: (row[1] or "", row[2] or "") for row in cursor.fetchall()}


def _pg_match_sql() -> str:
    # One condition per configuration in use, each on the rows indexed with it: each arm
    # can use the GIN index (a query built from the row's own config could not).
    arm = (
        f"({TABLE}.config = %s AND {TABLE}.search_vector @@ "
        f"to_tsquery(%s::regconfig, lyceum_search_unaccent(%s)))"
    )
    return "(" + " OR ".join(arm for _ in configs()) + ")"


def _pg_match_params(parsed: ParsedQuery) -> list[str]:
    text = to_tsquery(parsed)
    return [value for config in configs() for value in (config, config, text)]
