"""Results as you type, in Chromium: one request per pause in typing, the matches marked,
the list driven from the keyboard (↓, Enter) and announced to screen readers."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_results_as_you_type_and_keyboard_navigation(login) -> None:
    page = login("learner")
    searches: list[str] = []
    page.on(
        "request",
        lambda request: searches.append(request.url) if "/api/v1/search/" in request.url else None,
    )
    # Reached from the shell's top bar.
    page.click("[data-testid=search-link]")
    expect(page).to_have_url(re.compile(r"/search/$"))
    box = page.locator("[data-testid=search-input]")
    expect(box).to_be_focused()

    box.press_sequentially("workpl", delay=40)  # faster than the debounce: one request
    hit = page.locator("[data-testid=search-results] [role=option]", has_text="Workplace safety")
    expect(hit).to_have_count(1)
    expect(hit.locator("mark").first).to_have_text(re.compile("workpl", re.I))
    expect(page.locator("[data-testid=search-status]")).to_contain_text("result")
    expect(box).to_have_attribute("aria-expanded", "true")
    # Debounced: typing faster than the debounce asks once; a loaded machine may deliver a
    # keystroke late and ask for a prefix first, but never once per key, and the answer
    # shown is the one for the whole word (stale answers are dropped).
    assert 1 <= len(searches) < len("workpl"), searches
    assert "q=workpl" in searches[-1]

    # A word nobody wrote: nothing, said politely.
    box.fill("zzqxjv")
    expect(page.locator("[data-testid=search-status]")).to_have_text("Nothing found.")
    expect(page.locator("[data-testid=search-results] [role=option]")).to_have_count(0)

    box.fill("workplace")
    expect(hit).to_have_count(1)
    box.press("ArrowDown")
    first = page.locator("[data-testid=search-results] [role=option]").first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", "hit-1")
    href = first.locator("a.hit-link").get_attribute("href")
    box.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(href) + "$"))


def test_engine_syntax_typed_shows_no_error(login) -> None:
    page = login("learner")
    page.goto("/search/")
    box = page.locator("[data-testid=search-input]")
    box.fill('"workplace* NEAR( ((')
    expect(page.locator("[data-testid=search-status]")).not_to_have_text("")
    expect(page.locator("[data-testid=search-status]")).not_to_contain_text("unavailable")
    box.fill("x" * 201)
    expect(page.locator("[data-testid=search-status]")).to_contain_text("200")
