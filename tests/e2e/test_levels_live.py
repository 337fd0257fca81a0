"""A learner's new level reaches their home page and, for someone viewing their profile,
the profile, without a reload (issue 22)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.live import subscribed
from tests.live_server import api, api_token, new_activity

pytestmark = pytest.mark.e2e

COURSE = "Consultative selling"


def test_a_new_level_shows_live_on_home_and_profile(login, lyceum_server) -> None:
    url = lyceum_server.url
    coordinator = api_token(url, "coordinator")
    lina_token = api_token(url, "learner2")
    lesson = new_activity(url, COURSE, f"Lesson {uuid.uuid4().hex[:6]}")
    status, mine = api(url, "GET", "/api/v1/levels/me/", token=lina_token)
    assert status == 200, mine
    space, lina_id, points = mine["space"], mine["user"], mine["level"]["points"]
    # A level just above Lina's points: the lesson's points reach it.
    name = f"Bloom {uuid.uuid4().hex[:4]}"
    levels = [{"name": "Seed", "points": 0}, {"name": name, "points": points + 1}]
    path = f"/api/v1/levels/spaces/{space}/"
    assert api(url, "PUT", path, token=coordinator, body={"levels": levels})[0] == 200
    try:
        home = login("learner2")
        home.goto("/")
        subscribed(home)
        expect(home.get_by_test_id("level-chip")).to_contain_text("Seed")
        leo = login("learner")
        leo.goto(f"/people/{lina_id}/")
        subscribed(leo)
        expect(leo.get_by_test_id("level-chip")).to_contain_text("Seed")
        leo.evaluate("() => { window.__sameDocument = true; }")

        # Lina opens the lesson in another tab: its points move her to the new level.
        tab = login("learner2")
        tab.goto(f"/activities/{lesson['id']}/")
        expect(tab.locator("[data-testid=activity-done]")).to_be_visible()
        expect(home.get_by_test_id("level-chip")).to_contain_text(re.compile(f"Level 2 · {name}"))
        expect(leo.get_by_test_id("level-chip")).to_contain_text(name)
        assert leo.evaluate("() => window.__sameDocument === true")
    finally:
        api(url, "PUT", path, token=coordinator, body={"levels": []})
