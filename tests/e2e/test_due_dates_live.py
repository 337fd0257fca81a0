"""The manager's Overdue card follows due dates live (paths/due.py): the manager moves a
report's course due date into the past over REST, and the card on their open home page
lists the course without a reload; cleared, it leaves."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from tests.e2e.live import subscribed
from tests.live_server import api, api_token

pytestmark = pytest.mark.e2e


def test_overdue_course_appears_on_the_manager_home_live(login, lyceum_server) -> None:
    url = lyceum_server.url
    leo, boss = api_token(url, "learner"), api_token(url, "manager")
    status, enrolments = api(url, "GET", "/api/v1/enrolments/", token=leo)
    assert status == 200, enrolments
    status, courses = api(url, "GET", "/api/v1/courses/", token=leo)
    assert status == 200, courses
    sales = next(c["id"] for c in courses if c["title"] == "Consultative selling")
    enrolment = next(e for e in enrolments if e["course"] == sales)

    page = login("manager")
    page.goto("/")
    card = page.locator("[data-testid=manager-overdue]")
    expect(card).to_be_visible()
    expect(card.locator("[data-testid=overdue-enrolment]")).to_have_count(0)
    # Connected is not subscribed: the team topic's `sub` must be answered before the change
    # (its events are live-only), so wait until no request of the socket is outstanding.
    subscribed(page)
    page.evaluate("() => { window.__sameDocument = true; }")

    path = f"/api/v1/enrolments/{enrolment['id']}/due/"
    yesterday = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    status, body = api(url, "PUT", path, token=boss, body={"due_at": yesterday})
    assert status == 200, body
    late = card.locator("[data-testid=overdue-enrolment]", has_text="Consultative selling")
    expect(late).to_be_visible()
    # A learner may not move it back; cleared by the manager, it leaves the card.
    assert api(url, "PUT", path, token=leo, body={"due_at": None})[0] == 403
    assert api(url, "PUT", path, token=boss, body={"due_at": None})[0] == 200
    expect(page.locator("[data-testid=overdue-enrolment]")).to_have_count(0)
    assert page.evaluate("() => window.__sameDocument === true")
