"""Levels and streaks pushed live, and a streak's days counted in the person's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from leaderboards import services as points
from leaderboards.models import PointAward, Reason
from leaderboards.selectors import current_streak
from levels import services
from tests.factories import SpaceFactory, UserFactory

# UTC+14 all year: its days start ten hours before UTC's previous day ends.
KIRITIMATI = "Pacific/Kiritimati"


def award_at(user, space, when):
    from django.contrib.contenttypes.models import ContentType

    award = PointAward.objects.create(
        user=user,
        space=space,
        amount=5,
        reason=Reason.MANUAL,
        source_type=ContentType.objects.get_for_model(user),
        source_id=PointAward.objects.count() + 1,
    )
    PointAward.objects.filter(pk=award.pk).update(created_at=when)


def pay(user, space, amount, n=[0]):  # noqa: B006 (a counter of sources across calls)
    n[0] += 1
    source = UserFactory(username=f"source{n[0]}")
    return points.points_award(
        user=user, reason=Reason.MANUAL, source=source, space=space, amount=amount
    )


# -- the person's days --------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("where", ["profile", "space"])
def test_streak_counts_the_persons_days_not_the_servers(learner, space, where):
    zone = ZoneInfo(KIRITIMATI)
    if where == "profile":
        learner.time_zone = KIRITIMATI
        learner.save(update_fields=["time_zone"])
    else:  # no zone of their own: their space's default
        space.time_zone = KIRITIMATI
        space.save(update_fields=["time_zone"])
    day = dt.date(2026, 3, 10)
    # 23:30 on the 9th and 00:30 on the 10th, there: one UTC day (the 9th), two of theirs.
    award_at(learner, space, dt.datetime(2026, 3, 9, 23, 30, tzinfo=zone))
    award_at(learner, space, dt.datetime(2026, 3, 10, 0, 30, tzinfo=zone))
    assert current_streak(user=learner, space_id=space.pk, today=day) == 2
    # Whoever looks (another zone active for the viewer's request): the same.
    with timezone.override(ZoneInfo("America/Los_Angeles")):
        assert current_streak(user=learner, space_id=space.pk, today=day) == 2
    # In UTC the same awards make one day.
    learner.time_zone = "UTC"
    learner.save(update_fields=["time_zone"])
    assert current_streak(user=learner, space_id=space.pk, today=day) == 1


@pytest.mark.django_db
def test_unknown_zone_falls_back_to_the_server(learner, space):
    learner.time_zone = "Mars/Olympus"
    space.time_zone = ""
    learner.save(update_fields=["time_zone"])
    space.save(update_fields=["time_zone"])
    award_at(learner, space, timezone.now())
    assert current_streak(user=learner, space_id=space.pk) == 1


# -- pushed live -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_first_points_of_the_day_and_a_new_level_are_pushed(learner, space, published):
    pay(learner, space, 10)
    mine = [e for e in published(learner.topic) if e.type == "levels.progress"]
    assert len(mine) == 1 and mine[0].data["changed"] == ["streak"]
    assert mine[0].data["streak"] == 1 and mine[0].data["level"]["number"] == 1
    public = published(f"levels.person.{learner.pk}")
    assert [e.type for e in public] == ["progress.updated"]
    # More points the same day, no new level: nothing to push.
    pay(learner, space, 10)
    assert len([e for e in published(learner.topic) if e.type == "levels.progress"]) == 1
    # Crossing 100 points: the level.
    pay(learner, space, 85)
    mine = [e for e in published(learner.topic) if e.type == "levels.progress"]
    assert len(mine) == 2 and mine[1].data["changed"] == ["level"]
    assert mine[1].data["level"]["name"] == "Explorer"


@pytest.mark.django_db
def test_what_is_hidden_is_not_pushed_to_others(learner, space, published):
    services.display_set(user=learner, show_level=False)
    pay(learner, space, 150)
    public = published(f"levels.person.{learner.pk}")
    assert len(public) == 1
    assert public[0].data["level"] is None and public[0].data["streak"] == 1
    mine = [e for e in published(learner.topic) if e.type == "levels.progress"][-1]
    assert mine.data["level"]["name"] == "Explorer"  # the person still sees both
    services.display_set(user=learner, show_streak=False)
    pay(learner, space, 200)  # level 3: pushed to the person only
    assert len(published(f"levels.person.{learner.pk}")) == 1
    assert [e for e in published(learner.topic) if e.type == "levels.progress"][-1].data[
        "changed"
    ] == ["level"]


@pytest.mark.django_db
def test_a_big_batch_is_pushed_from_a_job(learner, space, published, run_tasks, monkeypatch):
    monkeypatch.setattr(services, "INLINE_PUSHES", 0)
    pay(learner, space, 10)
    assert not [e for e in published(learner.topic) if e.type == "levels.progress"]
    assert run_tasks() >= 1
    assert [e for e in published(learner.topic) if e.type == "levels.progress"]


@pytest.mark.django_db(transaction=True)
async def test_others_see_it_live_on_the_profile_topic(communicator_for, learner, learner2, space):
    outsider = await database_sync_to_async(UserFactory)(
        username="elsewhere", spaces=[await database_sync_to_async(SpaceFactory)()]
    )
    stranger = await communicator_for(outsider)
    assert (await stranger.call("sub", topic=f"levels.person.{learner.pk}"))["code"] == "forbidden"
    bad = await stranger.call("sub", topic="levels.person.abc")
    assert bad["op"] == "error"
    ws = await communicator_for(learner2)
    assert (await ws.call("sub", topic=f"levels.person.{learner.pk}"))["op"] == "ok"
    await database_sync_to_async(pay)(learner, space, 120)
    event = await ws.next_event(type="progress.updated")
    assert event["data"]["level"]["name"] == "Explorer" and event["data"]["streak"] == 1
    assert "id" not in event or event["id"] is None


@pytest.mark.django_db
def test_chips_name_the_person_and_space_for_the_live_script(client, learner, learner2, space):
    pay(learner, space, 10)
    client.force_login(learner2)
    page = client.get(f"/people/{learner.pk}/").content.decode()
    assert f'data-progress-person="{learner.pk}"' in page
    assert f'data-progress-space="{space.pk}"' in page and "levels/live.js" in page
