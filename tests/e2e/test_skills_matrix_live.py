"""The manager's team skills matrix updates live: a coordinator links a new skill to a fresh
lesson of "Consultative selling" (REST), the manager opens the matrix, Leo opens the lesson
(its page completes it) and, without a reload, the manager sees Leo's evidenced level for
that skill rise to the link's level."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.live import subscribed
from tests.live_server import api, api_token, new_activity

pytestmark = pytest.mark.e2e

COURSE = "Consultative selling"


def test_the_managers_matrix_updates_after_a_completion(login, lyceum_server) -> None:
    url = lyceum_server.url
    coordinator = api_token(url, "coordinator")
    status, me = api(url, "GET", "/api/v1/me/", token=coordinator)
    space = next(s["id"] for s in me["spaces"] if s["slug"] == "demo")
    lesson = new_activity(url, COURSE, f"Lesson {uuid.uuid4().hex[:6]}")
    name = f"Live skill {uuid.uuid4().hex[:6]}"
    status, body = api(
        url,
        "POST",
        f"/api/v1/skills/framework/import/?space={space}",
        token=coordinator,
        body={"csv": f"group,skill\nLive,{name}\n", "preview": False},
    )
    assert status == 200, body
    skill = next(
        s["id"] for g in body["framework"]["groups"] for s in g["skills"] if s["name"] == name
    )
    status, link = api(
        url,
        "POST",
        f"/api/v1/skills/{skill}/links/",
        token=coordinator,
        body={"level": 3, "activity": lesson["id"]},
    )
    assert status == 201, link
    status, leo_me = api(url, "GET", "/api/v1/me/", token=api_token(url, "learner"))

    manager = login("manager")
    manager.goto("/skills/matrix/")
    subscribed(manager)
    cell = manager.locator(
        f'[data-testid=skills-matrix] tr[data-user="{leo_me["id"]}"] td[data-skill="{skill}"]'
    )
    expect(cell.locator(".ev")).to_have_text("0")
    expect(manager.locator("#live-status")).to_have_text("Live")

    leo = login("learner")
    leo.goto(f"/activities/{lesson['id']}/")
    expect(leo.locator("[data-testid=activity-done]")).to_be_visible()

    # Live: no reload on the manager's side.
    expect(cell.locator(".ev")).to_have_text("3")
    expect(cell).to_have_class(re.compile(r"\bchanged\b"))

    # Leo's own page shows the evidence.
    leo.goto("/skills/")
    mine = leo.locator(f'[data-testid=skill][data-skill="{skill}"]')
    expect(mine.locator("[data-testid=evidenced]")).to_contain_text("3")
