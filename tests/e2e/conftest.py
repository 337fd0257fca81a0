"""A live Lyceum server and the system Chromium, driven by Playwright's sync API.

Named ``lyceum_server`` because pytest-django's own ``live_server`` fixture would pull in
its test database. The server runs in a child process against a database of its own (see
``tests/live_server.py``), so these tests need no ``db`` fixture. Plain sync test functions
are used: sync Playwright refuses to run inside a running asyncio loop, and pytest-asyncio
only runs one for ``async def`` tests.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SERVICES_MODE, skip_or_fail
from tests.live_server import DEMO_PASSWORD, LiveEnvironment, LiveServer, live_environment
from tests.live_server import running_server as _running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Generous for a loaded CI machine; assertions return as soon as they hold.
EXPECT_TIMEOUT_MS = 15_000

# For the browser walks of what the pages themselves promise (the design system's rules,
# axe, the Content-Security-Policy): the templates, styles and scripts they check are the
# same whatever the database and channel layer, so they run in the embedded pass of
# `make test` and not again in the services pass, which checks what differs there
# (PostgreSQL, Redis, several processes). Keeps CI under its 30 minutes.
same_in_every_mode = pytest.mark.skipif(
    SERVICES_MODE,
    reason="checks pages, not the backend: run in the embedded pass (tests/e2e/conftest.py)",
)


@pytest.fixture(scope="session")
def live_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveEnvironment]:
    """A migrated, seeded database (and Redis prefix) of the live server's own."""
    with live_environment(tmp_path_factory.mktemp("live-e2e"), label="e2e") as live:
        yield live


@pytest.fixture(scope="session")
def lyceum_server(live_env: LiveEnvironment) -> Iterator[LiveServer]:
    """``manage.py serve`` on a free port, healthy before the first test uses it."""
    with _running_server(live_env, name="e2e") as server:
        yield server


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """The system Chromium (never a downloaded one), headless.

    Package-scoped on purpose: while sync Playwright is active its event loop counts as
    running in this thread, which would break Django's sync ORM and pytest-asyncio in the
    rest of the suite; it stops once the last e2e test is done.
    """
    if not os.access(CHROMIUM, os.X_OK):
        skip_or_fail(f"{CHROMIUM} is missing: install the chromium package")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def login(browser, lyceum_server: LiveServer) -> Iterator[Callable[..., object]]:
    """``page = login("learner")``: a fresh browser context, logged in through the form."""
    from playwright.sync_api import expect

    contexts = []

    def open_page(username: str, **context_options: object):
        context = browser.new_context(base_url=lyceum_server.url, **context_options)
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("[data-testid=login-form] button[type=submit]")
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        expect(page.locator("[data-testid=bell]")).to_be_visible()
        return page

    yield open_page
    for context in contexts:
        close_context(context)


def close_context(context: Any) -> None:
    """Leave each page, then close the context.

    Leaving first, while the server is up, lets the pages' pagehide handlers (leaving a
    class, closing media) run to the end, and no navigation is under way when the context
    is disposed: closing one mid-reload once hung Chromium for minutes.
    """
    for page in context.pages:
        # A page that cannot leave in time is closed with its context all the same.
        with contextlib.suppress(Exception):
            page.goto("about:blank", timeout=5_000)
    context.close()


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    """Where a test saves screenshots (a pytest tmp dir: kept for the last few runs)."""
    path = tmp_path / "artifacts"
    path.mkdir()
    return path
