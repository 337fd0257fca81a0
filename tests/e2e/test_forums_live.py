"""Forums in a real browser: a post appears live for another learner, a moderator hides it
and it disappears live for both; the XSS corpus runs nothing in Chromium."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.live import subscribed
from tests.forums.xss import PAYLOADS
from tests.live_server import api, api_token

pytestmark = pytest.mark.e2e

THREAD = "Welcome! Introduce yourself"
POSTS = "#posts article[data-testid=post]"


def open_thread(page: Page, title: str = THREAD) -> None:
    page.goto("/forums/")
    page.get_by_role("link", name="Community lounge").click()
    page.get_by_role("link", name=title).click()
    expect(page.locator("[data-testid=thread-title]")).to_have_text(title)
    subscribed(page)
    page.evaluate("() => { window.__sameDocument = true; }")


def test_post_appears_live_and_a_hide_removes_it_live(login) -> None:
    learner = login("learner")
    learner2 = login("learner2")
    trainer = login("trainer")
    for page in (learner, learner2, trainer):
        open_thread(page)
    text = f"Live hello {uuid.uuid4().hex[:8]}"

    learner.fill("#reply-form textarea[name=body]", text)
    expect(learner2.locator("[data-testid=typing]")).to_contain_text("Leo Learner")
    learner.click("[data-testid=reply-submit]")

    for page in (learner, learner2, trainer):
        expect(page.locator(POSTS, has_text=text)).to_have_count(1)
    post = trainer.locator(POSTS, has_text=text)
    post.locator("[data-testid=hide]").click()

    for page in (learner, learner2):
        expect(page.locator(POSTS, has_text=text)).to_have_count(0)
        expect(page.locator(f"{POSTS}.hidden-post").last).to_contain_text("hidden by a moderator")
        assert page.evaluate("() => window.__sameDocument === true")
    # After a reload the hidden post stays hidden (server render).
    learner2.reload()
    expect(learner2.locator(POSTS, has_text=text)).to_have_count(0)


def test_xss_corpus_runs_nothing_live_in_preview_or_after_reload(login, lyceum_server) -> None:
    # A thread of its own: the corpus's leftovers (kept styles, images without alt) must not
    # reach the pages other tests of the same live server walk (tests/e2e/test_interface.py).
    url = lyceum_server.url
    token = api_token(url, "trainer")
    status, forums = api(url, "GET", "/api/v1/forums/", token=token)
    assert status == 200, forums
    lounge = next(f for f in forums if f["title"] == "Community lounge")
    title = f"Corpus {uuid.uuid4().hex[:8]}"
    status, thread = api(
        url,
        "POST",
        f"/api/v1/forums/{lounge['id']}/threads/",
        token=token,
        body={"title": title, "body": "Hostile markup goes here."},
    )
    assert status == 201, thread
    trainer = login("trainer")
    learner2 = login("learner2")
    fired: list[str] = []
    for page in (trainer, learner2):
        page.on("dialog", lambda dialog: (fired.append(dialog.message), dialog.dismiss()))
        page.on(
            "console",
            lambda msg: fired.append(msg.text) if "__xss" in msg.text else None,
        )
        open_thread(page, title)
    marker = f"xss-{uuid.uuid4().hex[:8]}"
    body = marker + "\n\n" + "\n\n".join(PAYLOADS)

    trainer.fill("#reply-form textarea[name=body]", body)
    trainer.click(".preview-button")
    expect(trainer.locator("[data-testid=preview]")).to_contain_text(marker)
    trainer.click("[data-testid=reply-submit]")
    expect(learner2.locator(POSTS, has_text=marker)).to_have_count(1)  # arrived live
    post = learner2.locator(POSTS, has_text=marker)
    post.hover()
    for link in post.locator(".post-body a").all():
        link.hover()
    learner2.wait_for_timeout(500)
    learner2.reload()
    expect(learner2.locator(POSTS, has_text=marker)).to_have_count(1)
    learner2.wait_for_timeout(500)
    for page in (trainer, learner2):
        assert page.evaluate("() => window.__xss === undefined"), "a payload ran"
        assert not page.locator("#posts script, #posts iframe, #posts svg").count()
        hrefs = page.locator("#posts a[href]").evaluate_all("els => els.map(e => e.href)")
        assert not [h for h in hrefs if re.match(r"\s*(javascript|data|vbscript):", h, re.I)]
    assert fired == []


def test_a_thread_read_in_the_browser_leaves_the_unread_counts(login) -> None:
    """A new thread shows "New" to another reader until they open it (the thread page's
    script marks it read, by POST); a reply after that shows as unread."""
    author = login("learner")
    reader = login("learner2")
    title = f"Read marks {uuid.uuid4().hex[:6]}"
    author.goto("/forums/")
    author.get_by_role("link", name="Community lounge").click()
    author.get_by_test_id("start-thread").click()
    author.fill("input[name=title]", title)
    author.fill("textarea[name=body]", "Has anyone read this?")
    author.get_by_test_id("thread-form").locator("button[type=submit]").click()
    expect(author.locator("[data-testid=thread-title]")).to_have_text(title)

    reader.goto("/forums/")
    reader.get_by_role("link", name="Community lounge").click()
    row = reader.locator(".thread-row", has_text=title)
    expect(row.get_by_test_id("thread-new")).to_be_visible()
    with reader.expect_response(re.compile(r"/read/$")) as marked:
        row.get_by_role("link", name=title).click()
    assert marked.value.ok
    reader.go_back()
    reader.reload()
    expect(row.get_by_test_id("thread-new")).to_have_count(0)

    author.fill("#reply-form textarea[name=body]", "A reply after you read it")
    author.click("[data-testid=reply-submit]")
    expect(author.locator(POSTS, has_text="A reply after you read it")).to_have_count(1)
    reader.reload()
    expect(row.get_by_test_id("thread-unread")).to_have_text("1 unread")
