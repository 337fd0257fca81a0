"""Chat threads between two browser contexts: one person replies in a message's thread on a
phone (the thread is a panel over the conversation), the other sees the root's reply count
move live on a wide screen, opens the thread beside the conversation and answers; the
answer reaches the phone's open thread live."""

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


def test_reply_in_a_thread_seen_live_by_the_other_person(login) -> None:
    leo = login("learner", viewport={"width": 1366, "height": 900})
    lina = login("learner2", viewport={"width": 390, "height": 800})
    open_conversation(leo, "Lina Learner")
    open_conversation(lina, "Leo Learner")

    tag = uuid.uuid4().hex[:6]
    leo.fill("#composer-body", f"Which chapter for Monday? {tag}")
    leo.press("#composer-body", "Enter")
    root_on_phone = lina.locator(
        "[data-testid=message]", has_text=f"Which chapter for Monday? {tag}"
    )
    expect(root_on_phone).to_have_count(1)

    # Lina, on her phone, replies in the message's thread: a panel over the conversation.
    root_on_phone.hover()
    root_on_phone.get_by_test_id("message-menu").click()
    root_on_phone.get_by_role("menuitem", name="Reply in thread").click()
    pane = lina.get_by_test_id("thread-pane")
    expect(pane).to_be_visible()
    expect(pane.get_by_test_id("thread-root")).to_contain_text(f"Which chapter for Monday? {tag}")
    box = pane.bounding_box()
    assert box is not None and box["width"] >= 380, box
    lina.fill("#thread-body", f"Chapter three {tag}")
    lina.press("#thread-body", "Enter")
    expect(pane.get_by_test_id("thread-replies")).to_contain_text(f"Chapter three {tag}")
    # Not a message of the conversation itself: only in the thread.
    expect(
        lina.locator("#messages [data-testid=message]", has_text=f"Chapter three {tag}")
    ).to_have_count(0)

    # Leo sees the root's reply count move, live, and opens the thread beside the conversation.
    root_on_desktop = leo.locator(
        "#messages [data-testid=message]", has_text=f"Which chapter for Monday? {tag}"
    )
    summary = root_on_desktop.get_by_test_id("thread-summary")
    expect(summary).to_contain_text("1 reply")
    summary.click()
    leo_pane = leo.get_by_test_id("thread-pane")
    expect(leo_pane.get_by_test_id("thread-replies")).to_contain_text(f"Chapter three {tag}")
    expect(leo.locator("#chat")).to_have_class(re.compile(r"\bthread-open\b"))
    conversation_box = leo.locator(".chat-pane").bounding_box()
    pane_box = leo_pane.bounding_box()
    assert (
        conversation_box
        and pane_box
        and pane_box["x"] >= conversation_box["x"] + conversation_box["width"] - 1
    )
    # Leo started the thread: he follows it.
    expect(leo_pane.get_by_test_id("thread-follow")).to_have_attribute("aria-pressed", "true")

    leo.fill("#thread-body", f"Thanks! {tag}")
    leo.press("#thread-body", "Enter")
    expect(pane.get_by_test_id("thread-replies")).to_contain_text(f"Thanks! {tag}")
    expect(pane.get_by_test_id("thread-count")).to_contain_text("2 replies")
    expect(summary).to_contain_text("2 replies")

    # Muting from the phone, then closing the panel back to the conversation.
    pane.get_by_test_id("thread-mute").click()
    expect(pane.get_by_test_id("thread-mute")).to_have_attribute("aria-pressed", "true")
    pane.get_by_test_id("thread-close").click()
    expect(pane).to_be_hidden()
    expect(root_on_phone.get_by_test_id("thread-summary")).to_contain_text("2 replies")
