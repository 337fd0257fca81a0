"""``python -m bench forums``: paging through a thread of 2,000 posts.

Runs in-process against a throw-away test database (SQLite in embedded mode, a scratch
``test_<name>`` PostgreSQL database when DATABASE_URL is set). Builds one thread of
``--forum-posts`` posts (every tenth quotes an earlier one, every fifth has reactions, the
reader reacted to some) and measures, as a member of the space:

* the REST page ``GET /api/v1/forums/threads/<id>/posts/?page=N`` (50 posts a page) and the
  thread page ``GET /forums/threads/<id>/?page=N`` (30 a page): server time (request in,
  response out, through every middleware) and the number of queries, for the first, middle
  and last pages (the count must be the same on every page);
* a baseline: the bare SQL read of the same 50 rows (``values_list``), same database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_MS = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--forum-posts", type=int, default=2000)
    parser.add_argument("--forum-repeats", type=int, default=7)


def populate(posts: int) -> dict[str, Any]:
    from django.utils import timezone

    from forums.models import Forum, Post, Reaction, Thread
    from hub.accounts.models import Role, Space
    from hub.accounts.services import roles_set, space_add_member, user_create

    space = Space.objects.create(name="Bench", slug="bench-forums")
    people = []
    for i in range(20):
        user = user_create(username=f"bench{i}", password="x" * 12, email="", display_name=f"B {i}")
        roles_set(user=user, roles=[Role.LEARNER])
        space_add_member(space=space, user=user)
        people.append(user)
    forum = Forum.objects.create(space=space, title="Bench forum")
    thread = Thread.objects.create(
        forum=forum, author=people[0], title="A long thread", last_activity_at=timezone.now()
    )
    body = "Some **markdown** text with a [link](https://example.com) and a list:\n\n- a\n- b\n"
    html = (
        '<p>Some <strong>markdown</strong> text with a <a href="https://example.com" '
        'rel="nofollow noopener noreferrer">link</a> and a list:</p>\n<ul>\n<li>a</li>\n'
        "<li>b</li>\n</ul>"
    )
    rows = Post.objects.bulk_create(
        Post(
            thread=thread,
            author=people[i % len(people)],
            body=body,
            body_html=html,
            reaction_counts={"like": 3, "tada": 1} if i % 5 == 0 else {},
        )
        for i in range(posts)
    )
    quoting = [p for i, p in enumerate(rows) if i % 10 == 9]
    for p in quoting:
        p.reply_to_id = p.pk - 3
    Post.objects.bulk_update(quoting, ["reply_to"])
    Thread.objects.filter(pk=thread.pk).update(post_count=posts)
    reader = people[1]
    Reaction.objects.bulk_create(
        Reaction(user=reader, post=p, emoji="like") for i, p in enumerate(rows) if i % 15 == 0
    )
    return {"thread": thread, "reader": reader}


def _time(fn, repeats: int) -> tuple[list[float], int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()  # warm (templates, content types, the connection)
    times, queries, size = [], 0, 0
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = fn()
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        queries, size = len(ctx.captured_queries), len(response.content)
    return times, queries, size


def measure(thread: Any, reader: Any, posts: int, repeats: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from forums.models import Post

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=reader).key}")
    page = Client()
    page.force_login(reader)
    out: dict[str, Any] = {"api": [], "page": [], "baseline": []}
    api_pages = max(1, -(-posts // 50))
    html_pages = max(1, -(-posts // 30))
    for n in sorted({1, api_pages // 2, api_pages}):
        url = f"/api/v1/forums/threads/{thread.pk}/posts/?page={n}"
        times, queries, size = _time(lambda url=url: api.get(url), repeats)
        out["api"].append(_row(n, times, queries, size))
    for n in sorted({1, html_pages // 2, html_pages}):
        url = f"/forums/threads/{thread.pk}/?page={n}"
        times, queries, size = _time(lambda url=url: page.get(url), repeats)
        out["page"].append(_row(n, times, queries, size))
    for n in sorted({1, api_pages // 2, api_pages}):
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            list(
                Post.objects.filter(thread=thread)
                .order_by("id")
                .values_list("id", "body_html", "author_id", "created_at")[(n - 1) * 50 : n * 50]
            )
            times.append((time.perf_counter() - start) * 1000)
        out["baseline"].append({"page": n, "median_ms": round(statistics.median(times[1:]), 2)})
    out["vendor"] = connection.vendor
    return out


def _row(n: int, times: list[float], queries: int, size: int) -> dict[str, Any]:
    return {
        "page": n,
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "queries": queries,
        "bytes": size,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ.setdefault("LYCEUM_TESTING", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    mode = "services" if settings.DATABASE_URL else "embedded"
    print(f"forums thread paging benchmark ({mode}, {connection.vendor})", flush=True)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        start = time.perf_counter()
        built = populate(args.forum_posts)
        built_s = time.perf_counter() - start
        result = measure(built["thread"], built["reader"], args.forum_posts, args.forum_repeats)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    for kind, label in (("api", "REST, 50/page"), ("page", "HTML page, 30/page")):
        for row in result[kind]:
            ok = "ok" if row["median_ms"] < TARGET_MS else "OVER TARGET"
            print(
                f"  {label:19} page {row['page']:3}: median {row['median_ms']:6} ms "
                f"(max {row['max_ms']}), {row['queries']} queries, "
                f"{row['bytes'] // 1024} KiB  [{ok}]",
                flush=True,
            )
    for row in result["baseline"]:
        print(f"  bare SQL read of 50 rows, page {row['page']:3}: {row['median_ms']} ms")
    print(f"  ({args.forum_posts} posts built in {built_s:.1f} s)", flush=True)
    result.update(
        {"benchmark": "forums", "mode": mode, "posts": args.forum_posts, "load": os.getloadavg()[0]}
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"forums-{stamp}.json").write_text(json.dumps(result, indent=2))
    return result
