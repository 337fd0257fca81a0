"""``leaderboards.board.<key>``: who may listen, and pushes coalesced per board."""

from __future__ import annotations

import time

import pytest
from channels.db import database_sync_to_async

from leaderboards import ranks, services
from leaderboards.models import Reason
from tests.factories import UserFactory


def _topic(space, window="all"):
    return f"leaderboards.board.{ranks.board_key('space', space.pk, window)}"


@pytest.mark.django_db
def test_many_awards_one_push_per_board(space, learner, learner2, published, settings):
    settings.LEADERBOARD_PUSH_INTERVAL = 0.1
    others = [UserFactory(spaces=[space]) for _ in range(3)]
    for user in [learner, learner2, *others]:
        services.points_award(user=user, reason=Reason.LESSON_DONE, source=space, space=space)
    published()  # commit: the awards reach the store and arm the timer
    time.sleep(0.4)
    events = published(_topic(space))
    assert len(events) == 1
    assert events[0].type == "board.changed"
    assert events[0].data["users"] == sorted(u.pk for u in [learner, learner2, *others])
    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    published()
    time.sleep(0.4)
    assert [e.data["users"] for e in published(_topic(space))][1:] == [[learner.pk]]


@pytest.mark.django_db(transaction=True)
async def test_members_subscribe_outsiders_do_not(communicator_for, settings):
    settings.LEADERBOARD_PUSH_INTERVAL = 0.05
    from hub.accounts.models import Role
    from tests.factories import SpaceFactory

    space = await database_sync_to_async(SpaceFactory)()
    member = await database_sync_to_async(UserFactory)(roles=[Role.LEARNER], spaces=[space])
    outsider = await database_sync_to_async(UserFactory)(roles=[Role.LEARNER])
    ws = await communicator_for(member)
    reply = await ws.call("sub", topic=_topic(space, "week"))
    assert reply["op"] == "ok", reply
    bad = await communicator_for(outsider)
    reply = await bad.call("sub", topic=_topic(space, "week"))
    assert reply["op"] == "error" and reply["code"] == "forbidden"
    reply = await bad.call("sub", topic="leaderboards.board.nonsense")
    assert reply["op"] == "error" and reply["code"] == "forbidden"
    await database_sync_to_async(services.points_award)(
        user=member, reason=Reason.LESSON_DONE, source=space, space=space
    )
    event = await ws.next_event(type="board.changed")
    assert event["data"]["users"] == [member.pk]


@pytest.mark.django_db
def test_without_interval_each_change_is_published_after_commit(space, learner, published):
    services.points_award(user=learner, reason=Reason.LESSON_DONE, source=space, space=space)
    events = published(_topic(space, "week"))
    assert [(e.type, e.data["users"]) for e in events] == [("board.changed", [learner.pk])]


@pytest.mark.django_db
def test_a_push_of_many_movers_says_how_many_not_who(published):
    """Wall screens refetch the board anyway: thousands of ids would only fill the frame."""
    from leaderboards import push

    push.boards_changed({"space.1.all": range(1, push.NAMED_LIMIT + 1)})
    push.boards_changed({"space.1.all": range(1, push.NAMED_LIMIT + 2)})
    named, counted = published("leaderboards.board.space.1.all")
    assert named.data == {
        "key": "space.1.all",
        "users": list(range(1, push.NAMED_LIMIT + 1)),
        "moved": push.NAMED_LIMIT,
    }
    assert counted.data == {"key": "space.1.all", "users": None, "moved": push.NAMED_LIMIT + 1}
