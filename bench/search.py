"""``python -m bench search``: search latency over many messages and forum posts.

Runs in-process against a throw-away test database (SQLite + FTS5 in embedded mode, a
scratch ``test_<name>`` PostgreSQL database with its GIN index when DATABASE_URL is set).
Builds ``--search-messages`` chat messages in 200 conversations and ``--search-posts``
forum posts in 50 topics, with bulk inserts: rows, then their search documents with one
``INSERT ... SELECT`` per source (the engine's triggers fill the full-text index as
``manage.py search_rebuild`` would; the Python indexer is not timed here). The text is
drawn from a 20,000-word vocabulary with a Zipf-like frequency, so some words are in a
third of the rows and others in a handful.

Then, as one reader (a member of 20 of the 200 conversations, a tenth of the messages,
and of the space with every post), it times ``search.selectors.search`` (the API's whole
work but HTTP: permission filters, ranking, the page of 20, highlighted snippets) for
query kinds: a common word, a rare word, two words, a prefix as typed, a phrase, and a
common word narrowed to one conversation (as typed, and finished by a space). Words are
typed as a person types them: without a space after, so the last word is also a prefix.
Reports p50 / p95 per kind, in ms.

``--search-keep NAME`` builds into the database ``NAME`` (PostgreSQL; a file path on
SQLite) and keeps it; a later run with the same ``NAME`` finds the data there and only
measures (a 1,000,000-row build takes minutes): before/after on the same data, and the
same database for EXPLAIN. Migrations are applied to it first, so a kept database follows
the schema. PostgreSQL bench databases are named ``lyceum_bench...``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
VOCABULARY = 20_000
CONVERSATIONS = 200
READER_CONVERSATIONS = 20
TOPICS = 50
BATCH = 20_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--search-messages", type=int, default=1_000_000)
    parser.add_argument("--search-posts", type=int, default=100_000)
    parser.add_argument("--search-repeats", type=int, default=40)
    parser.add_argument(
        "--search-keep",
        metavar="NAME",
        default=None,
        help="build into this database (kept), or reuse it when it holds the bench data",
    )


def _words(rng: random.Random) -> tuple[list[str], list[float]]:
    syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "so", "pe", "da", "zu", "gri"]
    words = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    ordered = sorted(words)
    rng.shuffle(ordered)
    # Cumulative weights, computed once (random.choices would redo it on every call).
    return ordered, list(itertools.accumulate(1 / (rank + 1) for rank in range(len(ordered))))


def _text(rng: random.Random, words: list[str], weights: list[float], n: int) -> str:
    return " ".join(rng.choices(words, cum_weights=weights, k=n))


def _texts(rng: random.Random, words: list[str], weights: list[float], lengths: range, n: int):
    """``n`` texts of ``lengths`` words each, drawn in large batches (one ``choices`` call
    per batch: a call per text costs more than the words)."""
    for first in range(0, n, BATCH):
        sizes = [rng.randint(lengths.start, lengths.stop) for _ in range(min(BATCH, n - first))]
        pool = rng.choices(words, cum_weights=weights, k=sum(sizes))
        at = 0
        for size in sizes:
            yield " ".join(pool[at : at + size])
            at += size


def _bulk_load(model: Any, fixed: dict[str, Any], varying: list[str], rows: Any) -> None:
    """Write ``rows`` (tuples of the ``varying`` attributes; every other column from a row
    built once from ``fixed``) the fastest way each database has: ``COPY ... FROM STDIN``
    on PostgreSQL, ``executemany`` in one transaction on SQLite. No model instances per
    row, no ``save()``, no signals: bench data only."""
    from django.db import connection, transaction

    fields = model._meta.concrete_fields
    table = model._meta.db_table
    columns = [f.column for f in fields]
    template = model(**fixed)
    base = []
    for field in fields:
        value = field.get_db_prep_save(getattr(template, field.attname), connection)
        base.append(value.adapted if hasattr(value, "adapted") else value)  # psycopg Json
    at = [next(i for i, f in enumerate(fields) if f.attname == name) for name in varying]
    dates = [
        i
        for i, name in enumerate(varying)
        if model._meta.get_field(name).get_internal_type() == "DateTimeField"
    ]
    pg = connection.vendor == "postgresql"

    def prepared(row: tuple) -> list[Any]:
        values = base.copy()
        for i, (index, value) in enumerate(zip(at, row, strict=True)):
            if i in dates and not pg:
                value = connection.ops.adapt_datetimefield_value(value)
            values[index] = value
        return values

    with transaction.atomic(), connection.cursor() as cursor:
        if pg:
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(prepared(row))
        else:
            placeholders = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
            batch: list[list[Any]] = []
            for row in rows:
                batch.append(prepared(row))
                if len(batch) >= BATCH:
                    cursor.cursor.executemany(sql, batch)
                    batch.clear()
            cursor.cursor.executemany(sql, batch)


def populate(messages: int, posts: int) -> dict[str, Any]:
    from django.db import connection, transaction
    from django.utils import timezone

    from forums.models import Forum, Post, Thread
    from hub.accounts.models import Role, Space
    from hub.accounts.services import roles_set, space_add_member, user_create
    from messaging.models import Conversation, Membership, Message

    rng = random.Random(22)
    words, weights = _words(rng)
    space = Space.objects.create(name="Bench", slug="bench-search")
    people = []
    for i in range(20):
        user = user_create(username=f"bench{i}", password="x" * 12, email="", display_name=f"B {i}")
        roles_set(user=user, roles=[Role.LEARNER])
        space_add_member(space=space, user=user)
        people.append(user)
    reader = people[0]
    conversations = Conversation.objects.bulk_create(
        Conversation(kind=Conversation.Kind.GROUP, title=f"Group {i}", space=space)
        for i in range(CONVERSATIONS)
    )
    Membership.objects.bulk_create(
        Membership(conversation=c, user=p)
        for i, c in enumerate(conversations)
        for p in (people if i < READER_CONVERSATIONS else people[1:])
    )
    now = timezone.now()
    start = time.perf_counter()
    _bulk_load(
        Message,
        {"conversation": conversations[0], "sender": people[0], "created_at": now},
        ["id", "conversation_id", "sender_id", "body", "body_html", "created_at"],
        (
            (
                n + 1,
                conversations[n % CONVERSATIONS].pk,
                people[n % len(people)].pk,
                text,
                f"<p>{text}</p>",
                now - dt.timedelta(seconds=messages - n),
            )
            for n, text in enumerate(_texts(rng, words, weights, range(6, 20), messages))
        ),
    )
    forum = Forum.objects.create(space=space, title="Bench forum")
    threads = [
        Thread.objects.create(
            forum=forum,
            author=people[i % 20],
            title=_text(rng, words, weights, 5),
            last_activity_at=now,
        )
        for i in range(TOPICS)
    ]
    first_post = (Post.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    _bulk_load(
        Post,
        {"thread": threads[0], "author": people[0], "created_at": now},
        ["id", "thread_id", "author_id", "body", "body_html", "created_at"],
        (
            (
                first_post + n,
                threads[n % TOPICS].pk,
                people[n % len(people)].pk,
                text,
                f"<p>{text}</p>",
                # Spread over the messages' span, interleaved with them.
                now - dt.timedelta(seconds=(posts - n) * max(1, messages // posts)),
            )
            for n, text in enumerate(_texts(rng, words, weights, range(20, 80), posts))
        ),
    )
    rows_s = time.perf_counter() - start
    start = time.perf_counter()
    from search import fulltext

    # Documents in the order the rows were written (as the indexer meets them), then the
    # full-text index built once over all of them: faster than row by row.
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP INDEX IF EXISTS search_document_fts")
        else:
            fulltext.uninstall(connection)
        cursor.execute(
            """INSERT INTO search_searchdocument (source, object_id, space_id, container_id,
                   author_id, created_at, has_attachment, title, body, label, config)
               SELECT * FROM (
                   SELECT 'message', m.id, c.space_id, c.id, m.sender_id, m.created_at,
                       %s, '', m.body, c.title, 'simple'
                   FROM messaging_message m JOIN messaging_conversation c
                       ON c.id = m.conversation_id
                   UNION ALL
                   SELECT 'forum_post', p.id, f.space_id, f.id, p.author_id, p.created_at,
                       %s, '', p.body, t.title, 'simple'
                   FROM forums_post p JOIN forums_thread t ON t.id = p.thread_id
                       JOIN forums_forum f ON f.id = t.forum_id
               ) AS rows ORDER BY 6""",
            [False, False],
        )
        if connection.vendor == "sqlite":
            fulltext.install(connection)
            cursor.execute(
                f"INSERT INTO {fulltext.FTS_TABLE}({fulltext.FTS_TABLE}) VALUES ('rebuild')"
            )
    if connection.vendor == "postgresql":
        # After the commit: the foreign keys' deferred checks forbid DDL before it.
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            fulltext.install(connection)
            cursor.execute("RESET maintenance_work_mem")
            cursor.execute("VACUUM ANALYZE")
    index_s = time.perf_counter() - start
    ranked = words[:5] + words[2000:2005] + words[15000:15005]
    return {
        "reader": reader,
        "conversation": conversations[0],
        "common": words[:5],
        "rare": words[15000:15005],
        "middle": words[2000:2005],
        "ranked": ranked,
        "rows_s": rows_s,
        "index_s": index_s,
    }


def existing() -> dict[str, Any] | None:
    """What ``populate`` returned, for a kept database that holds the bench data (the
    words are drawn again from the same seed), or None."""
    from hub.accounts.models import Space, User
    from messaging.models import Conversation

    space = Space.objects.filter(slug="bench-search").first()
    if space is None:
        return None
    words, _weights = _words(random.Random(22))
    return {
        "reader": User.objects.get(username="bench0"),
        "conversation": Conversation.objects.filter(space=space).order_by("id").first(),
        "common": words[:5],
        "rare": words[15000:15005],
        "middle": words[2000:2005],
        "ranked": words[:5] + words[2000:2005] + words[15000:15005],
        "rows_s": 0.0,
        "index_s": 0.0,
        "reused": True,
    }


def measure(built: dict[str, Any], repeats: int) -> dict[str, Any]:
    from search.selectors import Filters, search

    reader = built["reader"]
    rng = random.Random(7)
    kinds = {
        "common word": lambda: (rng.choice(built["common"]), None),
        "mid-frequency word": lambda: (rng.choice(built["middle"]), None),
        "rare word": lambda: (rng.choice(built["rare"]), None),
        "two words": lambda: (f"{rng.choice(built['common'])} {rng.choice(built['middle'])}", None),
        "prefix as typed": lambda: (rng.choice(built["middle"])[:4], None),
        "phrase": lambda: (f'"{rng.choice(built["common"])} {rng.choice(built["common"])}"', None),
        "common word, one conversation": lambda: (
            rng.choice(built["common"]),
            Filters(where="conversation", where_id=built["conversation"].pk),
        ),
        # The same word finished (a space typed after it): a word, not a prefix.
        "finished common word, one conversation": lambda: (
            rng.choice(built["common"]) + " ",
            Filters(where="conversation", where_id=built["conversation"].pk),
        ),
    }
    out = {}
    for kind, make in kinds.items():
        query, filters = make()
        search(user=reader, query=query, filters=filters)  # warm
        times, hits = [], 0
        for _ in range(repeats):
            query, filters = make()
            start = time.perf_counter()
            result = search(user=reader, query=query, filters=filters)
            times.append((time.perf_counter() - start) * 1000)
            hits += len(result.hits)
        times.sort()
        out[kind] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
            "mean_hits": round(hits / repeats, 1),
        }
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ.setdefault("LYCEUM_TESTING", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    mode = "services" if settings.DATABASE_URL else "embedded"
    print(
        f"search benchmark ({mode}, {connection.vendor}): {args.search_messages} messages, "
        f"{args.search_posts} posts",
        flush=True,
    )
    setup_test_environment()
    keep = args.search_keep
    if keep:
        if connection.vendor == "postgresql" and not keep.startswith("lyceum_bench"):
            raise SystemExit("--search-keep: a PostgreSQL bench database is named lyceum_bench...")
        connection.settings_dict.setdefault("TEST", {})["NAME"] = keep
    old_name = connection.creation.create_test_db(
        verbosity=0, autoclobber=True, keepdb=bool(keep), serialize=False
    )
    try:
        built = existing() if keep else None
        if built is not None:
            print(f"  reusing the data kept in {keep}", flush=True)
        else:
            built = populate(args.search_messages, args.search_posts)
            print(
                f"  rows inserted in {built['rows_s']:.0f} s, documents and full-text index "
                f"in {built['index_s']:.0f} s",
                flush=True,
            )
        result = measure(built, args.search_repeats)
    finally:
        if keep:
            connection.close()
        else:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    load = os.getloadavg()[0]
    for kind, row in result.items():
        print(
            f"  {kind:38} p50 {row['p50_ms']:7} ms  p95 {row['p95_ms']:7} ms  "
            f"({row['mean_hits']} hits on page 1)",
            flush=True,
        )
    print(f"  load average {load:.1f}", flush=True)
    summary = {
        "benchmark": "search",
        "mode": mode,
        "messages": args.search_messages,
        "posts": args.search_posts,
        "rows_s": round(built["rows_s"], 1),
        "index_s": round(built["index_s"], 1),
        "reused": bool(built.get("reused")),
        "kinds": result,
        "load": load,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"search-{stamp}.json").write_text(json.dumps(summary, indent=2))
    return summary
