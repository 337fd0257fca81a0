"""One session seen by two people in two time zones: the same instant, each on their own
clock, the zone named (the session's is Paris), and the browser's helper writes what the
server wrote."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def choose_zone(page: Page, zone: str) -> None:
    """Through the profile page, as a person would."""
    page.goto("/accounts/profile/")
    page.select_option("#id_time_zone", zone)
    page.click("[data-testid=profile-form] button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("saved")


def first_session(page: Page) -> str:
    page.goto("/sessions/")
    hrefs = page.eval_on_selector_all(
        "main a[href^='/sessions/']", "els => els.map(a => a.getAttribute('href'))"
    )
    return next(h for h in hrefs if h.rstrip("/").split("/")[-1].isdecimal())


def shown_start(page: Page, path: str) -> tuple[str, str]:
    page.goto(path)
    start = page.locator("[data-testid=session-when] time").first
    return start.get_attribute("datetime") or "", start.inner_text()


def test_one_session_two_viewers_two_zones(login) -> None:
    zones = {"learner": "America/New_York", "learner2": "Asia/Tokyo"}
    pages = {who: login(who, timezone_id=zone) for who, zone in zones.items()}
    try:
        for who, zone in zones.items():
            choose_zone(pages[who], zone)
        path = first_session(pages["learner"])
        seen = {who: shown_start(page, path) for who, page in pages.items()}

        instants = {datetime.fromisoformat(iso) for iso, _text in seen.values()}
        assert len(instants) == 1, seen  # one instant
        instant = instants.pop()
        for who, zone in zones.items():
            iso, text = seen[who]
            local = instant.astimezone(ZoneInfo(zone))
            # The whole date, with the week day, so zones a day apart cannot pass by chance.
            assert local.strftime("%a %-d %b %Y, %H:%M") in text, (who, text)
            assert f"({zone.split('/')[-1].replace('_', ' ')} time)" not in text  # start only
            whole = pages[who].locator("[data-testid=session-when]").inner_text()
            assert f"({zone.split('/')[-1].replace('_', ' ')} time)" in whole, whole
            # The browser's helper writes the same text for the same instant.
            js = pages[who].evaluate("(iso) => Lyceum.formatDate(iso)", iso)
            assert js == local.strftime("%a %-d %b %Y, %H:%M"), (who, js)
        assert seen["learner"][1] != seen["learner2"][1]
    finally:
        for page in pages.values():
            choose_zone(page, "UTC")
