"""The Content-Security-Policy in a real browser.

Every main page of every role is served under the enforced policy and loads with no
violation and no script error; its scripts still work under it (the realtime socket
connects, the forms that had inline ``onsubmit``/``onchange`` handlers still confirm and
submit); and no element marked ``hidden`` is displayed (a component's ``display`` rule
used to override the attribute).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import EXPECT_TIMEOUT_MS, close_context, same_in_every_mode

pytestmark = [pytest.mark.e2e, same_in_every_mode]

# Runs in every document before its own scripts; init scripts are not subject to the page's
# CSP. Violations of the policy are reported to the document as events.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} ` +
    `(${e.sourceFile || "?"}:${e.lineNumber}) ${e.sample || ""}`);
}, true);
"""

# Elements that carry the hidden attribute yet take up room on the page.
SHOWN_BUT_HIDDEN = """() => Array.from(document.querySelectorAll("[hidden]"))
  .filter((el) => getComputedStyle(el).display !== "none")
  .map((el) => el.outerHTML.slice(0, 160))"""


class Watched:
    """A page whose CSP violations, script errors and console errors are being collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )

    def visit(self, path: str | None = None, *, live: bool = True) -> Page:
        """Open ``path`` (or check the page as it is) and assert it ran cleanly."""
        page = self.page
        if path is not None:
            response = page.goto(path)
            assert response is not None and response.ok, f"{path}: {response and response.status}"
            assert_strict_policy(response.headers.get("content-security-policy", ""), path)
        if live:  # the page's scripts ran and its socket is up under connect-src 'self'
            page.wait_for_function(
                "() => window.Lyceum && window.Lyceum.realtime.connected === true"
            )
        page.wait_for_load_state("networkidle")  # late subresources reported too
        where = path or page.url
        assert page.evaluate("() => window.__cspViolations") == [], where
        assert self.errors == [], where
        assert page.evaluate(SHOWN_BUT_HIDDEN) == [], f"{where}: [hidden] elements shown"
        return page


def assert_strict_policy(header: str, where: str) -> None:
    directives = {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}
    assert directives.get("script-src") == ["'self'"], f"{where}: {header!r}"
    assert directives.get("style-src") == ["'self'"], f"{where}: {header!r}"
    assert directives.get("object-src") == ["'none'"], f"{where}: {header!r}"
    assert directives.get("frame-ancestors") == ["'none'"], f"{where}: {header!r}"
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header, where


@pytest.fixture
def watched(login) -> Callable[[str], Watched]:
    """``watched("learner")``: a logged-in page whose next documents are watched."""

    def open_watched(username: str, **options: Any) -> Watched:
        page = login(username, **options)
        page.context.add_init_script(WATCH_VIOLATIONS)
        return Watched(page)

    return open_watched


@pytest.fixture
def anonymous(browser, lyceum_server) -> Iterator[Watched]:
    context = browser.new_context(base_url=lyceum_server.url)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    context.add_init_script(WATCH_VIOLATIONS)
    yield Watched(context.new_page())
    close_context(context)


def follow(watch: Watched, name: str, *, live: bool = True, exact: bool = False) -> Page:
    """Click the first link called ``name`` and check the page it opens."""
    with watch.page.expect_navigation():
        watch.page.get_by_role("link", name=name, exact=exact).first.click()
    return watch.visit(live=live)


def test_sign_in_pages_load_under_the_policy(anonymous: Watched) -> None:
    anonymous.visit("/accounts/login/", live=False)
    anonymous.visit("/admin/login/", live=False)


def test_learner_pages_load_under_the_policy(watched) -> None:
    learner = watched("learner")
    for path in (
        "/",
        "/chat/",
        "/sessions/",
        "/calendars/",
        "/leaderboards/",
        "/leaderboards/wall/",
        "/leaderboards/me/",
        "/notifications/",
        "/announcements/",
        "/forums/",
        "/forums/library/",
    ):
        learner.visit(path)

    learner.visit("/courses/")
    page = follow(learner, "Workplace safety")
    expect(page.locator("main h1")).to_have_text("Workplace safety")
    follow(learner, "Live questions with the trainer")  # the lobby of a scheduled class
    expect(page.locator("[data-testid=lc-lobby]")).to_be_visible()

    learner.visit("/forums/")
    follow(learner, "Course Q&A")
    follow(learner, "Study group for module 2?")

    learner.visit("/sessions/")
    follow(learner, "First aid workshop")

    duels = page.request.get("/api/v1/leaderboards/duels/").json()
    finished = [d for d in duels if d["status"] == "finished"]
    assert finished, duels
    learner.visit(f"/leaderboards/duels/{finished[0]['id']}/")


def test_activity_pages_load_under_the_policy(watched) -> None:
    # Lina, who finished the course: opening its activities changes no one's progress that
    # other browser tests of this server count on.
    lina = watched("learner2")
    lina.visit("/courses/")
    follow(lina, "Workplace safety")
    page = follow(lina, "First aid in five minutes")
    page.go_back()
    follow(lina, "Video: using an extinguisher")  # a video hosted elsewhere (https)
    expect(page.locator("video.media")).to_have_count(1)
    page.go_back()
    follow(lina, "Safety quiz")


def test_staff_pages_load_under_the_policy(watched) -> None:
    trainer = watched("trainer")
    trainer.visit("/")
    trainer.visit("/courses/")
    follow(trainer, "Workplace safety")
    follow(trainer, "Edit course")
    follow(trainer, "Question bank")
    trainer.page.go_back()
    follow(trainer, "Progress grid")
    trainer.visit("/forums/moderation/")

    coordinator = watched("coordinator")
    coordinator.visit("/sessions/manage/")
    coordinator.visit("/sessions/")
    follow(coordinator, "First aid workshop")

    manager = watched("manager")
    manager.visit("/")  # the dashboard's server-drawn charts
    manager.visit("/team/progress/")


def test_back_office_loads_under_the_policy(watched) -> None:
    admin = watched("admin")
    admin.visit("/admin/", live=False)
    admin.visit("/admin/accounts/user/", live=False)
    follow(admin, "learner", live=False, exact=True)
    # Swagger UI (third-party) runs under the same policy: its set-up script is a file.
    page = admin.visit("/api/docs/", live=False)
    expect(page.locator(".swagger-ui .information-container")).to_contain_text("Lyceum API")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    admin.visit(live=False)


def test_forms_that_had_inline_handlers_still_work(watched) -> None:
    """The delete confirmation (was onsubmit=) and the duel course menu (was onchange=)."""
    trainer = watched("trainer")
    trainer.visit("/courses/")
    follow(trainer, "Workplace safety")
    page = follow(trainer, "Edit course")
    title = f"Scratch module {uuid.uuid4().hex[:6]}"
    page.fill("#new-module", title)
    page.get_by_role("button", name="Add module").click()
    module = page.locator("[data-testid=edit-outline] > li", has_text=title)
    expect(module).to_have_count(1)
    delete = module.locator("form[data-confirm] button").first

    asked: list[str] = []
    answer = {"accept": False}

    def on_dialog(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept() if answer["accept"] else dialog.dismiss()

    page.on("dialog", on_dialog)
    delete.click()
    expect(module).to_have_count(1)  # dismissed: nothing sent
    assert asked == ["Delete?"]  # asked once, by the one listener
    answer["accept"] = True
    with page.expect_navigation():
        delete.click()
    expect(module).to_have_count(0)  # confirmed: deleted
    assert asked == ["Delete?", "Delete?"]
    trainer.visit()

    learner = watched("learner")
    page = learner.visit("/leaderboards/duels/")
    menu = page.locator("#duel-course")
    options = menu.locator("option")
    assert options.count() >= 2, "the demo learner duels in two courses"
    current = menu.input_value()
    other = next(
        v
        for v in (options.nth(i).get_attribute("value") for i in range(options.count()))
        if v != current
    )
    menu.select_option(other)
    expect(page).to_have_url(re.compile(rf"/leaderboards/duels/\?course={other}$"))
    expect(page.locator("#duel-lobby")).to_have_attribute("data-course", str(other))
    learner.visit()
