"""The installable app in Chromium: the service worker caches the shell and the pages seen,
serves them offline (the offline page for the rest), and a new version is offered with a
reload (docs/OFFLINE.md). Its own server, so the test can publish a new release."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import EXPECT_TIMEOUT_MS, close_context, same_in_every_mode
from tests.live_server import DEMO_PASSWORD, LiveEnvironment, LiveServer, running_server

pytestmark = [pytest.mark.e2e, same_in_every_mode]


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
        # A page whose navigation began while the worker was still installing (the login
        # redirect) is not claimed if the claim ran before its document existed; the next
        # load is controlled, as for a person.
        eventually(page, "async () => Boolean(await navigator.serviceWorker.ready)")
        if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
            page.reload()
        try:
            page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        except Exception:
            state = page.evaluate(
                """async () => {
                     const r = await navigator.serviceWorker.getRegistration();
                     return {r: Boolean(r), installing: r && Boolean(r.installing),
                             waiting: r && Boolean(r.waiting),
                             active: r && r.active && r.active.state,
                             url: location.href, keys: await caches.keys()};
                   }"""
            )
            raise AssertionError(f"no service worker in control: {state}") from None
        return page

    yield open_page
    for context in contexts:
        context.set_offline(False)
        close_context(context)


def eventually(page, script: str, arg=None, timeout_s: float = EXPECT_TIMEOUT_MS / 1000):
    """Poll ``page.evaluate(script, arg)`` until it is truthy (``wait_for_function`` takes
    a promise for a truthy value, so it cannot wait on IndexedDB, caches or the worker)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(script, arg)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never true: {script[:120]}")
        page.wait_for_timeout(100)


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
    eventually(
        page,
        """(v) => navigator.serviceWorker.controller && new Promise((resolve) => {
             const c = new MessageChannel();
             c.port1.onmessage = (e) => resolve(e.data.version === v);
             navigator.serviceWorker.controller.postMessage({type: "version"}, [c.port2]);
           })""",
        second,
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


def test_course_offline_lesson_quiz_app_closed_and_synced(app_page):
    """A course made available offline: a lesson read and a quiz taken without a network,
    the app closed and reopened offline with nothing lost, all sent once back online."""
    from playwright.sync_api import expect

    page = app_page("learner")
    context = page.context
    page.goto("/courses/")
    page.get_by_role("link", name="Workplace safety").first.click()
    course_url = page.url
    pack = page.locator("[data-testid=offline-pack]")
    pack.get_by_role("button", name="Make available offline").click()
    expect(pack).to_have_attribute("data-state", "saved")
    expect(pack).to_contain_text("Available offline")
    saved = page.evaluate(
        """(id) => new Promise((resolve) => {
             const open = indexedDB.open("lyceum-offline");
             open.onsuccess = () => {
               const get = open.result.transaction("kv").objectStore("kv").get("course:" + id);
               get.onsuccess = () => resolve(get.result);
             };
           })""",
        pack.get_attribute("data-course"),
    )
    assert saved["bytes"] > 0 and saved["files"] > 3
    # The measure in docs/OFFLINE.md (shown with pytest -s).
    print(
        f"\noffline bundle of the demo course: {saved['bytes']} bytes, "
        f"{saved['files']} files, {saved['ms']} ms",
        flush=True,
    )
    outline = page.locator("[data-testid=outline]")
    lesson = outline.get_by_role("link", name="First aid in five minutes").get_attribute("href")
    quiz = outline.get_by_role("link", name="Safety quiz").get_attribute("href")
    quiz_id = int(re.search(r"(\d+)/?$", quiz).group(1))
    before = len(page.request.get(f"/api/v1/activities/{quiz_id}/attempts/").json())

    context.set_offline(True)
    page.goto(lesson)
    expect(page.locator("main h1")).to_have_text("First aid in five minutes")
    expect(page.locator(".lesson")).to_contain_text("112")
    # Not done before (other tests may have done it on this database): done here, offline.
    to_complete = page.locator("[data-complete-url]").count()
    if to_complete:
        expect(page.locator("[data-testid=activity-done]")).to_be_visible()
    page.goto(quiz)
    offline_quiz = page.locator("[data-testid=offline-quiz]")
    offline_quiz.get_by_test_id("offline-quiz-start").click()
    form = page.locator("[data-testid=offline-quiz-form]")
    first = form.locator("fieldset").first.locator("input").first
    first.check()
    # Wait until the answer is in IndexedDB, then close the app while offline.
    eventually(
        page,
        """(id) => new Promise((resolve) => {
             const open = indexedDB.open("lyceum-offline");
             open.onsuccess = () => {
               const get = open.result.transaction("kv").objectStore("kv").get("quiz-run:" + id);
               get.onsuccess = () => resolve(
                 Boolean(get.result && Object.keys(get.result.answers).length));
             };
           })""",
        quiz_id,
    )
    page.close()

    page = context.new_page()
    page.goto(quiz)
    form = page.locator("[data-testid=offline-quiz-form]")
    expect(form.locator("fieldset").first.locator("input").first).to_be_checked()
    form.get_by_test_id("offline-quiz-submit").click()
    expect(page.locator("[data-testid=offline-quiz-result]")).to_contain_text("sent when")
    page.close()

    page = context.new_page()
    page.goto(course_url)  # reopened offline, from the course's saved copy
    status = page.locator("[data-testid=net-status]")
    expect(status).to_contain_text("offline")
    expect(status).to_have_attribute("data-waiting", re.compile(r"^[1-9]"))  # quiz (+ lesson)
    # Progress from the local state: the lesson read offline shows as done, pending.
    expect(page.locator("[data-testid=outline] li[data-pending='1']")).to_have_count(to_complete)
    context.set_offline(False)
    expect(status).to_be_hidden()
    attempts = page.request.get(f"/api/v1/activities/{quiz_id}/attempts/").json()
    assert len(attempts) == before + 1  # sent once, not doubled
    page.goto(quiz)
    expect(page.locator("[data-testid=offline-quiz-result]")).to_contain_text("counted")


def test_saved_media_answers_range_requests_offline(app_page):
    """A video seeks offline: the worker answers a range request from the whole saved file."""
    page = app_page("learner")
    page.evaluate(
        """async () => {
             const cache = await caches.open("lyceum-course-test");
             const body = new Uint8Array(100).map((_, i) => i);
             await cache.put("/media/classrooms/media/test.mp4",
               new Response(body, {headers: {"Content-Type": "video/mp4"}}));
           }"""
    )
    page.context.set_offline(True)
    result = page.evaluate(
        """async () => {
             const url = "/media/classrooms/media/test.mp4";
             const r = await fetch(url, {headers: {Range: "bytes=10-19"}});
             const tail = await fetch(url, {headers: {Range: "bytes=-5"}});
             const bad = await fetch(url, {headers: {Range: "bytes=500-"}});
             return {status: r.status, range: r.headers.get("content-range"),
                     bytes: Array.from(new Uint8Array(await r.arrayBuffer())),
                     tail: Array.from(new Uint8Array(await tail.arrayBuffer())), bad: bad.status};
           }"""
    )
    assert result["status"] == 206 and result["range"] == "bytes 10-19/100"
    assert result["bytes"] == list(range(10, 20))
    assert result["tail"] == list(range(95, 100))
    assert result["bad"] == 416
    page.evaluate("caches.delete('lyceum-course-test')")


def test_sign_in_sheet_marked_offline_and_synced(app_page):
    """A trainer in a room with no network: marks wait on the device (the page can be
    closed), then reach the server once, when the network is back."""
    from playwright.sync_api import expect

    page = app_page("trainer")
    context = page.context
    sessions = page.request.get("/api/v1/sessions/").json()
    session = next(s for s in sessions if s["title"] == "Fire warden briefing")
    sheet_url = f"/sessions/{session['id']}/attendance/"
    page.goto(sheet_url)  # opened once online: the worker keeps the page
    row = page.locator("[data-testid=sheet] li").first
    registration = row.get_attribute("data-registration")
    target = "late" if row.get_attribute("data-mark") != "late" else "excused"

    context.set_offline(True)
    row.locator(f"button[value={target}]").click()
    expect(row).to_have_attribute("data-mark", target)
    expect(row).to_have_attribute("data-pending", "1")
    expect(page.locator("[data-testid=net-status]")).to_contain_text("wait")
    page.close()

    page = context.new_page()
    page.goto(sheet_url)  # reopened offline: the saved sheet and the marks still waiting
    row = page.locator(f"[data-testid=sheet] li[data-registration='{registration}']")
    expect(row).to_have_attribute("data-mark", target)
    expect(row).to_have_attribute("data-pending", "1")
    context.set_offline(False)
    expect(row).not_to_have_attribute("data-pending", "1")
    expect(page.locator("[data-testid=net-status]")).to_be_hidden()
    page.reload()
    expect(page.locator(f"li[data-registration='{registration}']")).to_have_attribute(
        "data-mark", target
    )


def wait_for_registration(page: Any, cdp: Any, registrations: list[dict], origin: str) -> dict:
    """The worker's registration as DevTools reports it: its events are read while the
    page's loop turns, until one for this origin has come (enabling the domain again
    makes DevTools list them again, should the first list have been empty)."""
    deadline = time.monotonic() + EXPECT_TIMEOUT_MS / 1000
    asked = time.monotonic()
    while time.monotonic() < deadline:
        found = [r for r in registrations if r["scopeURL"].startswith(origin)]
        if found:
            return found[-1]
        if time.monotonic() - asked > 2:
            cdp.send("ServiceWorker.disable")
            cdp.send("ServiceWorker.enable")
            asked = time.monotonic()
        page.wait_for_timeout(50)  # turns the loop that delivers DevTools events
    raise AssertionError(f"DevTools reported no registration for {origin}: {registrations}")


def test_push_message_shows_the_notice_with_its_page(app_page, pwa_server):
    """The worker's push handler: a push (delivered by Chromium's DevTools, as a push
    service would) shows the notice, tagged per thing, remembering the page to open."""
    server, _release = pwa_server
    page = app_page("learner")
    page.context.grant_permissions(["notifications"], origin=server.url)
    # The worker is active first; DevTools then lists the registrations it knows as soon as
    # the ServiceWorker domain is enabled (and again on each change).
    eventually(page, "async () => Boolean((await navigator.serviceWorker.ready).active)")
    cdp = page.context.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    registration = wait_for_registration(page, cdp, registrations, server.url)
    payload = {
        "id": 1,
        "kind": "session_promoted",
        "title": "A seat is yours: First aid workshop",
        "body": "Confirm before 18:00.",
        "url": "/sessions/1/",
        "tag": "session_promoted:7:1",
    }
    import json

    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": server.url + "/",
            "registrationId": registration["registrationId"],
            "data": json.dumps(payload),
        },
    )
    eventually(
        page,
        """async () =>
             (await (await navigator.serviceWorker.ready).getNotifications()).length > 0""",
    )
    shown = page.evaluate(
        """async () => (await (await navigator.serviceWorker.ready).getNotifications())
             .map((n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url}))"""
    )
    assert shown == [
        {
            "title": payload["title"],
            "body": payload["body"],
            "tag": payload["tag"],
            "url": "/sessions/1/",
        }
    ]
