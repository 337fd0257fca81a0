"""Queries per row stay constant as a CSV import or a SCIM sync grows (issue 16, Measure).

``IDENTITY_BENCH_ROWS=10000`` runs the sizes measured in docs/SSO.md and prints the times;
the suite runs small sizes and checks that the number of queries does not grow with rows.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from identity import imports
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db

BENCH = int(os.environ.get("IDENTITY_BENCH_ROWS", "0"))


def csv_rows(n: int, teams: int = 20) -> bytes:
    lines = ["email,first_name,last_name,roles,team,manager"]
    for i in range(n):
        manager = "" if i < teams else f"p{i % teams}@acme.test"
        lines.append(f"p{i}@acme.test,First{i},Last{i},learner,Team {i % teams},{manager}")
    return ("\n".join(lines) + "\n").encode()


def measure_csv(space, admin, n: int) -> tuple[int, float]:
    raw = csv_rows(n)
    for t in range(20):
        if not space.teams.filter(name=f"Team {t}").exists():
            TeamFactory(name=f"Team {t}", space=space, manager=admin)
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        job = imports.job_preview(
            space=space, actor=admin, raw=raw, filename="x.csv", create_teams=False
        )
        imports.job_apply(job=job, actor=admin)
    return len(ctx.captured_queries), time.perf_counter() - start


def test_csv_import_queries_do_not_grow_with_rows(space, admin):
    small, _ = measure_csv(space, admin, 100)
    from hub.accounts.models import SpaceMembership

    SpaceMembership.objects.filter(space=space).exclude(user=admin).delete()
    bigger, _ = measure_csv(space, admin, 1000)
    # Bulk statements come in batches of 500: a few more for 10 times the rows, not 900.
    assert bigger - small < 40, (small, bigger)


def scim_post(client, token: str, i: int):
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"u{i}@acme.test",
        "externalId": f"hr-{i}",
        "name": {"givenName": f"G{i}", "familyName": f"F{i}"},
        "emails": [{"value": f"u{i}@acme.test", "primary": True}],
        "active": True,
    }
    return client.post(
        "/scim/v2/Users",
        json.dumps(body),
        content_type="application/scim+json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def test_scim_sync_queries_per_user_are_constant(client, scim_token):
    counts = []
    for i in range(6):
        with CaptureQueriesContext(connection) as ctx:
            assert scim_post(client, scim_token, i).status_code == 201
        counts.append(len(ctx.captured_queries))
    assert len(set(counts[1:])) == 1, counts


@pytest.mark.skipif(not BENCH, reason="set IDENTITY_BENCH_ROWS to measure")
def test_measure_csv_and_scim_at_scale(space, admin, client, scim_token, capsys):
    queries, seconds = measure_csv(space, admin, BENCH)
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        for i in range(BENCH):
            assert scim_post(client, scim_token, i).status_code == 201
    scim_seconds = time.perf_counter() - start
    with capsys.disabled():
        print(
            f"\nCSV import of {BENCH} people: {seconds:.1f} s, {queries} queries "
            f"({queries / BENCH:.3f} per row)\nSCIM sync of {BENCH} users: {scim_seconds:.1f} s, "
            f"{len(ctx.captured_queries)} queries "
            f"({len(ctx.captured_queries) / BENCH:.1f} per user)"
        )
