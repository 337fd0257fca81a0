"""Every role's pages at 360 and 1280 px, in Chromium: what the design system promises.

On each page: no element marked ``hidden`` is rendered, the page does not scroll sideways,
no uncaught error reaches the console, and axe-core (the npm copy in frontend/vendor,
evaluated in the page; never a CDN) finds no WCAG 2.2 A/AA violation. One browser, one
context per role, both widths in that context (the viewport is resized), so a pass stays
well under a minute.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import skip_or_fail
from tests.e2e.conftest import EXPECT_TIMEOUT_MS, close_context, same_in_every_mode
from tests.live_server import DEMO_PASSWORD

pytestmark = [pytest.mark.e2e, same_in_every_mode]

AXE = Path(__file__).resolve().parents[2] / "frontend" / "vendor" / "node_modules" / "axe-core"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDTHS = (1280, 360)

# Each walk: a role and its pages. A path with "->" is reached by following the first link
# matching each pattern in turn (demo ids are not fixed). The learner's pages are two walks,
# so that no one test runs long on a loaded machine.
PAGES: dict[str, list[str]] = {
    "learner": [
        "/",
        "/courses/",
        "/courses/ -> ^/courses/\\d+/$",
        "/sessions/",
        "/sessions/ -> ^/sessions/\\d+/$",
        "/calendars/",
        "/forums/",
        "/forums/ -> ^/forums/\\d+/$",
        "/forums/ -> ^/forums/\\d+/$ -> ^/forums/threads/\\d+/$",
        "/chat/",
    ],
    "learner-more": [
        "/chat/ -> ^/chat/\\d+/$",
        "/leaderboards/",
        "/leaderboards/me/",
        "/leaderboards/duels/",
        "/leaderboards/ -> ^/leaderboards/wall/",
        "/games/",
        "/levels/me/",
        "/forums/library/",
        "/sessions/coaching/",
        "/notifications/",
        "/notifications/settings/",
        "/announcements/",
        "/accounts/profile/",
        "/accounts/profile/ -> ^/people/\\d+/$",
        "/accounts/password/",
        "/paths/",
        "/certifications/",
        "/skills/",
        "/accounts/security/",
        "/no-such-page/",
    ],
    "trainer": [
        "/",
        "/courses/ -> ^/courses/\\d+/edit/$",
        "/courses/ -> ^/courses/\\d+/progress/$",
        "/courses/new/",
        "/forums/moderation/",
        "/announcements/new/",
        "/sessions/coaching/",
        "/sessions/availability/",
        "/games/",
        "/grading/",
        "/grading/ -> ^/grading/courses/\\d+/$",
        "/grading/ -> ^/grading/submissions/\\d+/$",
        "/grading/ -> ^/grading/courses/\\d+/$ -> ^/grading/activities/\\d+/rubric/$",
    ],
    "coordinator": [
        "/",
        "/sessions/manage/",
        "/sessions/new/",
        "/sessions/manage/surveys/",
        "/sessions/manage/conflicts/",
        "/certifications/",
        "/certifications/ -> ^/certifications/\\d+/$",
        "/certifications/compliance/",
        "/skills/framework/",
        "/skills/framework/ -> ^/skills/framework/skills/\\d+/$",
        "/sessions/ -> ^/sessions/\\d+/$",
        "/sessions/ -> ^/sessions/\\d+/$ -> ^/sessions/\\d+/attendance/$",
        "/integrations/",
    ],
    "manager": [
        "/",
        "/team/progress/",
        "/sessions/coaching/",
        "/sessions/ -> ^/sessions/\\d+/$",
        "/paths/team/",
        "/paths/all/",
        "/certifications/compliance/",
        "/skills/matrix/",
        "/skills/matrix/ -> ^/skills/people/\\d+/$",
    ],
    "admin": [
        "/",
        "/style-guide/",
        "/integrations/",
        "/audit/",
        "/spaces/demo/invitations/",
        "/spaces/demo/access/",
        "/accounts/erasure-requests/",
        "/identity/import/",
        "/lti/demo/settings/",
        "/externaltools/ -> ^/externaltools/spaces/\\d+/$",
    ],
    "anonymous": ["/accounts/login/", "/accounts/password/reset/", "/no-such-page/"],
}

# Pages of a recorded live class (its ids are not fixed): walked by these roles, the class
# made by ``recorded_classes``: "{recorded}" is its playback page, "{preparing}" that of a
# class whose recording a job is still composing.
RECORDING_PAGES: dict[str, list[str]] = {
    "learner-more": ["/liveclass/{recorded}/recording/", "/liveclass/{preparing}/recording/"],
    "trainer": ["/liveclass/{recorded}/recording/"],
}

RECORDED_CLASSES = """
import datetime as dt
from django.utils import timezone
from classrooms import services
from classrooms.models import LiveClass
from hub.accounts.models import User
trainer, leo = User.objects.get(username="trainer"), User.objects.get(username="learner")
space = trainer.space_memberships.first().space
pks = []
for title in ("Recorded class", "Class being prepared"):
    room = services.liveclass_create(actor=trainer, space=space, title=title)
    room.invitees.add(leo)
    services.liveclass_join(user=trainer, live_class=room)
    services.liveclass_join(user=leo, live_class=room)
    pks.append(room.pk)
