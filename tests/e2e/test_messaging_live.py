"""Chat between two browser contexts: the message, typing, presence, the read receipt for
the sender, and the navigation's unread badge, all live."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def open_conversation(page: Page, title: str) -> None:
    page.goto("/chat/")
    page.locator("[data-testid=conversation-list] a", has_text=title).click()
    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    page.wait_for_function("() => window.Lyceum && window.Lyceum.realtime.connected === true")


def test_two_people_chat_and_the_sender_sees_the_read_receipt(login) -> None:
    leo = login("learner")
    lina = login("learner2")
    open_conversation(leo, "Lina Learner")
    open_conversation(lina, "Leo Learner")
    # Presence: each sees the other online.
    expect(leo.locator("[data-testid=members] li", has_text="Lina Learner")).to_have_class("online")

    text = f"Hello Lina {uuid.uuid4().hex[:6]}"
    leo.fill("#composer-body", "")
    leo.type("#composer-body", "Hel")
    expect(lina.locator("[data-testid=typing]")).to_contain_text("Leo Learner")
    leo.fill("#composer-body", text)
    leo.press("#composer-body", "Enter")

    received = lina.locator("[data-testid=message]", has_text=text)
    expect(received).to_have_count(1)
    expect(lina.locator("[data-testid=typing]")).to_have_text("")
    mine = leo.locator("[data-testid=message]", has_text=text)
    expect(mine).to_have_count(1)
    # Lina's page is on screen: she read it, and Leo sees the receipt appear.
    expect(mine.locator("[data-testid=receipt]")).to_have_text("Seen")


def test_unread_badge_moves_live_in_the_navigation(login) -> None:
    lina = login("learner2")
    lina.goto("/")
    lina.wait_for_function("() => window.Lyceum && window.Lyceum.chatNav")
    lina.wait_for_function("() => window.Lyceum.realtime.connected === true")
    badge = lina.locator("[data-testid=chat-unread]")
    before = int(badge.text_content() or "0")
    leo = login("learner")
    open_conversation(leo, "Study group")
    leo.fill("#composer-body", f"Anyone there? {uuid.uuid4().hex[:6]}")
    leo.press("#composer-body", "Enter")
    expect(badge).to_have_text(str(before + 1))
    expect(badge).to_be_visible()
