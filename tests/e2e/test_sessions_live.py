"""Sessions in a real browser: a learner registers and the coordinator's dashboard seat
count changes live; a waitlisted learner sees their position change live when someone
ahead withdraws, then their promotion when a seat frees up."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.live_server import LiveEnvironment, api, api_token

pytestmark = pytest.mark.e2e


def create_session(
    server_url: str,
    capacity: int,
    *,
    starts_in: dt.timedelta = dt.timedelta(days=10),
    length: dt.timedelta = dt.timedelta(hours=2),
) -> int:
    """A fresh session of the demo space (tests share the live database)."""
    token = api_token(server_url, "coordinator")
    status, sessions = api(server_url, "GET", "/api/v1/sessions/", token=token)
    assert status == 200, sessions
    space = next(s["space"] for s in sessions if s["title"] == "First aid workshop")
    start = dt.datetime.now(dt.UTC) + starts_in
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
            "ends_at": (start + length).isoformat(),
            "capacity": capacity,
        },
    )
    assert status == 201, body
    return body["id"]


def live(page: Page, path: str | None = None) -> None:
    """Open ``path`` (or stay) until the page's topics are subscribed, then mark the document.

    The session page (``#session-live``) or the dashboard; other live parts of the page (the
    seat reservations a coordinator sees) mark themselves too."""
    if path:
        page.goto(path)
    main = page.locator("#session-live, [data-testid=dashboard]")
    expect(main).to_have_count(1)
    expect(main).to_have_attribute("data-live", "true")
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


def test_an_open_page_learns_the_session_is_over(login, lyceum_server, live_env: LiveEnvironment):
    # A session of two seconds, starting in three: its completion job is due at its end.
    ends_at = time.monotonic() + 5
    session_id = create_session(
        lyceum_server.url,
        capacity=5,
        starts_in=dt.timedelta(seconds=3),
        length=dt.timedelta(seconds=2),
    )
    learner = login("learner")
    live(learner, f"/sessions/{session_id}/")
    over = learner.locator("[data-testid=session-over]")
    expect(over).to_be_hidden()
    if os.environ.get("DATABASE_URL"):
        # Services mode: the server runs no jobs; a worker run after the end does it (the
        # embedded server's own worker runs it when due).
        time.sleep(max(0.0, ends_at - time.monotonic()))  # until the session's end
        live_env.manage("db_worker", "--batch", "--interval", "0")
    expect(over).to_be_visible()
    expect(learner.locator("[data-testid=session-status]")).to_have_text("Completed")
    expect(learner.locator("[data-testid=register]")).to_have_count(0)
    assert learner.evaluate("() => window.__sameDocument === true")


def test_coordinator_tables_follow_registrations_live(login, lyceum_server) -> None:
    """The coordinator's session page changed its counters live while its waiting-list
    table still said "Nobody is waiting": every part that shows registrations follows."""
    url = lyceum_server.url
    session_id = create_session(url, capacity=1)
    manager = api_token(url, "manager")
    register = f"/api/v1/sessions/{session_id}/register/"
    assert api(url, "POST", register, token=manager)[1]["status"] == "confirmed"

    coordinator = login("coordinator")
    live(coordinator, f"/sessions/{session_id}/")
    waitlist = coordinator.locator("[data-testid=waitlist]")
    registrations = coordinator.locator("[data-testid=registrations]")
    expect(waitlist).to_contain_text("Nobody is waiting.")
    expect(registrations).to_contain_text("Maya Manager")

    learner = login("learner2")
    learner.goto(f"/sessions/{session_id}/")
    learner.click("[data-testid=register]")
    expect(learner.locator("[data-testid=my-position]")).to_have_text("1")

    # The coordinator's page, without a reload: the counter and the waiting list.
    expect(coordinator.locator("[data-testid=waitlist-length]")).to_have_text("1")
    expect(waitlist.locator("tbody tr")).to_have_count(1)
    expect(waitlist).to_contain_text("Lina Learner")
    expect(waitlist).not_to_contain_text("Nobody is waiting.")

    # The seat holder cancels: Lina moves from the waiting list to the registrations.
    status, _ = api(url, "POST", f"/api/v1/sessions/{session_id}/cancel/", token=manager)
    assert status == 200
    expect(waitlist).to_contain_text("Nobody is waiting.")
    expect(registrations.locator("tbody tr", has_text="Lina Learner")).to_contain_text("Confirmed")
    expect(registrations).not_to_contain_text("Maya Manager")
    assert coordinator.evaluate("() => window.__sameDocument === true")


def test_the_register_button_says_waiting_list_once_the_session_is_full(
    login, lyceum_server
) -> None:
    """A full session's button reads "Join the waiting list", and it turns so live when the
    last seat goes while the page is open."""
    url = lyceum_server.url
    session_id = create_session(url, capacity=1)
    learner2 = login("learner2")
    live(learner2, f"/sessions/{session_id}/")
    button = learner2.locator("[data-testid=register]")
    expect(button).to_have_text("Register", use_inner_text=True)
    register = f"/api/v1/sessions/{session_id}/register/"
    assert api(url, "POST", register, token=api_token(url, "manager"))[1]["status"] == "confirmed"
    expect(learner2.locator("[data-testid=seats-left]")).to_have_text("0")
    expect(button).to_have_text("Join the waiting list", use_inner_text=True)
    button.click()
    expect(learner2.locator("[data-testid=my-position]")).to_have_text("1")
    # Opened afresh, a full session's page says it at once.
    learner2.goto(f"/sessions/{create_full_session(url)}/")
    expect(learner2.locator("[data-testid=register]")).to_have_text(
        "Join the waiting list", use_inner_text=True
    )


def create_full_session(url: str) -> int:
    session_id = create_session(url, capacity=1)
    register = f"/api/v1/sessions/{session_id}/register/"
    assert api(url, "POST", register, token=api_token(url, "manager"))[1]["status"] == "confirmed"
    return session_id
