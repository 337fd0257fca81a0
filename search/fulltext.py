"""The two full-text engines behind one interface, chosen from the database vendor:
PostgreSQL full-text search (services mode) and SQLite FTS5 (embedded mode).

``install(connection)`` creates what the engine needs beside ``search_searchdocument``
(run by migration 0002 and again, harmlessly, by ``manage.py search_rebuild``: SQLite
drops a table's triggers when a later migration rebuilds the table). ``matching()`` narrows
a queryset of documents to those matching a parsed query, annotated with ``rank`` (higher
is better); ``snippets()`` returns the highlighted title and excerpt of a page of hits.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db import connection as default_connection
from django.db.models import QuerySet

from search.query import ParsedQuery, to_fts5, to_tsquery

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
SQLITE_SCHEMA = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        title, body, content='{TABLE}', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER IF NOT EXISTS search_fts_insert AFTER INSERT ON {TABLE} BEGIN
        INSERT INTO {FTS_TABLE}(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS search_fts_delete AFTER DELETE ON {TABLE} BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS search_fts_update AFTER UPDATE OF title, body ON {TABLE}
    BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO {FTS_TABLE}(rowid, title, body) VALUES (new.id, new.title, new.body);
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


def _is_pg(documents: QuerySet) -> bool:
    return documents.db == "default" and default_connection.vendor == "postgresql"


def matching(documents: QuerySet, parsed: ParsedQuery) -> QuerySet:
    """``documents`` that match ``parsed`` (a filter, no ranking)."""
    if _is_pg(documents):
        return documents.extra(where=[_pg_match_sql()], params=_pg_match_params(parsed))
    return documents.extra(
        tables=[FTS_TABLE],
        where=[f"{FTS_TABLE}.rowid = {TABLE}.id", f"{FTS_TABLE} MATCH %s"],
        params=[to_fts5(parsed)],
    )


def ranked(documents: QuerySet, parsed: ParsedQuery) -> QuerySet:
    """The most recent ``MAX_CANDIDATES`` of ``documents`` matching ``parsed``, annotated
    with ``rank`` (higher is better)."""
    # Read as a list: the engines' SQL names the document table, which Django renames
    # inside a subquery.
    candidates = list(
        matching(documents, parsed)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)[:MAX_CANDIDATES]
    )
    recent = documents.model.objects.filter(id__in=candidates)
    if _is_pg(documents):
        return recent.extra(
            select={
                "rank": f"ts_rank_cd({TABLE}.search_vector, "
                f"to_tsquery({TABLE}.config::regconfig, lyceum_search_unaccent(%s)), 1)"
            },
            select_params=[to_tsquery(parsed)],
        )
    return recent.extra(
        tables=[FTS_TABLE],
        where=[f"{FTS_TABLE}.rowid = {TABLE}.id", f"{FTS_TABLE} MATCH %s"],
        params=[to_fts5(parsed)],
        # bm25: lower is better; the title weighs four times the body.
        select={"rank": f"-bm25({FTS_TABLE}, 4.0, 1.0)"},
    )


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


def snippets(ids: list[int], parsed: ParsedQuery) -> dict[int, tuple[str, str]]:
    """``{document id: (title, excerpt)}`` with the matched words between MARK_START and
    MARK_END; the text is not escaped yet (search/selectors.py escapes it)."""
    if not ids:
        return {}
    with default_connection.cursor() as cursor:
        if default_connection.vendor == "postgresql":
            text = to_tsquery(parsed)
            marks = f"StartSel={MARK_START}, StopSel={MARK_END}"
            cursor.execute(
                f"""SELECT id,
                    ts_headline(config::regconfig, title, q, %s),
                    ts_headline(config::regconfig, body, q, %s)
                FROM {TABLE}, to_tsquery(config::regconfig, lyceum_search_unaccent(%s)) AS q
                WHERE id = ANY(%s)""",
                [
                    f"HighlightAll=true, {marks}",
                    f"{marks}, MaxWords={SNIPPET_WORDS}, MinWords=8, MaxFragments=2, "
                    'FragmentDelimiter=" … "',
                    text,
                    ids,
                ],
            )
        else:
            placeholders = ", ".join("%s" for _ in ids)
            cursor.execute(
                f"""SELECT rowid, highlight({FTS_TABLE}, 0, %s, %s),
                    snippet({FTS_TABLE}, 1, %s, %s, '…', %s)
                FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid IN ({placeholders})""",
                [MARK_START, MARK_END, MARK_START, MARK_END, SNIPPET_WORDS, to_fts5(parsed), *ids],
            )
        return {row[0]: (row[1] or "", row[2] or "") for row in cursor.fetchall()}
