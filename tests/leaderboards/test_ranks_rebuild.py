"""``manage.py rebuild_leaderboards``: every board equals the ledger, in a bounded number
of queries whatever the number of boards."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.utils import timezone

from classrooms import services as course_services
from leaderboards import ranks, services
from leaderboards.models import PointAward, Reason
from tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_rebuild_equals_the_ledger_in_few_queries(
    learner, learner2, manager, trainer, space, commit, store, django_assert_max_num_queries
):
    course = course_services.course_create(
        author=trainer, space=space, title="Rebuilt", summary="", published=True
    )
    hidden = UserFactory(spaces=[space])
    other_team = TeamFactory(space=space, members=[hidden])
    sources = list(ContentType.objects.order_by("pk")[:3])
    events = [
        {"user": u, "reason": Reason.LESSON_DONE, "source": s, "space": space, "course": course}
        for u in (learner, learner2, hidden)
        for s in sources
    ]
    services.points_award_many(events=events)
    # An old award: on the all-time boards only.
    old = services.points_award(
        user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space, course=course
    )
    PointAward.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=70))
    services.ranking_hide(user=hidden)
    commit()
    keys = [
        key
        for scope, ident in (
            ("space", space.pk),
            ("course", course.pk),
            ("team", manager.managed_teams.get().pk),
            ("team", other_team.pk),
        )
        for key in ranks.current_keys(scope, ident)
    ]
    for key in keys:  # boards that drifted from the ledger
        store.incr(key, learner2.pk, 1000)
        store.incr(key, 424242, 5)
    out = StringIO()
    with django_assert_max_num_queries(8):
        call_command("rebuild_leaderboards", stdout=out)
    if isinstance(store, ranks.DatabaseRankStore):
        assert "nothing to do" in out.getvalue()
        return
    assert "Rebuilt 12 boards" in out.getvalue()
    for key in keys:
        want = ranks.ledger_scores(ranks.parse_board(key))
        got = [(e.user_id, e.score) for e in store.top(key, 100)]
        assert sorted(got) == sorted(want), key
    space_all, space_week = keys[0], keys[1]
    assert store.score_of(space_all, learner.pk) == 30 + 20
    assert store.score_of(space_week, learner.pk) == 30
    assert store.score_of(space_all, hidden.pk) is None
    assert store.top(keys[-1], 10) == []  # the hidden learner's own team board: emptied


def test_rebuild_replaces_boards_of_the_first_format(learner, space, commit, store):
    """Boards written before ties were ordered (plain user ids as Redis members) are left
    behind under the old namespace: the rebuild writes the boards anew and deletes them."""
    if not isinstance(store, ranks.RedisRankStore):
        pytest.skip("embedded mode keeps no boards (they are read from the ledger)")
    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    commit()
    key = ranks.board_key("space", space.pk, "all")
    legacy = f"{ranks.legacy_prefix()}:{key}"
    store.redis.zadd(legacy, {str(learner.pk): 5})
    said = StringIO()
    call_command("rebuild_leaderboards", stdout=said)
    assert "Deleted 1 boards of the first format" in said.getvalue()
    assert not store.redis.exists(legacy)
    assert store.top(key, 5)[0].user_id == learner.pk
    store.redis.delete(store.name(key))
