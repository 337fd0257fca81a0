"""The learner's home page follows their sessions live (issue 15): a seat freed at a full
session they wait for turns their waiting-list position into a seat offer with a countdown
and "Take the seat", without a reload."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.live import subscribed
from tests.live_server import api, api_token

pytestmark = pytest.mark.e2e


def test_a_seat_offer_appears_on_the_home_page_live(login, lyceum_server) -> None:
    url = lyceum_server.url
    coordinator = api_token(url, "coordinator")
    status, sessions = api(url, "GET", "/api/v1/sessions/", token=coordinator)
    assert status == 200, sessions
    space = next(s["space"] for s in sessions if s["title"] == "First aid workshop")
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    title = f"Home offer {uuid.uuid4().hex[:6]}"
    status, session = api(
        url,
        "POST",
        "/api/v1/sessions/",
        token=coordinator,
        body={
            "space": space,
            "kind": "face_to_face",
            "title": title,
            "starts_at": start.isoformat(),
            "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
            "capacity": 1,
            "claim_hours": 6,
        },
    )
    assert status == 201, session
    leo, lina = api_token(url, "learner"), api_token(url, "learner2")
    path = f"/api/v1/sessions/{session['id']}/"
    assert api(url, "POST", path + "register/", token=leo, body={})[0] in (200, 201)
    assert api(url, "POST", path + "register/", token=lina, body={})[0] in (200, 201)

    page = login("learner2")
    page.goto("/")
    waiting = page.locator("[data-testid=waiting-position]", has_text=title)
    expect(waiting).to_contain_text("Position 1")
    subscribed(page)
    page.evaluate("() => { window.__sameDocument = true; }")

    assert api(url, "POST", path + "cancel/", token=leo, body={})[0] == 200
    offer = page.locator("[data-testid=seat-offer]", has_text=title)
    expect(offer).to_be_visible()
    expect(offer.locator("[data-testid=offer-countdown]")).to_contain_text("left")
    expect(offer.locator("[data-testid=home-offer-accept]")).to_be_visible()
    assert page.evaluate("() => window.__sameDocument === true")
