"""The nightly pass, set-based: a batch of expiries or window openings costs the same number
of queries whatever its size; notices go in one insert (the person, and each manager once
per batch as a digest) and one event per space, not one per award."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from notifications.models import Notification

from certifications import services
from certifications.models import Award, AwardEvent, State
from hub.accounts.models import Role
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def people(space, n, manager=None):
    found = [UserFactory(roles=[Role.LEARNER], spaces=[space]) for _ in range(n)]
    if manager is not None:
        TeamFactory(space=space, manager=manager, members=found)
    return found


def same_cost(few, many, limit: int = 16, slack: int = 4) -> None:
    """The same queries for a small and a big batch. SQLite caps the rows of one INSERT (its
    999 parameters): there, the inserts are compared apart (a few per thousand rows)."""
    from django.db import connection

    def split(ctx):
        sql = [q["sql"] for q in ctx.captured_queries]
        return [q for q in sql if not q.startswith("INSERT")], [
            q for q in sql if q.startswith("INSERT")
        ]

    few_other, few_inserts = split(few)
    many_other, many_inserts = split(many)
    shapes = lambda qs: [q.split(" WHERE ")[0][:80] for q in qs]  # noqa: E731
    assert len(many_other) == len(few_other) <= limit, (shapes(few_other), shapes(many_other))
    if connection.vendor == "postgresql":
        assert len(many_inserts) == len(few_inserts)
    else:
        assert len(many_inserts) <= len(few_inserts) + slack


def issue(coordinator, cert, found):
    services.bulk_apply(
        actor=coordinator,
        certification=cert,
        action="issue",
        usernames=[p.username for p in found],
    )


def test_expiry_queries_do_not_grow_with_the_batch(f, coordinator, space, manager):
    """20 then 200 awards expiring in one batch: the same number of queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ContentType.objects.get_for_model(f.cert)  # cached for the process: warm it
    small = people(space, 20, manager)
    issue(coordinator, f.cert, small)
    later = timezone.now() + timedelta(days=800)
    with CaptureQueriesContext(connection) as few:
        assert services.sweep(now=later) == {"expiring": 0, "expired": 20}
    big = people(space, 200, manager)
    issue(coordinator, f.cert, big)
    with CaptureQueriesContext(connection) as many:
        assert services.sweep(now=later) == {"expiring": 0, "expired": 200}
    same_cost(few, many)
    assert Award.objects.filter(state=State.EXPIRED).count() == 220
    assert AwardEvent.objects.filter(kind="expired").count() == 220
    # Each person told once; the manager once per batch (a digest naming them).
    assert Notification.objects.filter(recipient__in=big, verb__contains="expired").count() == 200
    digests = Notification.objects.filter(recipient=manager)
    assert digests.count() == 2
    assert digests.order_by("id").last().verb.startswith("200 certifications")
    # Idempotent: nothing more the next night.
    assert services.sweep(now=later + timedelta(days=1)) == {"expiring": 0, "expired": 0}
    assert Notification.objects.count() == 222


def test_batches_are_bounded_and_one_event_per_batch(
    f, coordinator, space, monkeypatch, django_assert_max_num_queries
):
    from hub import realtime

    found = people(space, 45)
    issue(coordinator, f.cert, found)
    sent = []
    monkeypatch.setattr(realtime, "publish", lambda topic, type, data, **kw: sent.append(type))
    later = timezone.now() + timedelta(days=800)
    # 45 awards in batches of 10: five transactions, each of the same few queries.
    with django_assert_max_num_queries(5 * 15 + 5):
        assert services.sweep(now=later, batch=10) == {"expiring": 0, "expired": 45}
    assert sent == ["certifications.swept"] * 5


def test_window_without_a_path_is_set_based(f, coordinator, space, trainer):
    """A certification without a recertification path: *expiring* and a reminder, in the same
    number of queries for 10 or 150 awards."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ContentType.objects.get_for_model(f.cert)
    f.cert.recert_path = None
    f.cert.save()
    first = people(space, 10)
    issue(coordinator, f.cert, first)
    in_window = Award.objects.first().expires_at - timedelta(days=30)
    with CaptureQueriesContext(connection) as few:
        assert services.sweep(now=in_window) == {"expiring": 10, "expired": 0}
    second = people(space, 150)
    issue(coordinator, f.cert, second)
    in_window = Award.objects.filter(state=State.CERTIFIED).first().expires_at - timedelta(days=30)
    with CaptureQueriesContext(connection) as many:
        assert services.sweep(now=in_window) == {"expiring": 150, "expired": 0}
    same_cost(few, many)
    assert Award.objects.filter(state=State.EXPIRING).count() == 160
    assert (
        Notification.objects.filter(recipient__in=second, verb__contains="recertify").count() == 150
    )


def test_notices_reach_the_person_from_their_topics_backlog(f, coordinator, space, learner):
    """No live push per person: the notice is a durable event of ``hub.user.<id>``, replayed
    to them when they connect."""
    from hub.realtime_topics import UserTopic

    issue(coordinator, f.cert, [learner])
    services.sweep(now=timezone.now() + timedelta(days=800))
    events = UserTopic().backlog(learner, str(learner.pk), 0, 50)
    assert [e.type for e in events] == ["notification.created"]
    assert "expired" in events[0].data["verb"]