start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
recorded = LiveClass.objects.get(pk=pks[0])
services.liveclass_attach_recording(live_class=recorded, path=PATH, started_at=start.timestamp())
LiveClass.objects.filter(pk=pks[1]).update(recording_preparing_since=timezone.now())
print(pks[0], pks[1])
"""


@pytest.fixture(scope="module")
def recorded_classes(live_env: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two live classes the demo trainer and learner were in: one with a small recording
    (2 s of ffmpeg's lavfi test picture and tone, VP8 + Opus), one being prepared."""
    if shutil.which("ffmpeg") is None:
        skip_or_fail("ffmpeg is missing: install Debian's ffmpeg")
    video = tmp_path_factory.mktemp("recording") / "class.webm"
    sources = ["testsrc=size=320x180:rate=10:duration=2", "sine=frequency=440:duration=2"]
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-y", "-loglevel", "error"),
            *("-f", "lavfi", "-i", sources[0], "-f", "lavfi", "-i", sources[1]),
            *("-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"),
            *("-f", "webm", str(video)),
        ],
        check=True,
        capture_output=True,
    )
    code = RECORDED_CLASSES.replace("PATH", repr(str(video)))
    recorded, preparing = live_env.manage("shell", "-c", code).strip().splitlines()[-1].split()
    return {"recorded": recorded, "preparing": preparing}


CHECKS = """async ([tags]) => {
  const problems = [];
  for (const el of document.querySelectorAll("[hidden]")) {
    const box = el.getBoundingClientRect();
    if (getComputedStyle(el).display !== "none" && (box.width > 0 || box.height > 0)) {
      problems.push("hidden but shown: " + el.outerHTML.slice(0, 120));
    }
  }
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    const wide = [...document.querySelectorAll("body *")].filter((el) => {
      const r = el.getBoundingClientRect();
      return r.right > root.clientWidth + 1 && getComputedStyle(el).position !== "fixed";
    }).slice(0, 3).map((el) => el.tagName + "." + el.className);
    problems.push("scrolls sideways: " + root.scrollWidth + " > " + root.clientWidth + " " + wide);
  }
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  for (const v of result.violations) {
    const where = v.nodes.slice(0, 3).map((n) => n.target.join(" "));
    problems.push("axe " + v.id + ": " + where.join(" | "));
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    script = AXE / "axe.min.js"
    if not script.exists():
        skip_or_fail(f"{script} is missing: run `make vendor` (npm ci in frontend/vendor)")
    return script.read_text(encoding="utf-8")


def open_role(browser: Any, server: Any, role: str) -> tuple[Any, Any, list[str]]:
    """A logged-in page of ``role``, and the list its uncaught errors are added to."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.append(f"console: {msg.text}")
            if msg.type == "error" and "404 (Not Found)" not in msg.text
            else None
        ),
    )
    if role == "anonymous":
        return context, page, errors
    page.goto("/accounts/login/")
    page.fill("#id_username", role)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    page.wait_for_url(re.compile(r"^(?!.*/accounts/login/)"))
    return context, page, errors


def resolve(page: Any, spec: str) -> str:
    """A path, or the first link matching each pattern in turn ("start -> pattern -> ...")."""
    here, *patterns = (part.strip() for part in spec.split("->"))
    for pattern in patterns:
        page.goto(here)
        hrefs = page.eval_on_selector_all(
            "main a[href]", "els => els.map(a => a.getAttribute('href'))"
        )
        found = next((h for h in hrefs if re.match(pattern, h)), None)
        assert found, f"no link matching {pattern} on {here}"
        here = found
    return here


def check_page(page: Any, axe: str, path: str, width: int, errors: list[str]) -> list[str]:
    page.set_viewport_size({"width": width, "height": 800})
    response = page.goto(path, wait_until="load")
    assert response is not None
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe + "\n;0")
    if page.locator("[data-lazy-chart]").count():
        # The home page's charts load when scrolled into view: check them drawn too.
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_function("() => !document.querySelector('.home-chart[aria-busy]')")
        page.evaluate("() => window.scrollTo(0, 0)")
    problems = page.evaluate(CHECKS, [AXE_TAGS])
    problems += errors
    errors.clear()
    return [f"{path} @ {width}px: {p}" for p in problems]


@pytest.mark.parametrize("walk", list(PAGES))
def test_every_page_of_the_role_meets_the_interface_rules(
    browser, lyceum_server, axe_source, walk: str, request
) -> None:
    extra = RECORDING_PAGES.get(walk, [])
    if extra:
        ids = request.getfixturevalue("recorded_classes")
        extra = [path.format(**ids) for path in extra]
    context, page, errors = open_role(browser, lyceum_server, walk.removesuffix("-more"))
    try:
        paths = [resolve(page, spec) for spec in PAGES[walk]] + extra
        problems: list[str] = []
        for width in WIDTHS:
            for path in paths:
                problems += check_page(page, axe_source, path, width, errors)
        assert not problems, json.dumps(problems, indent=1)
    finally:
        close_context(context)


def test_the_checks_can_fail(browser, lyceum_server, axe_source) -> None:
    """The same checks on a page made wrong on purpose report each kind of problem."""
    context, page, errors = open_role(browser, lyceum_server, "learner")
    try:
        page.goto("/notifications/")
        page.evaluate(axe_source + "\n;0")
        page.evaluate(
            """() => {
              const main = document.querySelector("main");
              const shown = document.createElement("p");
              shown.hidden = true; shown.textContent = "x"; shown.className = "card";
              shown.style.setProperty("display", "block", "important");
              const wide = document.createElement("div");
              wide.textContent = "wide"; wide.style.width = "3000px";
              const img = document.createElement("img"); img.src = "/static/img/lyceum.svg";
              main.append(shown, wide, img);
            }"""
        )
        with page.expect_event("pageerror"):
            page.evaluate("() => setTimeout(() => { throw new Error('boom'); }, 0)")
        problems = page.evaluate(CHECKS, [AXE_TAGS]) + errors
        text = "\n".join(problems)
        assert "hidden but shown" in text
        assert "scrolls sideways" in text
        assert "axe image-alt" in text
        assert "uncaught: " in text and "boom" in text
    finally:
        close_context(context)
