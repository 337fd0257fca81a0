"""Scheduling in a real browser: a learner books a coaching slot and it disappears live
from another learner's page; a manager reserves seats and names a report while the
coordinator's session page shows the reservation change live; the coordinator's home
page conflicts card counts a conflict accepted meanwhile."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.test_sessions_live import create_session
from tests.live_server import api, api_token

pytestmark = pytest.mark.e2e


def test_learner_books_a_coaching_slot(login, lyceum_server) -> None:
    url = lyceum_server.url
    trainer = api_token(url, "trainer")
    status, sessions = api(url, "GET", "/api/v1/sessions/", token=trainer)
    space = next(s["space"] for s in sessions if s["title"] == "First aid workshop")
    # A time nobody else in the shared live database uses.
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=40 + random.randint(0, 300))).replace(
        minute=0, second=0, microsecond=0
    )
    status, slots = api(
        url,
        "POST",
        "/api/v1/sessions/coaching/slots/",
        token=trainer,
        body={
            "space": space,
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(minutes=30)).isoformat(),
            "slot_minutes": 30,
            "title": f"Coaching {uuid.uuid4().hex[:6]}",
        },
    )
    assert status == 201, slots
    slot = slots[0]["id"]

    other = login("learner2")
    other.goto("/sessions/coaching/")
    expect(other.locator("[data-testid=open-slots][data-live=true]")).to_have_count(1)
    other_row = other.locator(f"[data-testid=open-slots] li[data-slot='{slot}']")
    expect(other_row).to_be_visible()

    learner = login("learner")
    learner.goto("/sessions/coaching/")
    learner.locator(f"li[data-slot='{slot}'] [data-testid=book-slot]").click()
    expect(learner.locator("[data-testid=my-coaching]")).to_contain_text(slots[0]["title"])
    # Taken: gone from the other learner's page without a reload.
    expect(other_row).to_be_hidden()
    # The coach sees who booked it.
    coach = login("trainer")
    coach.goto("/sessions/coaching/")
    expect(
        coach.locator(f"[data-testid=my-slots] tr[data-slot='{slot}'] [data-testid=booked-by]")
    ).to_contain_text("Leo Learner")


def test_manager_names_a_reserved_seat_seen_live_by_the_coordinator(login, lyceum_server) -> None:
    session_id = create_session(lyceum_server.url, capacity=5)
    coordinator = login("coordinator")
    coordinator.goto(f"/sessions/{session_id}/")
    expect(coordinator.locator("[data-testid=reservations][data-live=true]")).to_have_count(1)
    table = coordinator.locator("[data-testid=reservations] [data-reservations]")
    expect(table).to_contain_text("No reservations")

    manager = login("manager")
    manager.goto(f"/sessions/{session_id}/")
    manager.fill("#id_seats", "2")
    manager.click("[data-testid=reserve-submit]")
    expect(manager.locator("[data-testid=my-reservation]")).to_contain_text("2 of your 2")
    expect(table).to_contain_text("Maya Manager")
    expect(table.locator("[data-held]")).to_have_text("2")
    expect(coordinator.locator("[data-testid=seats-left]")).to_have_text("3")

    manager.select_option("#name-user", label="Leo Learner")
    manager.click("[data-testid=name-submit]")
    expect(manager.locator("[data-testid=named]")).to_contain_text("Leo Learner")
    expect(table.locator("[data-held]")).to_have_text("1")
    expect(table).to_contain_text("Leo Learner")


def test_conflicts_card_updates_live(login, lyceum_server) -> None:
    url = lyceum_server.url
    coordinator = login("coordinator")
    coordinator.goto("/")
    card = coordinator.locator("[data-testid=conflicts-card][data-live=true]")
    expect(card).to_have_count(1)
    before = int(card.locator("[data-testid=conflicts-count]").inner_text())
    token = api_token(url, "coordinator")
    status, sessions = api(url, "GET", "/api/v1/sessions/", token=token)
    space = next(s["space"] for s in sessions if s["title"] == "First aid workshop")
    status, room = api(
        url,
        "POST",
        f"/api/v1/sessions/rooms/?space={space}",
        token=token,
        body={"name": f"Room {uuid.uuid4().hex[:6]}", "capacity": 50},
    )
    assert status == 201, room
    first = create_session(url, capacity=5, starts_in=dt.timedelta(days=200))
    second = create_session(url, capacity=5, starts_in=dt.timedelta(days=200, hours=1))
    for session, reason in ((first, ""), (second, "Shared on purpose")):
        status, body = api(
            url,
            "POST",
            f"/api/v1/sessions/{session}/book/",
            token=token,
            body={"room": room["id"], "override_reason": reason},
        )
        assert status == 200, body
    expect(card.locator("[data-testid=conflicts-count]")).to_have_text(str(before + 1))
