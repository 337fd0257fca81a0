"""Chat between two browser contexts: the message, typing, presence, the read receipt for
the sender, and the navigation's unread badge, all live."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import subscribed

pytestmark = pytest.mark.e2e


def open_conversation(page: Page, title: str) -> None:
    page.goto("/chat/")
    page.locator("[data-testid=conversation-list] a", has_text=title).click()
    expect(page).to_have_url(re.compile(r"/chat/\d+/$"))
    subscribed(page)


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
    subscribed(lina)
    badge = lina.locator("[data-testid=chat-unread]")
    before = int(badge.text_content() or "0")
    leo = login("learner")
    open_conversation(leo, "Study group")
    leo.fill("#composer-body", f"Anyone there? {uuid.uuid4().hex[:6]}")
    leo.press("#composer-body", "Enter")
    expect(badge).to_have_text(str(before + 1))
    expect(badge).to_be_visible()


def test_message_actions_mentions_attachments_and_browsing(login) -> None:
    """Actions in a menu (button, keyboard, Escape), a mention highlighted for the person
    mentioned, a file dropped on the conversation sent as an attachment, and the list
    filtered by name and kind."""
    leo = login("learner")
    lina = login("learner2")
    open_conversation(leo, "Lina Learner")
    open_conversation(lina, "Leo Learner")

    text = f"@learner look {uuid.uuid4().hex[:6]}"
    lina.fill("#composer-body", text)
    lina.keyboard.press("Enter")
    received = leo.locator("[data-testid=message]", has_text=text)
    expect(received).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(received.locator(".mention")).to_have_text("@learner")

    # The actions are not all shown at once: a menu opens from the message's button.
    menu = received.locator("[role=menu]")
    expect(menu).to_be_hidden()
    received.hover()
    received.get_by_test_id("message-menu").click()
    expect(menu).to_be_visible()
    expect(menu.get_by_role("menuitem").first).to_be_focused()
    leo.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(received.get_by_test_id("message-menu")).to_be_focused()
    leo.keyboard.press("Enter")
    menu.get_by_role("menuitem", name="Reply", exact=True).click()
    expect(leo.locator("#replying")).to_contain_text("Lina Learner")

    # A file dropped on the conversation is attached and sent with the message.
    leo.evaluate(
        """() => {
            const transfer = new DataTransfer();
            const file = new File(["notes"], "notes.txt", {type: "text/plain"});
            transfer.items.add(file);
            const pane = document.querySelector(".chat-pane");
            for (const type of ["dragover", "drop"]) {
                const init = {dataTransfer: transfer, bubbles: true, cancelable: true};
                pane.dispatchEvent(new DragEvent(type, init));
            }
        }"""
    )
    expect(leo.get_by_test_id("composer-attachment")).to_contain_text("notes.txt")
    leo.fill("#composer-body", "with my notes")
    leo.keyboard.press("Enter")
    sent = lina.locator("[data-testid=message]", has_text="with my notes")
    expect(sent.locator("a.attachment")).to_contain_text("notes.txt")
    expect(leo.get_by_test_id("composer-attachment")).to_be_hidden()

    # Browsing: by name, and by kind.
    leo.get_by_test_id("conversation-filter").fill("lina")
    expect(leo.locator("#conversation-list li[data-kind]:visible")).to_have_count(1)
    leo.get_by_test_id("conversation-filter").fill("")
    leo.get_by_role("button", name="People", exact=True).click()
    kinds = leo.locator("#conversation-list li[data-kind]:visible").evaluate_all(
        "items => items.map(li => li.dataset.kind)"
    )
    assert kinds and set(kinds) == {"direct"}, kinds
