"""Matchmaking under concurrency (PostgreSQL): people joining a course's queue at the same
moment pair with each other exactly once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from classrooms import services as classrooms_services
from leaderboards import duel_services
from leaderboards.models import Duel, DuelQueueEntry
from tests.conftest import SERVICES_MODE
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not SERVICES_MODE, reason="concurrent writers need PostgreSQL"),
]


def _join_all(people, course) -> list[Exception]:
    barrier = threading.Barrier(len(people))
    errors: list[Exception] = []

    def join(user):
        try:
            barrier.wait()
            duel_services.duel_queue_join(user=user, course=course)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_simultaneous_joins_pair_exactly_once(course_setup, space, trainer):
    course = course_setup.course
    people = [UserFactory(spaces=[space]) for _ in range(4)]
    for user in people:
        classrooms_services.enrolment_create(actor=trainer, user=user, course=course)
    for round_ in range(3):
        Duel.objects.all().delete()
        assert _join_all(people[:2], course) == []
        duels = list(Duel.objects.all())
        assert len(duels) == 1, round_
        assert {duels[0].challenger_id, duels[0].opponent_id} == {people[0].pk, people[1].pk}
        assert not DuelQueueEntry.objects.exists()
    # Four at once: two pairs, nobody in two duels, nobody left waiting.
    Duel.objects.all().delete()
    assert _join_all(people, course) == []
    players = [uid for d in Duel.objects.all() for uid in (d.challenger_id, d.opponent_id)]
    assert sorted(players) == sorted(u.pk for u in people)
    assert not DuelQueueEntry.objects.exists()
