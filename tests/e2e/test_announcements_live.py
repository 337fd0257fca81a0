"""An announcement posted by the trainer reaches the learner's open page, live.

Two browser contexts (two people) against one live server: nothing is reloaded on the
learner's side, and a socket dropped mid-way loses nothing and duplicates nothing.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.e2e.live import subscribed

pytestmark = pytest.mark.e2e

BELL = "[data-testid=bell-count]"
NOTIFICATIONS = "[data-testid=notification-list]"


def bell_count(page: Page) -> int:
    return int(page.locator(BELL).text_content() or "0")


def post_announcement(page: Page, title: str, body: str = "See you in class.") -> None:
    """The trainer posts to the demo space through the page form."""
    page.goto("/announcements/new/")
    page.select_option("select[name=audience]", label="Space: Lyceum Demo")
    page.fill("input[name=title]", title)
    page.fill("textarea[name=body]", body)
    page.fill("input[name=link]", "https://example.com/agenda")
    page.click("[data-testid=announcement-form] button[type=submit]")
    # Success redirects to the new announcement (a form error would re-render /new/).
    expect(page).to_have_url(re.compile(r"/announcements/\d+/$"))


def wait_until_subscribed(page: Page) -> None:
    """The shell's socket is open and its subscription answered (tests/e2e/live.py)."""
    subscribed(page)


def test_learner_sees_announcement_without_reload(login) -> None:
    learner = login("learner")
    trainer = login("trainer")
    learner.goto("/notifications/")
    wait_until_subscribed(learner)
    before = bell_count(learner)
    learner.evaluate("() => { window.__sameDocument = true; }")
    title = f"Room change {uuid.uuid4().hex[:8]}"

    post_announcement(trainer, title)

    expect(learner.locator(BELL)).to_have_text(str(before + 1))
    expect(learner.locator(BELL)).to_be_visible()
    item = learner.locator(f"{NOTIFICATIONS} li.notification", has_text=title)
    expect(item).to_have_count(1)
    expect(item).to_have_class(re.compile(r"\bunread\b"))
    expect(item).to_contain_text("See you in class.")
    # Still the same document: the page was updated in place, not reloaded.
    assert learner.evaluate("() => window.__sameDocument === true")


def test_notification_arrives_once_across_a_dropped_socket(login) -> None:
    """The server side of the socket goes away; the trainer posts while the learner's client
    cannot get back in; once it can, the client resumes with ``since`` and shows the
    notification exactly once."""
    learner = login("learner")
    trainer = login("trainer")
    state: dict = {"block": False, "route": None, "opened": 0}

    def route(ws: WebSocketRoute) -> None:
        if state["block"]:
            ws.close(code=1012, reason="test: server unavailable")
            return
        state["opened"] += 1
        state["route"] = ws
        ws.connect_to_server()  # frames pass through untouched

    learner.route_web_socket(re.compile(r"/ws/$"), route)
    learner.goto("/notifications/")
    wait_until_subscribed(learner)
    before = bell_count(learner)
    assert state["opened"] == 1
    learner.evaluate("() => { window.__sameDocument = true; }")

    # Drop the connection from the server's side and keep the server out of reach.
    state["block"] = True
    # The page sees the close a crashing server sends; the real socket behind the route is
    # closed with it, so the gateway forgets this connection.
    state["route"].close(code=1011, reason="test: server dropped the socket")
    learner.wait_for_function("() => window.Lyceum.realtime.connected === false")

    title = f"Posted while offline {uuid.uuid4().hex[:8]}"
    post_announcement(trainer, title)
    items = learner.locator(f"{NOTIFICATIONS} li.notification", has_text=title)
    expect(items).to_have_count(0)  # not connected: nothing could have arrived yet

    state["block"] = False  # the next reconnect attempt reaches the server again
    expect(items).to_have_count(1)
    expect(learner.locator(BELL)).to_have_text(str(before + 1))
    assert state["opened"] == 2
    assert learner.evaluate("() => window.__sameDocument === true")

    # A later live event is not preceded by a replay of the one already shown.
    second = f"After the reconnect {uuid.uuid4().hex[:8]}"
    post_announcement(trainer, second)
    expect(learner.locator(f"{NOTIFICATIONS} li.notification", has_text=second)).to_have_count(1)
    expect(items).to_have_count(1)
    expect(learner.locator(BELL)).to_have_text(str(before + 2))


@pytest.mark.parametrize("path", ["/", "/notifications/", "/announcements/"])
def test_pages_fit_a_360px_phone(login, artifacts: Path, path: str) -> None:
    page = login("learner", viewport={"width": 360, "height": 740}, device_scale_factor=2)
    page.goto(path)
    expect(page.locator("main h1").first).to_be_visible()
    overflow = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert overflow[0] <= 360, f"{path} scrolls sideways at 360 px: {overflow}"
    # On a phone the navigation is the bottom tab bar; the header's links are folded away.
    expect(page.locator("[data-testid=tabbar]")).to_be_visible()
    expect(page.locator("[data-testid=main-nav]")).to_be_hidden()

    shot = artifacts / f"phone{path.replace('/', '_') or '_'}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 1000
