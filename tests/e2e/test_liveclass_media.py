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
learner2 = User.objects.get(username="learner2")
space = next(s for s in spaces_of(user=trainer) if s.slug == "demo")
live = services.liveclass_create(actor=trainer, space=space, title="Video check")
services.liveclass_start(actor=trainer, live_class=live)
print("CLASS", live.pk, trainer.pk, learner.pk, learner2.pk)
"""

# A tile of user %d whose video has frames, a size, and a clock that moves.
PLAYING_ON = """(user) => {
  const video = document.querySelector(
    `#media-stage [data-testid=media-tile][data-user="${user}"][data-source=camera] video`);
  if (!video || video.readyState < 2 || !video.videoWidth) return false;
  window.__playing = window.__playing || new Map();
  const seen = window.__playing.get(String(user));
  if (!seen || seen.video !== video) {
    window.__playing.set(String(user), {video: video, time: video.currentTime});
    return false;
  }
  return video.currentTime > seen.time + 0.5;
}"""


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
    class_id, trainer_id, learner_id, learner2_id = (
        int(n) for n in output.split("CLASS")[-1].split()
    )
    return {"id": class_id, "trainer": trainer_id, "learner": learner_id, "learner2": learner2_id}


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
    # The camera and microphone check before joining: join with both on.
    expect(page.locator("[data-testid=media-preview]")).to_be_visible()
    # Capturing the fake camera: longer on a loaded machine (2 cores, several browsers).
    page.wait_for_function(
        "() => document.getElementById('lc-preview').videoWidth > 0",
        timeout=2 * EXPECT_TIMEOUT_MS,
    )
    page.click("[data-testid=media-join]")
    expect(page.locator("[data-testid=media-prejoin]")).to_be_hidden()
    return page


# What a failure reports of a page: its tiles, whether it publishes, where, what it said.
TILES = """() => ({
  tiles: [...document.querySelectorAll('#media-stage [data-testid=media-tile]')].map((t) => {
    const v = t.querySelector('video');
    return [t.dataset.user, t.dataset.source, v.readyState, v.videoWidth, v.currentTime];
  }),
  publishing: Boolean(Lyceum.liveclassMedia && Lyceum.liveclassMedia.publication()),
  topic: Lyceum.liveclassMedia ? Lyceum.liveclassMedia.topic() : null,
  message: (document.getElementById('lc-message') || {}).textContent || '',
})"""


# What a failure reports of a page's connections (``getStats()``): per subscription, the
# received video (frames received and decoded, keyframes, packets lost, the PLI/FIR/NACK it
# sent); for its publication, what the sender was asked (PLI/FIR/NACK) and sent.
STATS = """async () => {
  const media = window.Lyceum && Lyceum.liveclassMedia;
  if (!media) return null;
  const keep = ['kind', 'framesReceived', 'framesDecoded', 'keyFramesDecoded', 'framesDropped',
    'packetsReceived', 'packetsLost', 'pliCount', 'firCount', 'nackCount', 'framesSent',
    'keyFramesEncoded', 'packetsSent', 'frameWidth', 'qualityLimitationReason'];
  async function of(pc) {
    const out = {state: pc.connectionState, ice: pc.iceConnectionState, rtp: []};
    (await pc.getStats()).forEach((r) => {
      if (r.type !== 'inbound-rtp' && r.type !== 'outbound-rtp') return;
      const row = {type: r.type};
      keep.forEach((k) => { if (r[k] !== undefined) row[k] = r[k]; });
      out.rtp.push(row);
    });
    return out;
  }
  const result = {subscriptions: {}, publication: null};
  for (const [user, holder] of media.subscriptions) {
    result.subscriptions[user] = await of(holder.pc);
  }
  const own = media.publication();
  if (own && own.pc) result.publication = await of(own.pc);
  return result;
}"""


def page_report(page: Any) -> dict[str, Any]:
    """A page's tiles and its connections' statistics, for a failure's message."""
    try:
        return {"tiles": page.evaluate(TILES), "stats": page.evaluate(STATS)}
    except Exception as exc:  # a page that went away still lets the others report
        return {"error": repr(exc)}


def wait_playing(page: Any, user: int, *others: Any) -> None:
    """``user``'s video plays on ``page``: frames, a size, and time that moves on. A failure
    reports ``page`` and the ``others`` (the publisher's page, say)."""
    try:
        # Joining, capturing and two offer/answer rounds: longer on a loaded machine. The
        # time must move on in the same video element: one replaced meanwhile (a tile
        # dropped and made again, as after a media server's fail-over) starts the count over.
        page.evaluate("(user) => window.__playing && window.__playing.delete(String(user))", user)
        page.wait_for_function(PLAYING_ON, arg=user, timeout=3 * EXPECT_TIMEOUT_MS)
    except Exception as exc:
        states = [page_report(p) for p in (page, *others)]
        raise AssertionError(f"video of {user} not playing; pages: {states}") from exc


def test_trainer_and_learner_each_see_the_others_video_playing(
    media_browser: Any, lyceum_server: LiveServer, live_class: dict[str, int]
) -> None:
    coach = open_room(media_browser, lyceum_server, "trainer", live_class["id"])
    learner = open_room(media_browser, lyceum_server, "learner", live_class["id"])
    try:
        wait_playing(coach, live_class["learner"], learner)
        wait_playing(learner, live_class["trainer"], coach)
        # The learner's microphone toggle reaches the trainer's tile of them.
        learner.click("[data-testid=media-mic]")
        tile = camera_tile(live_class["learner"])
        coach.wait_for_selector(f'{tile}[data-audio="false"]', timeout=EXPECT_TIMEOUT_MS)
    finally:
        for page in (coach, learner):
            close_context(page.context)


def camera_tile(user: int) -> str:
    return f'#media-stage [data-user="{user}"][data-source=camera]'


def test_learners_in_a_breakout_room_see_each_other_then_come_back(
    media_browser: Any, lyceum_server: LiveServer, live_class: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    coach = open_room(media_browser, lyceum_server, "trainer", live_class["id"])
    first = open_room(media_browser, lyceum_server, "learner", live_class["id"])
    second = open_room(media_browser, lyceum_server, "learner2", live_class["id"])
    try:
        wait_playing(first, live_class["trainer"], coach)
        wait_playing(second, live_class["trainer"], coach)
        # One room: both learners go to it; their media moves with them (the class's room
        # and its tiles are left first, so the video below is the breakout room's).
        coach.fill("#lc-breakout-count", "1")
        coach.click("#lc-breakout-form button[type=submit]")
        breakout = f"classrooms.liveclass.{live_class['id']}-1.breakout"
        for page in (first, second):
            page.wait_for_function(f"() => Lyceum.liveclassMedia.topic() === {breakout!r}")
            expect(page.locator(camera_tile(live_class["trainer"]))).to_have_count(0)
        expect(coach.locator(camera_tile(live_class["learner"]))).to_have_count(0)
        wait_playing(first, live_class["learner2"], second)
        wait_playing(second, live_class["learner"], first)
        # Called back: the class's room again, the trainer seen and heard once more.
        coach.click("#lc-breakout-close")
        wait_playing(first, live_class["trainer"], coach)
        wait_playing(coach, live_class["learner2"], second)
        # The statistics a failure reports are read: the returning learner's video decoded.
        stats = coach.evaluate(STATS)["subscriptions"][str(live_class["learner2"])]
        video = [r for r in stats["rtp"] if r.get("kind") == "video"]
        assert video and video[0]["framesDecoded"] > 0, stats
    finally:
        for page in (coach, first, second):
            close_context(page.context)
