"""Live-class video in Chromium with fake camera and microphone.

The trainer and a learner open the room in two browser contexts; each page publishes its
fake camera to the server's relay and plays the other's relayed video.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, EXPECT_TIMEOUT_MS, close_context
from tests.live_server import DEMO_PASSWORD, LiveEnvironment, LiveServer

pytestmark = pytest.mark.e2e

FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
MAKE_CLASS = """
from classrooms import services
from hub.accounts.models import User
from hub.accounts.selectors import spaces_of
trainer = User.objects.get(username="trainer")
learner = User.objects.get(username="learner")
space = next(s for s in spaces_of(user=trainer) if s.slug == "demo")
live = services.liveclass_create(actor=trainer, space=space, title="Video check")
services.liveclass_start(actor=trainer, live_class=live)
print("CLASS", live.pk, trainer.pk, learner.pk)
"""

# A tile of user %d whose video has frames, a size, and a clock that moves.
PLAYING = """([user, after]) => {
  const video = document.querySelector(
    `#media-stage [data-testid=media-tile][data-user="${user}"][data-source=camera] video`);
  return Boolean(video) && video.readyState >= 2 && video.videoWidth > 0
    && video.currentTime > after;
}"""
CURRENT_TIME = """(user) => document.querySelector(
  `#media-stage [data-testid=media-tile][data-user="${user}"][data-source=camera] video`
).currentTime"""


@pytest.fixture(scope="module")
def media_browser(browser: Any) -> Iterator[Any]:
    """A Chromium of its own with fake media devices (only these tests need them)."""
    chromium = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *FAKE_MEDIA], headless=True
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture(scope="module")
def live_class(live_env: LiveEnvironment, lyceum_server: LiveServer) -> dict[str, int]:
    output = live_env.manage("shell", "-c", MAKE_CLASS)
    class_id, trainer_id, learner_id = (int(n) for n in output.split("CLASS")[-1].split())
    return {"id": class_id, "trainer": trainer_id, "learner": learner_id}


def open_room(media_browser: Any, server: LiveServer, username: str, class_id: int) -> Any:
    from playwright.sync_api import expect

    context = media_browser.new_context(base_url=server.url, permissions=["camera", "microphone"])
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("[data-testid=login-form] button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    page.goto(f"/liveclass/{class_id}/")
    return page


TILES = """() => [...document.querySelectorAll('#media-stage [data-testid=media-tile]')]
.map((t) => {
  const v = t.querySelector('video');
  return [t.dataset.user, t.dataset.source, v.readyState, v.videoWidth, v.currentTime];
})"""


def wait_playing(page: Any, user: int) -> None:
    """``user``'s video plays on ``page``: frames, a size, and time that moves on."""
    try:
        # Joining, capturing and two offer/answer rounds: longer on a loaded machine.
        page.wait_for_function(PLAYING, arg=[user, 0], timeout=2 * EXPECT_TIMEOUT_MS)
        started = page.evaluate(CURRENT_TIME, user)
        page.wait_for_function(PLAYING, arg=[user, started + 0.5], timeout=EXPECT_TIMEOUT_MS)
    except Exception as exc:
        raise AssertionError(f"video of {user} not playing; tiles: {page.evaluate(TILES)}") from exc


def test_trainer_and_learner_each_see_the_others_video_playing(
    media_browser: Any, lyceum_server: LiveServer, live_class: dict[str, int]
) -> None:
    coach = open_room(media_browser, lyceum_server, "trainer", live_class["id"])
    learner = open_room(media_browser, lyceum_server, "learner", live_class["id"])
    try:
        wait_playing(coach, live_class["learner"])
        wait_playing(learner, live_class["trainer"])
        # The learner's microphone toggle reaches the trainer's tile of them.
        learner.click("[data-testid=media-mic]")
        tile = f'#media-stage [data-user="{live_class["learner"]}"][data-source=camera]'
        coach.wait_for_selector(f'{tile}[data-audio="false"]', timeout=EXPECT_TIMEOUT_MS)
    finally:
        for page in (coach, learner):
            close_context(page.context)
