"""Keyboard-only walks of the main flows (issue 15), in Chromium: Tab to reach a control,
Enter or Space to use it, typing to write. No mouse, no script clicking for the person
whose walk it is; each control reached shows its focus (``:focus-visible``).

Register for a session, answer a quiz, send a chat message, raise a hand in a live class.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_liveclass_room import connected, start_class
from tests.e2e.test_sessions_live import create_session
from tests.live_server import new_activity

pytestmark = pytest.mark.e2e

TAB_LIMIT = 200


def tab_to(page: Page, selector: str, text: str = "") -> None:
    """Press Tab until the focused element matches ``selector`` (and holds ``text``), and
    check that it shows its focus."""
    for _ in range(TAB_LIMIT):
        page.keyboard.press("Tab")
        found = page.evaluate(
            """([s, text]) => {
              const el = document.activeElement;
              if (!el || !el.matches(s) || !el.textContent.includes(text)) return null;
              return el.matches(":focus-visible");
            }""",
            [selector, text],
        )
        if found is not None:
            assert found, f"{selector} has the focus but does not show it"
            return
    raise AssertionError(f"{selector}: not reached in {TAB_LIMIT} presses of Tab")


def test_register_for_a_session_with_the_keyboard(login, lyceum_server) -> None:
    session_id = create_session(lyceum_server.url, capacity=3)
    learner = login("learner")
    learner.goto(f"/sessions/{session_id}/")
    learner.wait_for_function("() => window.Lyceum && window.Lyceum.realtime.connected === true")
    tab_to(learner, "[data-testid=register]")
    learner.keyboard.press("Enter")
    expect(learner.locator("#my-status")).to_contain_text("registered")


def test_answer_a_quiz_with_the_keyboard(login, lyceum_server) -> None:
    url = lyceum_server.url
    quiz = new_activity(
        url, "Consultative selling", f"Keys {uuid.uuid4().hex[:6]}", kind="quiz", module=-1
    )

    lina = login("learner2")
    lina.goto(f"/activities/{quiz['id']}/")
    tab_to(lina, "[data-testid=start-quiz]")
    lina.keyboard.press("Enter")
    expect(lina.locator("[data-testid=quiz-form]")).to_be_visible()
    # The first answer of the first question: Space ticks a radio button or a checkbox.
    tab_to(
        lina,
        "[data-testid=quiz-form] input[type=radio], [data-testid=quiz-form] input[type=checkbox]",
    )
    lina.keyboard.press("Space")
    assert lina.evaluate("() => document.activeElement.checked") is True
    tab_to(lina, "[data-testid=quiz-submit]")
    lina.keyboard.press("Enter")
    expect(lina.locator("[data-testid=quiz-score]")).to_contain_text("%")


def test_send_a_chat_message_with_the_keyboard(login) -> None:
    leo = login("learner")
    leo.goto("/chat/")
    tab_to(leo, "[data-testid=conversation-list] a", "Lina Learner")
    leo.keyboard.press("Enter")
    expect(leo).to_have_url(re.compile(r"/chat/\d+/$"))
    leo.wait_for_function("() => window.Lyceum && window.Lyceum.realtime.connected === true")
    tab_to(leo, "#composer-body")
    text = f"Typed only {uuid.uuid4().hex[:6]}"
    leo.keyboard.type(text)
    leo.keyboard.press("Enter")
    expect(leo.locator("[data-testid=message]", has_text=text)).to_have_count(1)


def test_raise_a_hand_in_a_live_class_with_the_keyboard(login) -> None:
    trainer = login("trainer")
    room_url = start_class(trainer)
    learner = login("learner")
    learner.goto(room_url)
    connected(learner)
    tab_to(learner, "[data-testid=lc-hand]")
    learner.keyboard.press("Space")
    expect(learner.locator("[data-testid=lc-hand]")).to_have_attribute("aria-pressed", "true")
    expect(trainer.locator("[data-testid=lc-hands] li", has_text="Leo Learner")).to_have_count(1)
