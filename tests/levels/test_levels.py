"""Levels from points (named per space), streaks of active days, and a learner hiding
either from others (they still see both themselves)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from leaderboards.models import PointAward, Reason
from levels import selectors, services

pytestmark = pytest.mark.django_db


def pay(user, space, amount, days_ago=0):
    from django.contrib.contenttypes.models import ContentType

    award = PointAward.objects.create(
        user=user,
        space=space,
        amount=amount,
        reason=Reason.MANUAL,
        source_type=ContentType.objects.get_for_model(user),
        source_id=PointAward.objects.count() + 1,
    )
    PointAward.objects.filter(pk=award.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days_ago)
    )


def test_level_from_points_with_the_default_names(learner, space):
    progress = selectors.progress_payload(viewer=learner, person=learner, space_id=space.pk)
    assert progress["level"]["number"] == 1 and progress["level"]["name"] == "Newcomer"
    pay(learner, space, 150)
    level = selectors.progress_payload(viewer=learner, person=learner, space_id=space.pk)["level"]
    assert (level["number"], level["name"], level["points"]) == (2, "Explorer", 150)
    assert level["next"]["points"] == 300 and level["progress"] == 25


def test_a_space_names_its_own_levels(space, coordinator, learner):
    with pytest.raises(PermissionDenied):
        services.levels_set(actor=learner, space=space, levels=[{"name": "A", "points": 0}])
    with pytest.raises(ValidationError):
        services.levels_set(actor=coordinator, space=space, levels=[{"name": "A", "points": 5}])
    with pytest.raises(ValidationError):
        services.levels_set(
            actor=coordinator,
            space=space,
            levels=[{"name": "A", "points": 0}, {"name": "B", "points": 0}],
        )
    services.levels_set(
        actor=coordinator,
        space=space,
        levels=[{"name": "Seed", "points": 0}, {"name": "Sprout", "points": 10}],
    )
    pay(learner, space, 12)
    level = selectors.progress_payload(viewer=learner, person=learner, space_id=space.pk)["level"]
    assert (level["name"], level["next"], level["progress"]) == ("Sprout", None, 100)


def test_streak_counts_days_in_a_row_up_to_today_or_yesterday(learner, space):
    assert selectors.current_streak(user=learner, space_id=space.pk) == 0
    for days_ago in (1, 2, 3, 5):
        pay(learner, space, 5, days_ago)
    assert selectors.current_streak(user=learner, space_id=space.pk) == 3
    pay(learner, space, 5, 0)
    assert selectors.current_streak(user=learner, space_id=space.pk) == 4


def test_a_learner_hides_level_and_streak_from_others_not_from_themselves(
    learner, learner2, space, api_client_for
):
    pay(learner, space, 150)
    seen = selectors.progress_payload(viewer=learner2, person=learner, space_id=space.pk)
    assert seen["level"]["number"] == 2 and seen["streak"] == 1
    services.display_set(user=learner, show_level=False)
    seen = selectors.progress_payload(viewer=learner2, person=learner, space_id=space.pk)
    assert seen["level"] is None and seen["streak"] == 1
    services.display_set(user=learner, show_streak=False)
    seen = selectors.progress_payload(viewer=learner2, person=learner, space_id=space.pk)
    assert seen["level"] is None and seen["streak"] is None
    mine = selectors.progress_payload(viewer=learner, person=learner, space_id=space.pk)
    assert mine["level"]["number"] == 2 and mine["streak"] == 1
    assert (mine["show_level"], mine["show_streak"]) == (False, False)
    # REST agrees, and shows it again on request.
    other = api_client_for(learner2).get(f"/api/v1/levels/users/{learner.pk}/")
    assert other.status_code == 200 and other.json()["level"] is None
    me = api_client_for(learner)
    assert me.post("/api/v1/levels/me/", {"show_level": "x"}, format="json").status_code == 400
    shown = me.post("/api/v1/levels/me/", {"show_level": True}, format="json")
    assert shown.status_code == 200 and shown.json()["show_level"] is True
    assert api_client_for(learner2).get(f"/api/v1/levels/users/{learner.pk}/").json()["level"]


def test_pages_show_and_hide(client, learner, learner2, space):
    pay(learner, space, 150)
    client.force_login(learner)
    page = client.get("/levels/me/")
    assert page.status_code == 200 and b"Explorer" in page.content
    assert b"level-chip" in client.get("/").content
    client.post("/levels/me/display/", {"show_streak": "on"})  # level unticked
    client.force_login(learner2)
    profile = client.get(f"/people/{learner.pk}/")
    assert profile.status_code == 200
    assert b"streak-chip" in profile.content and b"level-chip" not in profile.content
    assert client.get("/levels/me/display/").status_code == 405  # no change on GET
