"""The installable app in Chromium: the service worker caches the shell and the pages seen,
serves them offline (the offline page for the rest), and a new version is offered with a
reload (docs/OFFLINE.md). Its own server, so the test can publish a new release."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import EXPECT_TIMEOUT_MS, close_context
from tests.live_server import DEMO_PASSWORD, LiveEnvironment, LiveServer, running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pwa_server(live_env: LiveEnvironment, tmp_path_factory) -> Iterator[tuple[LiveServer, Path]]:
    """A server of its own on the e2e database, whose release marker the test writes."""
    release = tmp_path_factory.mktemp("pwa") / "release"
    release.write_text("1")
    env = LiveEnvironment(
        env=dict(live_env.env, LYCEUM_RELEASE_FILE=str(release)),
        workdir=live_env.workdir,
        services=live_env.services,
    )
    with running_server(env, name="pwa") as server:
        yield server, release


@pytest.fixture
def app_page(browser, pwa_server) -> Iterator[Callable[[str], object]]:
    from playwright.sync_api import expect

    server, _release = pwa_server
    contexts = []

    def open_page(username: str):
        context = browser.new_context(base_url=server.url)
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("[data-testid=login-form] button[type=submit]")
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        # The worker installed and controls the page (it claims clients on activation).
        page.wait_for_function(
            "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null"
        )
        return page

    yield open_page
    for context in contexts:
        context.set_offline(False)
        close_context(context)


WORKER_VERSION = """() => new Promise((resolve) => {
  const channel = new MessageChannel();
  channel.port1.onmessage = (e) => resolve(e.data.version);
  navigator.serviceWorker.controller.postMessage({type: "version"}, [channel.port2]);
})"""


def served_version(page) -> str:
    code = page.request.get("/sw.js").text()
    return re.search(r'const VERSION = "([0-9a-f]+)"', code).group(1)


def test_shell_cached_pages_offline_and_update_offered(app_page, pwa_server):
    from playwright.sync_api import expect

    _server, release = pwa_server
    page = app_page("learner")
    response = page.request.get("/sw.js")
    assert response.headers["service-worker-allowed"] == "/"
    assert "no-cache" in response.headers["cache-control"]
    assert response.headers["content-type"].startswith("text/javascript")
    first = served_version(page)
    assert page.evaluate(WORKER_VERSION) == first
    caches = page.evaluate("caches.keys()")
    assert f"lyceum-shell-{first}" in caches
    # A page seen while the worker is in charge is kept for offline reading.
    page.goto("/courses/")
    expect(page.locator("main h1")).to_be_visible()
    page.context.set_offline(True)
    page.goto("/courses/")
    expect(page.locator("[data-testid=net-status]")).to_contain_text("offline")
    expect(page.locator("main h1")).to_be_visible()
    # A page never opened here: the offline page, not the browser's error.
    page.goto("/forums/")
    expect(page.locator("[data-testid=offline-page]")).to_be_visible()
    page.context.set_offline(False)
    page.goto("/courses/")
    expect(page.locator("[data-testid=net-status]")).to_be_hidden()

    # A new release: the new worker waits and the page offers a reload.
    release.write_text("2")
    second = served_version(page)
    assert second != first
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    banner = page.locator("[data-testid=update-banner]")
    expect(banner).to_contain_text("new version")
    assert page.evaluate(WORKER_VERSION) == first  # nothing changes before the person agrees
    with page.expect_navigation():
        banner.get_by_role("button").click()
    page.wait_for_function(
        """(v) => navigator.serviceWorker.controller && new Promise((resolve) => {
             const c = new MessageChannel();
             c.port1.onmessage = (e) => resolve(e.data.version === v);
             navigator.serviceWorker.controller.postMessage({type: "version"}, [c.port2]);
           })""",
        arg=second,
    )
    caches = page.evaluate("caches.keys()")
    assert f"lyceum-shell-{second}" in caches and f"lyceum-shell-{first}" not in caches
    expect(page.locator("[data-testid=update-banner]")).to_have_count(0)


def test_manifest_and_icons_in_the_space_brand(app_page):
    page = app_page("learner")
    manifest = page.request.get("/manifest.webmanifest").json()
    assert manifest["display"] == "standalone" and manifest["scope"] == "/"
    sizes = {icon["sizes"]: icon["src"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= set(sizes)
    color = manifest["theme_color"].lstrip("#")
    assert f"/brand/{color}/icon-512.png" == sizes["512x512"]
    icon = page.request.get(sizes["192x192"])
    assert icon.headers["content-type"] == "image/png" and icon.body()[:8] == b"\x89PNG\r\n\x1a\n"
