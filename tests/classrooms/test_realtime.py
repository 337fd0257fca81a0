"""The progress topic over the gateway: who may listen, live pushes, resume with since."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from classrooms import services
from hub.accounts.models import Role
from tests.classrooms.conftest import build_course
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def setup(trainer, space, learner, learner2, manager):
    return build_course(trainer=trainer, space=space, learners=[learner, learner2])


view = database_sync_to_async(services.activity_view)


async def test_who_may_subscribe(
    communicator_for, trainer, space, learner, learner2, manager, outsider
):
    c = await setup(trainer, space, learner, learner2, manager)
    topic = c.course.progress_topic
    other_trainer = await database_sync_to_async(UserFactory)(roles=[Role.TRAINER], spaces=[space])
    team_topic = await team_topic_of(manager)
    for user, expected in [
        (trainer, "ok"),
        (manager, "error"),  # every learner is on it: managers follow their team's topic
        (learner, "error"),
        (outsider, "error"),
        (other_trainer, "error"),
    ]:
        ws = await communicator_for(user)
        reply = await ws.call("sub", topic=topic)
        assert reply["op"] == expected, user
        if expected == "error":
            assert reply["code"] == "forbidden"
    ws = await communicator_for(trainer)
    assert (await ws.call("sub", topic="classrooms.course.999999.progress"))["code"] == "forbidden"
    for user, expected in [(manager, "ok"), (trainer, "error"), (learner, "error")]:
        ws = await communicator_for(user)
        assert (await ws.call("sub", topic=team_topic))["op"] == expected, user


@database_sync_to_async
def team_topic_of(manager):
    from classrooms.selectors import team_progress_topics

    (topic,) = team_progress_topics(manager=manager)
    return topic


async def test_a_manager_sees_their_reports_progress_and_nobody_else(
    communicator_for, trainer, space, learner, learner2, manager
):
    stranger = await database_sync_to_async(UserFactory)(roles=[Role.LEARNER], spaces=[space])
    c = await database_sync_to_async(build_course)(
        trainer=trainer, space=space, learners=[learner, learner2, stranger]
    )
    topic = await team_topic_of(manager)
    m = await communicator_for(manager)
    assert (await m.call("sub", topic=topic))["op"] == "ok"
    await view(user=stranger, activity=c.lesson)  # not in the manager's team
    mine = await view(user=learner, activity=c.lesson)
    event = await m.next_event(topic=topic, type="progress.updated")
    assert event["id"] == mine.pk and event["data"]["user"]["id"] == learner.pk
    await m.assert_silent()
    # Resuming replays the team's completions only, too.
    m2 = await communicator_for(manager)
    await m2.call("sub", topic=topic, since=0)
    assert [e["data"]["user"]["id"] for e in m2.events] == [learner.pk]


async def test_trainer_and_manager_see_progress_live(
    communicator_for, trainer, space, learner, learner2, manager
):
    c = await setup(trainer, space, learner, learner2, manager)
    topic = c.course.progress_topic
    team_topic = await team_topic_of(manager)
    t = await communicator_for(trainer)
    m = await communicator_for(manager)
    me = await communicator_for(learner)
    other = await communicator_for(learner2)
    assert (await t.call("sub", topic=topic))["op"] == "ok"
    assert (await m.call("sub", topic=team_topic))["op"] == "ok"
    assert (await me.call("sub", topic=f"hub.user.{learner.pk}"))["op"] == "ok"
    assert (await other.call("sub", topic=f"hub.user.{learner2.pk}"))["op"] == "ok"

    completion = await view(user=learner, activity=c.lesson)

    for ws, on in ((t, topic), (m, team_topic)):
        event = await ws.next_event(topic=on, type="progress.updated")
        assert event["id"] == completion.pk
        assert event["data"]["user"]["id"] == learner.pk
        assert event["data"]["activity"] == c.lesson.pk
        assert event["data"]["progress"] == 33
    own = await me.next_event(type="classrooms.progress")
    assert own["data"]["progress"] == 33 and "id" not in own
    await other.assert_silent()


async def test_resume_replays_missed_progress(
    communicator_for, trainer, space, learner, learner2, manager
):
    c = await setup(trainer, space, learner, learner2, manager)
    topic = c.course.progress_topic
    first = await view(user=learner, activity=c.lesson)
    second = await view(user=learner2, activity=c.lesson)
    ws = await communicator_for(trainer)
    assert (await ws.call("sub", topic=topic, since=first.pk))["op"] == "ok"
    event = await ws.next_event(topic=topic, type="progress.updated")
    assert event["id"] == second.pk and event["data"]["user"]["id"] == learner2.pk
    await ws.assert_silent()
