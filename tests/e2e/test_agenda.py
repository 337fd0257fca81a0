"""The agenda in a real browser: a registered session is on it, its page and .ics open,
the personal feed serves it and "reset my feed link" retires the old address at once."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

# Demo data (sessions/demo.py): in a week, the learner holds a seat at the workshop and the
# only seat of the virtual class; learner2 waits for the virtual class.
WORKSHOP = "First aid workshop"
VIRTUAL = "Safety Q&A (virtual class)"


def agenda_url(view: str) -> str:
    day = timezone.now().date() + timedelta(days=7)
    return f"/calendars/?view={view}&date={day:%Y-%m-%d}"


def test_learner_sees_a_registered_session_and_subscribes(login) -> None:
    page = login("learner")
    page.locator("[data-testid=main-nav] [data-nav=agenda]").click()
    expect(page).to_have_url(re.compile(r"/calendars/$"))
    page.goto(agenda_url("week"))
    item = page.locator("[data-testid=agenda-item]", has_text=WORKSHOP)
    expect(item).to_have_count(1)
    ics_href = item.locator("[data-testid=session-ics]").get_attribute("href")
    download = page.request.get(ics_href)
    assert download.status == 200
    assert download.headers["content-type"] == "text/calendar; charset=utf-8; method=PUBLISH"
    assert "SUMMARY:First aid workshop" in download.text()

    feed_url = page.locator("[data-testid=feed-url]").input_value()
    webcal = page.locator("[data-testid=webcal-link]").get_attribute("href")
    assert webcal == "webcal://" + feed_url.split("://", 1)[1]
    old_path = urlsplit(feed_url).path
    feed = page.request.get(old_path)
    assert feed.status == 200 and "SUMMARY:First aid workshop" in feed.text()

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-testid=feed-reset]").click()
    expect(page.locator("[data-testid=feed-url]")).not_to_have_value(feed_url)
    new_path = urlsplit(page.locator("[data-testid=feed-url]").input_value()).path
    assert page.request.get(old_path).status == 404
    assert page.request.get(new_path).status == 200

    # From the list view to the session's page.
    page.goto(agenda_url("list"))
    page.locator("[data-testid=agenda-item]", has_text=WORKSHOP).locator("a").first.click()
    expect(page.locator("h1")).to_have_text(WORKSHOP)


def test_waitlisted_learner_sees_the_session_marked(login) -> None:
    page = login("learner2")
    page.goto(agenda_url("list"))
    item = page.locator("[data-testid=agenda-item]", has_text=VIRTUAL)
    expect(item).to_have_count(1)
    expect(item).to_have_class(re.compile(r"is-tentative"))
    expect(page.locator("[data-testid=agenda-item]", has_text=WORKSHOP)).to_have_count(0)


def test_on_a_phone_the_agenda_opens_as_a_list(login) -> None:
    """A month grid is wider than a phone: there the agenda opens in its list view, and a
    view chosen on purpose stays."""
    page = login("learner")
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/calendars/")
    expect(page).to_have_url(re.compile(r"/calendars/\?view=list$"))
    expect(page.locator("[data-testid=agenda]")).to_have_attribute("data-view", "list")
    page.goto(agenda_url("month"))
    expect(page.locator("[data-testid=agenda]")).to_have_attribute("data-view", "month")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/calendars/")
    expect(page.locator("[data-testid=agenda]")).to_have_attribute("data-view", "month")
