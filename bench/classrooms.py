"""``python -m bench classrooms``: the trainer's progress grid and the cost of a completion.

Runs in-process against a throw-away test database (SQLite in embedded mode, a scratch
``test_<name>`` PostgreSQL database when DATABASE_URL is set): builds a course of
``--grid-activities`` activities with ``--grid-learners`` enrolled learners who completed
about half of it, then measures

* the grid page (``GET /courses/<id>/progress/``) as the trainer: server time (request in,
  response out, through every middleware) and the number of queries, against the same page
  for a tiny course (the count must not grow with the size);
* one completion (``activity_complete``): queries and time for courses of 10, 40 and 160
  activities (the cost must not grow beyond O(activities of that course)).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--grid-learners", type=int, default=500)
    parser.add_argument("--grid-activities", type=int, default=40)
    parser.add_argument("--grid-repeats", type=int, default=7)


def populate(*, learners: int, activities: int, fill: float = 0.5, seed: int = 7) -> dict[str, Any]:
    """A course of ``activities`` (a quiz every tenth) and ``learners`` enrolled learners.

    Bulk inserts: it builds 20,000 completions in a second or two.
    """
    from classrooms.models import (
        Activity,
        ActivityKind,
        Attempt,
        Completion,
        CompletionRule,
        Course,
        Enrolment,
        EnrolmentSource,
        Module,
    )
    from hub.accounts.models import Role, RoleGrant, Space, SpaceMembership, User

    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8]
    space = Space.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
    trainer = User.objects.create(username=f"bench-trainer-{tag}", password="!")
    RoleGrant.objects.create(user=trainer, role=Role.TRAINER)
    SpaceMembership.objects.create(space=space, user=trainer)
    course = Course.objects.create(space=space, title=f"Bench course {tag}", published=True)
    course.trainers.add(trainer)
    modules = Module.objects.bulk_create(
        [Module(course=course, title=f"Module {i + 1}", position=i + 1) for i in range(4)]
    )
    acts = Activity.objects.bulk_create(
        [
            Activity(
                course=course,
                module=modules[i * len(modules) // activities],
                title=f"Activity {i + 1}",
                kind=ActivityKind.QUIZ if i % 10 == 9 else ActivityKind.LESSON,
                completion_rule=CompletionRule.QUIZ_PASSED
                if i % 10 == 9
                else CompletionRule.VIEWED,
                position=i + 1,
            )
            for i in range(activities)
        ]
    )
    users = User.objects.bulk_create(
        [
            User(username=f"bench-{tag}-{i:05d}", display_name=f"Learner {i}", password="!")
            for i in range(learners)
        ]
    )
    SpaceMembership.objects.bulk_create([SpaceMembership(space=space, user=u) for u in users])
    completions, attempts, progress = [], [], {}
    for u in users:
        done = [a for a in acts if rng.random() < fill]
        progress[u.pk] = 100 * len(done) // len(acts) if acts else 0
        completions += [Completion(user=u, activity=a, course=course, source="bench") for a in done]
        attempts += [
            Attempt(user=u, activity=a, number=1, score=rng.randint(40, 100), passed=True)
            for a in done
            if a.kind == ActivityKind.QUIZ
        ]
    Enrolment.objects.bulk_create(
        [
            Enrolment(
                user=u, course=course, source=EnrolmentSource.TRAINER, progress=progress[u.pk]
            )
            for u in users
        ]
    )
    Completion.objects.bulk_create(completions, batch_size=2000)
    now = dt.datetime.now(dt.UTC)
    for a in attempts:
        a.submitted_at = now
    Attempt.objects.bulk_create(attempts, batch_size=2000)
    return {"course": course, "trainer": trainer, "users": users, "activities": acts}


def measure_grid(course: Any, trainer: Any, repeats: int) -> dict[str, float]:
    """Server time and queries of the grid page, as the trainer (median of ``repeats``)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(trainer)
    url = f"/courses/{course.pk}/progress/"
    client.get(url)  # warm caches (templates, content types)
    times, queries, size = [], 0, 0
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        queries, size = len(ctx.captured_queries), len(response.content)
    return {
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "queries": queries,
        "bytes": size,
    }


def measure_completion(activities: int) -> dict[str, float]:
    """Queries and time of one ``activity_complete`` in a course of ``activities``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from classrooms.services import activity_complete

    built = populate(learners=20, activities=activities, fill=0.3, seed=activities)
    learner = built["users"][0]
    todo = [a for a in built["activities"] if not a.completions.filter(user=learner).exists()]
    times, queries = [], 0
    for activity in todo[:5]:
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            activity_complete(user=learner, activity=activity, source="bench")
            times.append((time.perf_counter() - start) * 1000)
        queries = len(ctx.captured_queries)
    return {
        "activities": activities,
        "queries": queries,
        "median_ms": round(statistics.median(times), 2),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    # Test settings: static files from the finders (no collectstatic manifest needed) and a
    # throw-away database; the request path is otherwise the production one.
    os.environ.setdefault("LYCEUM_TESTING", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    mode = "services" if settings.DATABASE_URL else "embedded"
    print(f"classrooms grid benchmark ({mode}, {connection.vendor})", flush=True)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        start = time.perf_counter()
        big = populate(learners=args.grid_learners, activities=args.grid_activities)
        built_s = time.perf_counter() - start
        small = populate(learners=3, activities=2)
        grid = measure_grid(big["course"], big["trainer"], args.grid_repeats)
        tiny = measure_grid(small["course"], small["trainer"], 3)
        print(
            f"  grid {args.grid_learners} x {args.grid_activities}: server time median "
            f"{grid['median_ms']} ms (max {grid['max_ms']}), {grid['queries']} queries, "
            f"{grid['bytes'] // 1024} KiB (built in {built_s:.1f} s); 3 x 2 grid: "
            f"{tiny['queries']} queries",
            flush=True,
        )
        completion = [measure_completion(n) for n in (10, 40, 160)]
        for c in completion:
            print(
                f"  one completion, course of {c['activities']:3} activities: "
                f"{c['queries']} queries, median {c['median_ms']} ms",
                flush=True,
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    result = {
        "benchmark": "classrooms",
        "mode": mode,
        "vendor": connection.vendor,
        "learners": args.grid_learners,
        "activities": args.grid_activities,
        "grid": grid,
        "tiny_grid_queries": tiny["queries"],
        "completion": completion,
        "load": os.getloadavg()[0],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"classrooms-{stamp}.json").write_text(json.dumps(result, indent=2))
    return result
