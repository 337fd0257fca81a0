"""Sessions in a real browser: a learner registers and the coordinator's dashboard seat
count changes live; a waitlisted learner sees their position change live when someone
ahead withdraws, then their promotion when a seat frees up."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.live_server import api, api_token

pytestmark = pytest.mark.e2e


def create_session(server_url: str, capacity: int) -> int:
    """A fresh session of the demo space (tests share the live database)."""
    token = api_token(server_url, "coordinator")
    status, sessions = api(server_url, "GET", "/api/v1/sessions/", token=token)
    assert status == 200, sessions
    space = next(s["space"] for s in sessions if s["title"] == "First aid workshop")
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    status, body = api(
        server_url,
        "POST",
        "/api/v1/sessions/",
        token=token,
        body={
            "space": space,
            "kind": "face_to_face",
            "title": f"Live seats {uuid.uuid4().hex[:6]}",
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
            "capacity": capacity,
        },
    )
    assert status == 201, body
    return body["id"]


def live(page: Page, path: str | None = None) -> None:
    """Open ``path`` (or stay) until the page's topics are subscribed, then mark the document."""
    if path:
        page.goto(path)
    expect(page.locator("[data-live=true]")).to_have_count(1)
    page.evaluate("() => { window.__sameDocument = true; }")


def test_registration_changes_the_dashboard_seat_count_live(login, lyceum_server) -> None:
    session_id = create_session(lyceum_server.url, capacity=3)
    coordinator = login("coordinator")
    live(coordinator, "/sessions/manage/")
    seats = coordinator.locator(f"[data-testid=dash-seats-{session_id}]")
    expect(seats).to_have_text("3")

    learner = login("learner")
    learner.goto(f"/sessions/{session_id}/")
    learner.click("[data-testid=register]")
    expect(learner.locator("#my-status")).to_contain_text("registered")
    expect(learner.locator("[data-testid=seats-left]")).to_have_text("2")

    expect(seats).to_have_text("2")
    assert coordinator.evaluate("() => window.__sameDocument === true")


def test_waitlisted_learner_sees_their_position_change_live(login, lyceum_server) -> None:
    url = lyceum_server.url
    session_id = create_session(url, capacity=1)
    manager, learner = api_token(url, "manager"), api_token(url, "learner")
    register = f"/api/v1/sessions/{session_id}/register/"
    assert api(url, "POST", register, token=manager)[1]["status"] == "confirmed"
    assert api(url, "POST", register, token=learner)[1]["position"] == 1

    learner2 = login("learner2")
    live(learner2, f"/sessions/{session_id}/")
    learner2.click("[data-testid=register]")
    position = learner2.locator("[data-testid=my-position]")
    expect(position).to_have_text("2")
    live(learner2)
    expect(learner2.locator("[data-testid=waitlist-length]")).to_have_text("2")

    # The learner ahead withdraws: position 2 -> 1, live.
    status, _ = api(url, "POST", f"/api/v1/sessions/{session_id}/cancel/", token=learner)
    assert status == 200
    expect(position).to_have_text("1")
    expect(learner2.locator("[data-testid=waitlist-length]")).to_have_text("1")

    # The seat holder cancels: learner2 is promoted, live.
    status, _ = api(url, "POST", f"/api/v1/sessions/{session_id}/cancel/", token=manager)
    assert status == 200
    expect(learner2.locator("#my-status")).to_contain_text("A seat is yours")
    assert learner2.evaluate("() => window.__sameDocument === true")
