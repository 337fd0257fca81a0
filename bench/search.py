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
common word narrowed to one conversation. Reports p50 / p95 per kind, in ms.
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
BATCH = 5_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--search-messages", type=int, default=1_000_000)
    parser.add_argument("--search-posts", type=int, default=100_000)
    parser.add_argument("--search-repeats", type=int, default=40)


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


def populate(messages: int, posts: int) -> dict[str, Any]:
    from django.db import connection
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
    for first in range(0, messages, BATCH):
        Message.objects.bulk_create(
            Message(
                id=n + 1,
                conversation=conversations[n % CONVERSATIONS],
                sender=people[n % len(people)],
                body=(text := _text(rng, words, weights, rng.randint(6, 20))),
                body_html=f"<p>{text}</p>",
                created_at=now - dt.timedelta(seconds=messages - n),
            )
            for n in range(first, min(first + BATCH, messages))
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
    for first in range(0, posts, BATCH):
        Post.objects.bulk_create(
            Post(
                thread=threads[n % TOPICS],
                author=people[n % len(people)],
                body=(text := _text(rng, words, weights, rng.randint(20, 80))),
                body_html=f"<p>{text}</p>",
            )
            for n in range(first, min(first + BATCH, posts))
        )
    rows_s = time.perf_counter() - start
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO search_searchdocument (source, object_id, space_id, container_id,
                   author_id, created_at, has_attachment, title, body, label, config)
               SELECT 'message', m.id, c.space_id, c.id, m.sender_id, m.created_at, %s, '',
                   m.body, c.title, 'simple'
               FROM messaging_message m JOIN messaging_conversation c
                   ON c.id = m.conversation_id""",
            [False],
        )
        cursor.execute(
            """INSERT INTO search_searchdocument (source, object_id, space_id, container_id,
                   author_id, created_at, has_attachment, title, body, label, config)
               SELECT 'forum_post', p.id, f.space_id, f.id, p.author_id, p.created_at, %s,
                   '', p.body, t.title, 'simple'
               FROM forums_post p JOIN forums_thread t ON t.id = p.thread_id
                   JOIN forums_forum f ON f.id = t.forum_id""",
            [False],
        )
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
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
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        built = populate(args.search_messages, args.search_posts)
        print(
            f"  rows inserted in {built['rows_s']:.0f} s, documents and full-text index in "
            f"{built['index_s']:.0f} s",
            flush=True,
        )
        result = measure(built, args.search_repeats)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    load = os.getloadavg()[0]
    for kind, row in result.items():
        print(
            f"  {kind:31} p50 {row['p50_ms']:7} ms  p95 {row['p95_ms']:7} ms  "
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
        "kinds": result,
        "load": load,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"search-{stamp}.json").write_text(json.dumps(summary, indent=2))
    return summary
