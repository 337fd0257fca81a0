"""Blogs in Chromium (issue 22): a learner opens their blog, writes a post with an image
and publishes it; a second learner, on their home page, sees it arrive in the space's feed
without a reload, opens it and comments."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.live import subscribed

pytestmark = pytest.mark.e2e


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, "PNG")
    return buffer.getvalue()


def test_a_published_post_reaches_another_members_feed_live(login) -> None:
    title = f"Field notes {uuid.uuid4().hex[:6]}"
    reader = login("learner2")
    reader.goto("/")
    panel = reader.locator("[data-testid=panel-blogs]")
    expect(panel).to_be_visible()
    subscribed(reader)
    reader.evaluate("() => { window.__sameDocument = true; }")

    author = login("learner")
    author.goto("/blogs/")
    if author.locator("[data-testid=my-blog]").count():
        author.locator("[data-testid=my-blog]").first.click()
    else:
        form = author.locator("[data-testid=open-blog]")
        form.locator("input[name=title]").fill("Leo's notes")
        form.locator("button[type=submit]").click()
    author.locator("[data-testid=new-post]").click()
    editor = author.locator("[data-testid=post-editor]")
    editor.locator("input[name=title]").fill(title)
    editor.locator("textarea[name=body]").fill("What I learnt **today**.\n")
    # The upload listens once the editor's deferred script has run: a file chosen before
    # (a loaded machine fills the form that fast) was never uploaded.
    author.wait_for_load_state("domcontentloaded")
    author.locator("[data-testid=image-upload]").set_input_files(
        {"name": "board.png", "mimeType": "image/png", "buffer": _png()}
    )
    expect(author.locator("[data-upload-status]")).to_have_text("The image is in the text.")
    expect(editor.locator("textarea[name=body]")).to_have_value(
        re.compile(r"!\[board\.png\]\(/media/blogs/")
    )
    author.locator("[data-testid=publish]").click()
    expect(author.locator("[data-testid=blog-post] h1")).to_have_text(title)
    body = author.locator("[data-testid=post-body]")
    expect(body.locator("strong")).to_have_text("today")
    expect(body.locator("img")).to_have_count(1)
    # The image is fetched after the page is shown: wait until it has loaded (or failed).
    author.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=post-body] img');"
        " return i && i.complete; }"
    )
    assert (
        author.evaluate("() => document.querySelector('[data-testid=post-body] img').naturalWidth")
        == 8
    )

    # The reader's home page: the post appears in the blog panel, same document.
    expect(reader.locator("[data-testid=panel-blogs] a", has_text=title)).to_be_visible()
    assert reader.evaluate("() => window.__sameDocument === true")
    reader.locator("[data-testid=panel-blogs] a", has_text=title).click()
    expect(reader.locator("[data-testid=blog-post] h1")).to_have_text(title)
    subscribed(reader)

    # The author, on the post, sees the reader's comment arrive.
    subscribed(author)
    reader.locator("#comment-body").fill("Thanks for sharing")
    reader.locator("[data-testid=comment-form] button[type=submit]").click()
    expect(author.locator("[data-testid=comments]")).to_contain_text("Thanks for sharing")
