"""The store of this mode (database or Redis) ranks like a brute-force model of the ledger."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.accounts.models import Role
from leaderboards import ranks, services
from leaderboards.models import Reason
from tests.factories import SpaceFactory, UserFactory

pytestmark = pytest.mark.django_db

REASONS = [Reason.LESSON_DONE, Reason.QUIZ_PASSED]
awards = st.lists(
    st.tuples(
        st.integers(0, 4),  # user
        st.integers(0, 5),  # source
        st.sampled_from(REASONS),
        st.integers(1, 40),  # amount
    ),
    max_size=30,
)


def model_ranks(paid, hidden):
    """Competition ranks ("1224") of the visible users, by brute force."""
    totals: dict[int, int] = {}
    for (uid, _reason, _source), amount in paid.items():
        if uid not in hidden:
            totals[uid] = totals.get(uid, 0) + amount
    return {
        uid: (score, 1 + sum(1 for s in totals.values() if s > score))
        for uid, score in totals.items()
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=awards, hidden=st.sets(st.integers(0, 4), max_size=2))
def test_store_ranks_equal_brute_force(sequence, hidden, commit):
    space = SpaceFactory()
    users = [UserFactory(roles=[Role.LEARNER], spaces=[space]) for _ in range(5)]
    sources = list(ContentType.objects.order_by("pk")[:6])
    for i in hidden:
        services.ranking_hide(user=users[i])
    paid: dict[tuple[int, str, int], int] = {}
    for uid, src, reason, amount in sequence:
        services.points_award(
            user=users[uid], reason=reason, source=sources[src], space=space, amount=amount
        )
        paid.setdefault((users[uid].pk, reason, src), amount)  # a retry pays nothing
    commit()
    expected = model_ranks(paid, {users[i].pk for i in hidden})
    store = ranks.get_store()
    for window in ("all", "week", "month"):
        key = ranks.board_key("space", space.pk, window)
        for user in users:
            want = expected.get(user.pk)
            assert store.rank_of(key, user.pk) == (want[1] if want else None)
            assert store.score_of(key, user.pk) == (want[0] if want else None)
        top = store.top(key, 10)
        assert {(e.user_id, e.score, e.rank) for e in top} == {
            (uid, s, r) for uid, (s, r) in expected.items()
        }
        assert [e.score for e in top] == sorted((s for s, _ in expected.values()), reverse=True)
        assert [e.score for e in store.top(key, 2)] == [e.score for e in top[:2]]
        for user in users:
            near = store.around(key, user.pk, 1)
            if user.pk not in expected:
                assert near == []
                continue
            assert user.pk in [e.user_id for e in near]
            assert 1 <= len(near) <= 3
            for e in near:
                assert (e.score, e.rank) == expected[e.user_id]


def test_ties_list_the_lowest_user_id_first_in_both_engines(commit):
    """Equal scores are listed by user id, lowest first, in the database and in Redis.

    Redis orders equal scores by member bytes: with plain ids as members, a tie of users
    9, 99, 101 and 200 was listed 99, 9, 200, 101 in services mode."""
    from django.conf import settings as django_settings

    space = SpaceFactory()
    # Ids of one to three digits: string order and number order differ.
    tied = [UserFactory(id=uid, roles=[Role.LEARNER], spaces=[space]) for uid in (200, 9, 101, 99)]
    leader = UserFactory(id=1000, roles=[Role.LEARNER], spaces=[space])
    for user, amount in [*((u, 10) for u in tied), (leader, 20)]:
        services.points_award(
            user=user, reason=Reason.LESSON_DONE, source=space, space=space, amount=amount
        )
    commit()
    key = ranks.board_key("space", space.pk, "all")
    stores = [ranks.DatabaseRankStore(), ranks.get_store()]
    if django_settings.REDIS_URL:
        redis_store = ranks.get_store()
        ranks.rebuild_board(key, redis_store)  # the rebuilt board lists them the same way
        stores.append(redis_store)
    for store in stores:
        top = store.top(key, 10)
        assert [(e.user_id, e.rank) for e in top] == [
            (1000, 1),
            (9, 2),
            (99, 2),
            (101, 2),
            (200, 2),
        ], type(store).__name__
        assert [e.user_id for e in store.top(key, 3)] == [1000, 9, 99]
        assert [e.user_id for e in store.around(key, 101, 1)] == [99, 101, 200]
        assert [e.user_id for e in store.around(key, 9, 1)] == [1000, 9, 99]
