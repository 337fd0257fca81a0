"""A chat attachment that is an HTML page with a script never runs that script on Lyceum's
origin: opening it downloads it (sniffed as text, ``Content-Disposition: attachment``,
``nosniff``, a ``sandbox`` CSP), and nothing it would have done with the reader's session
happens."""

from __future__ import annotations

import contextlib
import re
import uuid

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.e2e.test_messaging_live import open_conversation

pytestmark = pytest.mark.e2e

# What the attacker's page does on the app's origin if it runs: mark the reader's storage
# at once, then read their profile with their session.
PAGE = b"""<!doctype html><html><body><h1>Hello</h1><script>
localStorage.setItem("lyceum-e2e-ran", "yes");
fetch("/api/v1/me/").then(r => r.json()).then(me => {
  localStorage.setItem("lyceum-e2e-me", JSON.stringify(me));
  document.title = "read " + me.username;
});
</script></body></html>"""


def test_a_chat_attachment_holding_a_script_does_not_run_it(login) -> None:
    leo = login("learner")
    lina = login("learner2")
    open_conversation(leo, "Lina Learner")
    note = f"Look at this {uuid.uuid4().hex[:6]}"
    # Sent as text/plain, as the attacker did: the server decides from the bytes.
    leo.set_input_files(
        "#composer-file", files=[{"name": "page.html", "mimeType": "text/plain", "buffer": PAGE}]
    )
    leo.fill("#composer-body", note)
    leo.press("#composer-body", "Enter")

    open_conversation(lina, "Leo Learner")
    message = lina.locator("[data-testid=message]", has_text=note)
    link = message.locator("a.attachment", has_text="page.html")
    expect(link).to_have_count(1)
    href = link.get_attribute("href")
    assert href

    # Opening the file's address (what a click on it does) downloads it: the navigation
    # ends in "Download is starting" instead of a page.
    with contextlib.suppress(PlaywrightError):
        lina.goto(href)
    # Back on the app: the page's script never ran with Lina's session.
    lina.goto("/chat/")
    assert lina.evaluate("localStorage.getItem('lyceum-e2e-ran')") is None
    assert lina.evaluate("localStorage.getItem('lyceum-e2e-me')") is None

    response = lina.request.get(href)
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="page.html"'
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]
    # Stored under a random name, typed by its bytes; "page.html" only for the download.
    assert re.match(r"^/media/chat/[\w-]{24}\.txt$", href), href
