"""``hidden`` means hidden in a real browser, whatever ``display`` a component's CSS gives.

The browser's own ``[hidden] { display: none }`` loses to any author rule, so badges and
bars styled ``display: inline-block`` / ``flex`` showed although marked hidden: a
"Completed" badge on unfinished courses, "Locked" and "Pinned" on every thread, an empty red
alert bar under every reply form, a red "0" beside Chat. Each check has its counterpart
where the element must show, so the test cannot pass by hiding everything.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import same_in_every_mode

pytestmark = [pytest.mark.e2e, same_in_every_mode]


def open_course(page: Page, title: str) -> None:
    page.goto("/courses/")
    page.get_by_role("link", name=title).first.click()
    expect(page.locator("main h1")).to_have_text(title)


def open_thread(page: Page, forum: str, title: str) -> None:
    page.goto("/forums/")
    page.get_by_role("link", name=forum).click()
    page.get_by_role("link", name=title).click()
    expect(page.locator("[data-testid=thread-title]")).to_have_text(title)


def test_completed_badge_only_on_a_completed_course(login) -> None:
    leo = login("learner")  # Leo has started "Workplace safety", not finished it
    open_course(leo, "Workplace safety")
    expect(leo.locator("[data-testid=my-progress]")).to_be_visible()
    assert int(leo.locator("#my-progress-value").inner_text()) < 100
    expect(leo.locator("#my-status")).to_be_hidden()

    lina = login("learner2")  # Lina finished it in the demo
    open_course(lina, "Workplace safety")
    expect(lina.locator("#my-status")).to_be_visible()
    expect(lina.locator("#my-status")).to_have_text("Completed")


def test_thread_shows_only_its_own_flags_and_no_empty_alert(login) -> None:
    page = login("learner")
    open_thread(page, "Course Q&A", "Study group for module 2?")  # neither locked nor pinned
    for selector in (".locked-tag", ".pinned-tag", ".locked-note", "#reply-form .form-error"):
        expect(page.locator(selector)).to_be_hidden()
    expect(page.locator("#reply-form textarea[name=body]")).to_be_visible()

    open_thread(page, "Community lounge", "Welcome! Introduce yourself")  # pinned
    expect(page.locator(".pinned-tag")).to_be_visible()
    expect(page.locator(".locked-tag")).to_be_hidden()
    expect(page.locator("#reply-form .form-error")).to_be_hidden()


def test_chat_badge_hidden_at_zero_and_shown_with_unread(login) -> None:
    manager = login("manager")  # in no conversation: nothing unread
    badge = manager.locator("[data-testid=chat-unread]")
    expect(manager.locator("[data-testid=nav-chat]")).to_be_visible()
    expect(badge).to_have_text("0")
    expect(badge).to_be_hidden()

    # The same badge with a count shows it (set through the page's own nav API).
    manager.wait_for_function("() => window.Lyceum && window.Lyceum.chatNav")
    manager.evaluate("() => window.Lyceum.chatNav.set(999999, 2)")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("2")
