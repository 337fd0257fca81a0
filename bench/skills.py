"""``python -m bench skills``: the manager's team skills matrix for 500 people x 50 skills.

Runs in-process against a throw-away test database (SQLite in embedded mode, a scratch
``test_<name>`` PostgreSQL database when DATABASE_URL is set), like ``bench/calendars.py``.
One team of ``--skills-people`` members, a framework of ``--skills-count`` skills in five
groups, every person with levels in every skill (evidenced, and self / manager assessments
for some), a team target on every skill; then, median of ``--skills-repeats`` runs each:

* the selector (``skills.selectors.matrix``): time and queries;
* ``GET /api/v1/skills/matrix/?team=`` (JSON) as the manager, through every middleware;
* ``GET /skills/matrix/?team=`` (the page), and ``/skills/matrix.csv``;
* the same with a tenth of the people, to show the query count does not grow.
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--skills-people", type=int, default=500)
    parser.add_argument("--skills-count", type=int, default=50)
    parser.add_argument("--skills-repeats", type=int, default=5)


def _build(people: int, count: int) -> dict[str, Any]:
    from django.utils import timezone

    from hub.accounts.models import Role, Space, Team, User
    from hub.accounts.services import roles_set, space_add_member, user_create
    from skills import services
    from skills.models import PersonSkill, Target

    space = Space.objects.create(name="Bench", slug="bench-skills")

    def person(username: str, role: str) -> Any:
        user = user_create(username=username, password="x" * 12, email=f"{username}@example.com")
        roles_set(user=user, roles=[role])
        space_add_member(space=space, user=user)
        return user

    coordinator = person("bench-coordinator", Role.COORDINATOR)
    manager = person("bench-manager", Role.MANAGER)
    users = User.objects.bulk_create(
        User(username=f"bench-p{i:04}", display_name=f"Person {i:04}") for i in range(people)
    )
    Space.members.through.objects.bulk_create(
        Space.members.through(space=space, user=u) for u in users
    )
    team = Team.objects.create(name="Big team", space=space, manager=manager)
    team.members.add(*users)
    small = Team.objects.create(name="Small team", space=space, manager=manager)
    small.members.add(*users[: max(1, people // 10)])
    framework = services.framework_ensure(user=coordinator, space=space)
    services.import_apply(
        user=coordinator,
        framework=framework,
        data="group,skill\n" + "".join(f"Group {i % 5},Skill {i:03}\n" for i in range(count)),
    )
    skills = list(framework.skills.all())
    now = timezone.now()
    PersonSkill.objects.bulk_create(
        (
            PersonSkill(
                user=u,
                skill=s,
                evidenced=(i + j) % 5,
                evidenced_at=now,
                self_level=(i * j) % 4 + 1 if j % 3 == 0 else None,
                manager_level=(i + 2 * j) % 4 + 1 if j % 4 == 0 else None,
            )
            for i, u in enumerate(users)
            for j, s in enumerate(skills)
        ),
        batch_size=5000,
    )
    Target.objects.bulk_create(
        Target(skill=s, team=t, level=1 + j % 4, set_by=manager)
        for j, s in enumerate(skills)
        for t in (team, small)
    )
    return {"space": space, "manager": manager, "team": team, "small": small, "fw": framework}


def _timed(fn: Any, repeats: int) -> tuple[float, int, Any]:
    """Median milliseconds and the queries of the last run."""
    from django.db import connection

    times = []
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # Not CaptureQueriesContext: request_started empties the query log it slices.
        queries.append(sql)
        return execute(sql, params, many, context)

    result = None
    for _ in range(repeats):
        queries.clear()
        with connection.execute_wrapper(count):
            start = time.perf_counter()
            result = fn()
            times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1), len(queries), result


def measure(built: dict[str, Any], repeats: int) -> list[dict[str, Any]]:
    from django.test import Client

    from skills import selectors

    client = Client()
    client.force_login(built["manager"])
    rows = []
    for team in (built["team"], built["small"]):
        people = team.members.count()
        ms, queries, m = _timed(
            lambda t=team: selectors.matrix(
                framework=built["fw"],
                people=selectors.matrix_people(space=built["space"], team=t),
            ),
            repeats,
        )
        row: dict[str, Any] = {
            "people": people,
            "skills": len(m["skills"]),
            "cells": people * len(m["skills"]),
            "gaps": m["gaps"],
            "selector_ms": ms,
            "selector_queries": queries,
        }
        for name, path in (
            ("api", f"/api/v1/skills/matrix/?space={built['space'].pk}&team={team.pk}"),
            ("page", f"/skills/matrix/?team={team.pk}"),
            ("csv", f"/skills/matrix.csv?team={team.pk}"),
        ):
            session = client.session
            session["space_id"] = built["space"].pk
            session.save()
            ms, queries, response = _timed(lambda p=path: client.get(p), repeats)
            assert response.status_code == 200, (path, response.status_code)
            row[f"{name}_ms"] = ms
            row[f"{name}_queries"] = queries
            row[f"{name}_kib"] = len(response.content) // 1024
        rows.append(row)
    return rows


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
    os.environ.setdefault("LYCEUM_TESTING", "1")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    mode = "services" if settings.DATABASE_URL else "embedded"
    print(f"skills matrix benchmark ({mode}, {connection.vendor})", flush=True)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        start = time.perf_counter()
        built = _build(args.skills_people, args.skills_count)
        built_s = time.perf_counter() - start
        rows = measure(built, args.skills_repeats)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
    for row in rows:
        print(
            f"  {row['people']:4} people x {row['skills']} skills ({row['cells']} cells,"
            f" {row['gaps']} gaps): selector {row['selector_ms']} ms / {row['selector_queries']} q;"
            f" API {row['api_ms']} ms / {row['api_queries']} q / {row['api_kib']} KiB;"
            f" page {row['page_ms']} ms / {row['page_queries']} q / {row['page_kib']} KiB;"
            f" CSV {row['csv_ms']} ms / {row['csv_queries']} q",
            flush=True,
        )
    load = os.getloadavg()[0]
    print(f"  (built in {built_s:.1f} s, load {load:.1f})", flush=True)
    result = {"benchmark": "skills", "mode": mode, "vendor": connection.vendor, "rows": rows}
    result["load"] = load
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS_DIR / f"skills-{stamp}.json").write_text(json.dumps(result, indent=2))
    return result
