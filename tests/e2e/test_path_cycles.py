"""A learning path assigned again after completion, in Chromium: Leo completes a one-lesson
path, the trainer assigns it again with "again" (REST) while Leo's "My learning paths" is
open, and the page shows cycle 2 from 0 % with the past cycle in its history, the lesson not
done in this cycle, live (no reload); opening the lesson again completes the new cycle."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.live import subscribed
from tests.live_server import api, api_token, new_activity

pytestmark = pytest.mark.e2e

COURSE = "Consultative selling"


def test_a_new_cycle_on_the_learners_path_page(login, lyceum_server) -> None:
    url = lyceum_server.url
    trainer = api_token(url, "trainer")
    status, me = api(url, "GET", "/api/v1/me/", token=trainer)
    space = next(s["id"] for s in me["spaces"] if s["slug"] == "demo")
    lesson = new_activity(url, COURSE, f"Yearly {uuid.uuid4().hex[:6]}")
    status, path = api(
        url,
        "POST",
        "/api/v1/paths/",
        token=trainer,
        body={"space": space, "title": f"Yearly refresher {uuid.uuid4().hex[:6]}"},
    )
    assert status == 201, path
    status, item = api(
        url,
        "POST",
        f"/api/v1/paths/{path['id']}/items/",
        token=trainer,
        body={"activity": lesson["id"]},
    )
    assert status == 201, item
    status, leo_me = api(url, "GET", "/api/v1/me/", token=api_token(url, "learner"))
    assign = {"users": [leo_me["id"]]}
    status, body = api(
        url, "POST", f"/api/v1/paths/{path['id']}/assign/", token=trainer, body=assign
    )
    assert status == 201, body

    leo = login("learner")
    leo.goto(f"/activities/{lesson['id']}/")
    expect(leo.locator("[data-testid=activity-done]")).to_be_visible()
    leo.goto("/paths/")
    card = leo.locator(f'[data-testid=my-path][data-path="{path["id"]}"]')
    expect(card.locator("[data-testid=path-done]")).to_be_visible()
    expect(card.locator("[data-testid=path-cycle]")).to_have_count(0)
    # The new cycle's event is live-only: the page's subscriptions answered first.
    subscribed(leo)
    leo.evaluate("() => { window.__sameDocument = true; }")

    status, body = api(
        url,
        "POST",
        f"/api/v1/paths/{path['id']}/assign/",
        token=trainer,
        body={**assign, "again": True},
    )
    assert status == 201 and body[0]["cycle"] == 2, body
    expect(card.locator("[data-testid=path-cycle]")).to_contain_text("Cycle 2")
    expect(card.locator("[data-testid=path-pct]")).to_have_text("0 %")
    expect(card.locator("[data-testid=path-done]")).to_have_count(0)
    expect(card.locator("li[data-state=done]")).to_have_count(0)
    card.locator("[data-testid=path-cycles] summary").click()
    row = card.locator("[data-testid=path-cycle-row]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("100 %")
    assert leo.evaluate("() => window.__sameDocument === true")  # no reload

    # Done again: the page already shows "Done", so wait for its completion request itself.
    with leo.expect_response(
        lambda r: (
            r.request.method == "POST" and r.url.endswith(f"/activities/{lesson['id']}/complete/")
        )
    ) as completed:
        leo.goto(f"/activities/{lesson['id']}/")
    assert completed.value.ok
    leo.goto("/paths/")
    expect(card.locator("[data-testid=path-pct]")).to_have_text("100 %")
    expect(card.locator("li[data-state=done]")).to_have_count(1)
