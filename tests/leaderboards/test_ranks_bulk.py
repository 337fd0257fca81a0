"""``points_award_many`` (streams of point events) and the store's batched writes."""

from __future__ import annotations

import time

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from classrooms import services as course_services
from leaderboards import push, ranks, services
from leaderboards.models import BadgeAward, BadgeDefinition, PointAward, PointRule, Reason
from tests.leaderboards.conftest import space_key

pytestmark = pytest.mark.django_db


def _events(users, sources, space, **extra):
    return [
        {"user": u, "reason": Reason.LESSON_DONE, "source": s, "space": space, **extra}
        for u in users
        for s in sources
    ]


def test_bulk_pays_once_per_source_and_reaches_every_board(
    learner, learner2, manager, trainer, space, commit, store
):
    course = course_services.course_create(
        author=trainer, space=space, title="Bulk", summary="", published=True
    )
    sources = list(ContentType.objects.order_by("pk")[:3])
    events = _events([learner, learner2], sources, space, course=course)
    created = services.points_award_many(events=events + events[:2])  # duplicates in the batch
    assert len(created) == 6
    assert all(a.pk and a.amount == 10 for a in created)
    # Already paid: a second batch (a retry) creates nothing, and points_award agrees.
    assert services.points_award_many(events=events) == []
    again = services.points_award(
        user=learner, reason=Reason.LESSON_DONE, source=sources[0], space=space
    )
    assert again.pk == created[0].pk
    commit()
    assert PointAward.objects.count() == 6
    team = manager.managed_teams.get()
    for scope, ident in (("space", space.pk), ("course", course.pk), ("team", team.pk)):
        for key in ranks.current_keys(scope, ident):
            assert store.score_of(key, learner.pk) == 30, key
            assert store.score_of(key, learner2.pk) == 30, key
            assert store.rank_of(key, learner.pk) == 1


def test_bulk_uses_rules_records_zero_and_mixes_with_single_awards(learner, space, commit, store):
    PointRule.objects.create(space=space, reason=Reason.LESSON_DONE, amount=4)
    PointRule.objects.create(space=space, reason=Reason.ATTENDANCE, amount=0)
    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    created = services.points_award_many(
        events=[
            {"user": learner, "reason": Reason.LESSON_DONE, "source": space, "space": space},
            {"user": learner, "reason": Reason.ATTENDANCE, "source": space, "space": space},
            {"user": learner, "reason": Reason.QUIZ_PASSED, "source": space, "space": space},
            {
                "user": learner,
                "reason": Reason.MANUAL,
                "source": space,
                "space": space,
                "amount": 7,
            },
        ]
    )
    commit()
    assert sorted(a.amount for a in created) == [0, 4, 7]  # the 0 records the event only
    assert store.score_of(space_key(space), learner.pk) == 20 + 4 + 7


@pytest.mark.parametrize(
    "bad",
    [
        {"reason": "bribery"},
        {"user": None},
        {"space": None},
        {"amount": "lots"},
    ],
)
def test_one_bad_event_rejects_the_batch(bad, learner, learner2, space, commit, published):
    good = {"user": learner, "reason": Reason.LESSON_DONE, "source": space, "space": space}
    with pytest.raises(ValidationError):
        services.points_award_many(events=[good, {**good, "user": learner2, **bad}])
    assert not PointAward.objects.exists()
    assert published() == []


def test_hidden_learners_stay_off_the_boards(learner, learner2, space, commit, store):
    services.ranking_hide(user=learner2)
    commit()
    services.points_award_many(events=_events([learner, learner2], [space], space))
    commit()
    assert store.score_of(space_key(space), learner.pk) == 10
    assert store.score_of(space_key(space), learner2.pk) is None


def test_badges_evaluated_once_per_person(learner, space, commit):
    badge = BadgeDefinition.objects.create(
        space=space, name="Starter", criterion="points", threshold=20
    )
    sources = list(ContentType.objects.order_by("pk")[:2])
    services.points_award_many(events=_events([learner], sources, space))
    assert BadgeAward.objects.filter(user=learner, badge=badge).count() == 1


def test_a_batch_makes_one_push_per_board(learner, learner2, space, published, settings):
    settings.LEADERBOARD_PUSH_INTERVAL = 0.05
    sources = list(ContentType.objects.order_by("pk")[:5])
    services.points_award_many(events=_events([learner, learner2], sources, space))
    published()  # commit: the store is written and one timer per board is armed
    topic = f"leaderboards.board.{space_key(space)}"
    deadline = time.monotonic() + 5
    while not published(topic) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # a second push, if one were coming, would be due by now
    events = published(topic)
    assert [e.data["users"] for e in events] == [sorted([learner.pk, learner2.pk])]
    assert not push._pending


def test_incr_many_equals_one_incr_at_a_time(store, space):
    keys = ranks.current_keys("space", space.pk)
    other = ranks.current_keys("course", 999_999)
    # More changes than one script call takes: the store splits them.
    changes = [(keys, uid % 50, 1) for uid in range(ranks.LUA_CHUNK + 30)]
    changes += [(keys + other, 7, 5), ((), 8, 100)]
    store.incr_many(changes)
    store.incr_many([])
    with pytest.raises(ValueError):
        store.incr_many([(["nonsense"], 1, 1)])
    if isinstance(store, ranks.DatabaseRankStore):
        return  # the ledger is the write: nothing stored to compare
    for key in keys:
        assert store.score_of(key, 7) == 41 + 5
        assert store.score_of(key, 0) == 41
        assert store.score_of(key, 49) == 40
        assert store.rank_of(key, 7) == 1
    assert [store.score_of(k, 7) for k in other] == [5, 5, 5]
    assert store.redis.ttl(store.name(keys[1])) > 0  # week board expires
    assert store.redis.ttl(store.name(keys[0])) == -1  # all time does not
