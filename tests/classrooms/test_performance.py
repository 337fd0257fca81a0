"""The trainer's grid costs a constant number of queries; a completion costs O(1) queries
(O(activities of that course) rows). Timing lives in ``make bench`` (bench/classrooms.py)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bench.classrooms import populate
from classrooms.services import activity_complete

pytestmark = pytest.mark.django_db


def grid_queries(client, built) -> tuple[int, float, bytes]:
    client.force_login(built["trainer"])
    url = f"/courses/{built['course'].pk}/progress/"
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        start = time.thread_time()  # this request's CPU: other processes' load does not count
        response = client.get(url)
        elapsed = time.thread_time() - start
    assert response.status_code == 200
    return len(ctx.captured_queries), elapsed, response.content


def test_grid_500_by_40_uses_as_many_queries_as_a_tiny_one(client):
    tiny = populate(learners=3, activities=2)
    big = populate(learners=500, activities=40)
    small_count, _, _ = grid_queries(client, tiny)
    big_count, elapsed, html = grid_queries(client, big)
    assert big_count == small_count
    assert html.count(b"<tr data-user=") == 500
    assert html.count(b"data-activity=") == 40
    # CPU time of the request, with a generous bound; `make bench` records the wall time.
    assert elapsed < 2.0, elapsed


def test_one_completion_costs_the_same_queries_whatever_the_course_size():
    counts = []
    for size in (5, 80):
        built = populate(learners=2, activities=size, fill=0.0)
        learner, activity = built["users"][0], built["activities"][0]
        with CaptureQueriesContext(connection) as ctx:
            activity_complete(user=learner, activity=activity, source="test")
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
