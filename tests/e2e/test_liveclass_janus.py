"""Live-class video in Chromium through Janus (``LYCEUM_JANUS_URLS``): the same room page and
signalling as with the built-in relay; Janus offers each subscription and the page answers.

A server of its own points at the session's Janus; the trainer and a learner see each
other's video, a microphone toggle reaches the other page, learners in a breakout room
(a Janus room of its own) see each other and come back, and in a webinar a learner who
raises a hand is let speak and sent back to watching.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import EXPECT_TIMEOUT_MS, close_context
from tests.e2e.test_liveclass_media import MAKE_CLASS, camera_tile, open_room
from tests.e2e.test_liveclass_media import (
    media_browser as media_browser,  # the fixture, shared
)
from tests.e2e.test_liveclass_media import wait_playing as _wait_playing
from tests.live_server import LiveServer, live_environment, running_server

pytestmark = pytest.mark.e2e

# What a failure reports of a page's connections (getStats): state, frames, PLI and NACK.
STATS = """async () => {
  const m = Lyceum.liveclassMedia;
  const one = async (pc) => {
    const out = {state: pc.connectionState, ice: pc.iceConnectionState};
    (await pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "video") {
        Object.assign(out, {decoded: r.framesDecoded, pli: r.pliCount, nack: r.nackCount});
      }
      if (r.type === "outbound-rtp" && r.kind === "video" && r.framesEncoded) {
        Object.assign(out, {encoded: r.framesEncoded, pliIn: r.pliCount});
      }
    });
    return out;
  };
  const subs = {};
  for (const [user, holder] of m.subscriptions) subs[user] = await one(holder.pc);
  const pub = m.publication();
  return {publication: pub ? await one(pub.pc) : null, subscriptions: subs};
}"""


LAYER = """([user, substream]) => {
  const holder = Lyceum.liveclassMedia.subscriptions.get(user);
  return Lyceum.realtime.request({op: "act", topic: holder.topic, action: "media.layer",
    data: {connection: holder.connection, substream: substream}});
}"""
WIDTH_AT_MOST = """([user, width]) => {
  const video = document.querySelector(
    `#media-stage [data-user="${user}"][data-source=camera] video`);
  return Boolean(video) && video.videoWidth > 0 && video.videoWidth <= width;
}"""


def wait_playing(page: Any, user: int, *others: Any) -> None:
    """As the relay's test, and a failure also says what each page's connections got."""
    try:
        _wait_playing(page, user, *others)
    except AssertionError as exc:
        stats = [p.evaluate(STATS) for p in (page, *others)]
        raise AssertionError(f"{exc}; connections: {stats}") from exc


@pytest.fixture(scope="module")
def first_janus(janus_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A second Janus for this module, listed first: the class is placed on it (both are
    empty), and the last test kills it."""
    from classrooms.janus_process import start_janus

    janus = start_janus(tmp_path_factory.mktemp("janus-first"))
    yield janus
    janus.stop()


@pytest.fixture(scope="module")
def janus_room(
    janus_server: Any, first_janus: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, dict[str, int]]]:
    with live_environment(tmp_path_factory.mktemp("live-janus"), label="janus") as live:
        live.env["LYCEUM_JANUS_URLS"] = f"{first_janus.url},{janus_server.url}"
        output = live.manage("shell", "-c", MAKE_CLASS)
        class_id, trainer_id, learner_id, learner2_id = (
            int(n) for n in output.split("CLASS")[-1].split()
        )
        ids = {"id": class_id, "trainer": trainer_id, "learner": learner_id}
        ids["learner2"] = learner2_id
        with running_server(live, name="janus") as server:
            yield server, ids


def test_through_janus_trainer_and_learner_see_each_others_video(
    media_browser: Any, janus_room: tuple[LiveServer, dict[str, int]]
) -> None:
    server, ids = janus_room
    coach = open_room(media_browser, server, "trainer", ids["id"])
    learner = open_room(media_browser, server, "learner", ids["id"])
    try:
        wait_playing(coach, ids["learner"], learner)
        wait_playing(learner, ids["trainer"], coach)
        # Simulcast: the trainer's page sends layers; the learner's subscription asks Janus
        # for the middle one and the trainer's video arrives at half size.
        learner.evaluate(LAYER, [ids["trainer"], 1])
        learner.wait_for_function(WIDTH_AT_MOST, arg=[ids["trainer"], 320])
        learner.click("[data-testid=media-mic]")
        coach.wait_for_selector(
            f'{camera_tile(ids["learner"])}[data-audio="false"]', timeout=EXPECT_TIMEOUT_MS
        )
    finally:
        for page in (coach, learner):
            close_context(page.context)


def test_through_janus_a_breakout_room_is_a_room_of_its_own(
    media_browser: Any, janus_room: tuple[LiveServer, dict[str, int]]
) -> None:
    from playwright.sync_api import expect

    server, ids = janus_room
    coach = open_room(media_browser, server, "trainer", ids["id"])
    first = open_room(media_browser, server, "learner", ids["id"])
    second = open_room(media_browser, server, "learner2", ids["id"])
    try:
        wait_playing(first, ids["trainer"], coach)
        wait_playing(second, ids["trainer"], coach)
        coach.fill("#lc-breakout-count", "1")
        coach.click("#lc-breakout-form button[type=submit]")
        breakout = f"classrooms.liveclass.{ids['id']}-1.breakout"
        for page in (first, second):
            page.wait_for_function(f"() => Lyceum.liveclassMedia.topic() === {breakout!r}")
            expect(page.locator(camera_tile(ids["trainer"]))).to_have_count(0)
        wait_playing(first, ids["learner2"], second)
        wait_playing(second, ids["learner"], first)
        coach.click("#lc-breakout-close")
        wait_playing(first, ids["trainer"], coach)
        wait_playing(coach, ids["learner2"], second)
    finally:
        for page in (coach, first, second):
            close_context(page.context)


def test_through_janus_a_webinar_learner_is_let_speak_and_goes_back_to_watching(
    media_browser: Any, janus_room: tuple[LiveServer, dict[str, int]]
) -> None:
    from playwright.sync_api import expect

    server, ids = janus_room
    coach = open_room(media_browser, server, "trainer", ids["id"])
    learner = open_room(media_browser, server, "learner", ids["id"])
    learner_tile = coach.locator(camera_tile(ids["learner"]))
    try:
        wait_playing(learner, ids["trainer"], coach)
        coach.click("[data-testid=lc-webinar]")
        # Watching: the learner's camera leaves the trainer's page, the trainer stays on theirs.
        expect(learner_tile).to_have_count(0)
        learner.wait_for_function("() => !Lyceum.liveclassMedia.publication()")
        wait_playing(learner, ids["trainer"], coach)

        learner.click("[data-testid=lc-hand]")
        coach.click("#lc-hands [data-testid=lc-promote]")
        wait_playing(coach, ids["learner"], learner)

        person = coach.locator(f'#lc-people li[data-user="{ids["learner"]}"]')
        person.get_by_role("button", name="Back to watching").click()
        expect(learner_tile).to_have_count(0)
        wait_playing(learner, ids["trainer"], coach)
    finally:
        # The class goes on for the next test as an ordinary room.
        if coach.locator('[data-testid=lc-webinar][aria-pressed="true"]').count():
            coach.click("[data-testid=lc-webinar]")
        for page in (coach, learner):
            close_context(page.context)


def test_through_janus_three_in_the_room_each_see_the_two_others(
    media_browser: Any, janus_room: tuple[LiveServer, dict[str, int]]
) -> None:
    server, ids = janus_room
    coach = open_room(media_browser, server, "trainer", ids["id"])
    first = open_room(media_browser, server, "learner", ids["id"])
    second = open_room(media_browser, server, "learner2", ids["id"])
    pages = {ids["trainer"]: coach, ids["learner"]: first, ids["learner2"]: second}
    try:
        for viewer, page in pages.items():
            for user, publisher in pages.items():
                if user != viewer:
                    wait_playing(page, user, publisher)
    finally:
        for page in pages.values():
            close_context(page.context)


# The screen tile of user %d on a page: shown, with frames, a size and a clock that moves.
SCREEN_PLAYING = """([user, after]) => {
  const tile = document.querySelector(
    `#media-stage [data-testid=media-tile][data-user="${user}"][data-source=screen]`);
  const video = tile && tile.querySelector("video");
  return Boolean(video) && !tile.hidden && video.readyState >= 2 && video.videoWidth > 0
    && video.currentTime > after;
}"""
SCREEN_TIME = """(user) => document.querySelector(
  `#media-stage [data-user="${user}"][data-source=screen] video`).currentTime"""


def wait_screen(page: Any, user: int, *others: Any) -> None:
    """``user``'s shared screen plays on ``page``; a failure reports the connections."""
    try:
        page.wait_for_function(SCREEN_PLAYING, arg=[user, 0], timeout=2 * EXPECT_TIMEOUT_MS)
        started = page.evaluate(SCREEN_TIME, user)
        page.wait_for_function(SCREEN_PLAYING, arg=[user, started + 0.5])
    except Exception as exc:
        stats = [p.evaluate(STATS) for p in (page, *others)]
        raise AssertionError(f"screen of {user} not playing; connections: {stats}") from exc


def test_through_janus_the_trainers_shared_screen_plays_on_the_learners_page(
    media_browser: Any, janus_room: tuple[LiveServer, dict[str, int]]
) -> None:
    """Chromium's fake display capture (the fake-UI flag picks the screen): the trainer's
    screen goes out on its own slot of the publication, Janus forwards it as a stream of
    its own, and the learner's page shows it in a screen tile until sharing stops."""
    from playwright.sync_api import expect

    server, ids = janus_room
    coach = open_room(media_browser, server, "trainer", ids["id"])
    learner = open_room(media_browser, server, "learner", ids["id"])
    late = learner  # until the late joiner's page opens
    screen = f'#media-stage [data-user="{ids["trainer"]}"][data-source=screen]'
    try:
        wait_playing(learner, ids["trainer"], coach)
        expect(learner.locator(f"{screen}:visible")).to_have_count(0)
        coach.click("[data-testid=media-screen]")
        expect(coach.locator("[data-testid=media-screen]")).to_have_attribute(
            "aria-pressed", "true"
        )
        wait_screen(learner, ids["trainer"], coach)
        # The shared screen is the full capture, not the camera's size.
        width = learner.evaluate(f"() => document.querySelector('{screen} video').videoWidth")
        assert width > 640, width
        # The camera goes on beside it.
        wait_playing(learner, ids["trainer"], coach)
        # Someone who joins while the screen is shared sees it at once.
        late = open_room(media_browser, server, "learner2", ids["id"])
        wait_screen(late, ids["trainer"], coach)

        coach.click("[data-testid=media-screen]")
        for page in (learner, late, coach):
            expect(page.locator(screen)).to_be_hidden()
        wait_playing(learner, ids["trainer"], coach)
    finally:
        for page in dict.fromkeys((coach, learner, late)):  # the late page once
            close_context(page.context)


# The simulcast layer a page's subscription to user %d last asked Janus for.
ASKED_LAYER = """([user, layer]) => {
  const holder = Lyceum.liveclassMedia.subscriptions.get(user);
  return Boolean(holder) && holder.layer === layer;
}"""
# What a failure reports: each subscription's layer, connection and state.
LAYERS = """() => Object.fromEntries([...Lyceum.liveclassMedia.subscriptions].map(
  ([user, h]) => [user, {layer: h.layer, connection: h.connection,
                         state: h.pc.connectionState}]))"""


def wait_layer(page: Any, user: int, layer: int) -> None:
    """``page``'s subscription to ``user`` has asked Janus for simulcast ``layer``."""
    try:
        page.wait_for_function(ASKED_LAYER, arg=[user, layer])
    except Exception as exc:
        raise AssertionError(f"layer {layer} of {user} not asked: {page.evaluate(LAYERS)}") from exc


def test_through_janus_a_spotlit_learner_is_spotlit_everywhere_on_the_full_layer(
    media_browser: Any, janus_room: tuple[LiveServer, dict[str, int]]
) -> None:
    from playwright.sync_api import expect

    server, ids = janus_room
    coach = open_room(media_browser, server, "trainer", ids["id"])
    first = open_room(media_browser, server, "learner", ids["id"])
    second = open_room(media_browser, server, "learner2", ids["id"])
    pages = (coach, first, second)
    spotlit = camera_tile(ids["learner"])
    try:
        wait_playing(coach, ids["learner"], first)
        wait_playing(second, ids["learner"], first)
        wait_playing(coach, ids["learner2"], second)
        wait_playing(second, ids["trainer"], coach)
        # Two others each: neither spotlit, both on the middle layer.
        for page, user in ((coach, ids["learner"]), (second, ids["learner"])):
            wait_layer(page, user, 1)
        person = coach.locator(f'#lc-people li[data-user="{ids["learner"]}"]')
        person.get_by_role("button", name="Spotlight").click()
        for page in pages:
            expect(page.locator(spotlit)).to_have_class(re.compile(r"\bspotlight\b"))
            expect(page.locator(camera_tile(ids["learner2"]))).not_to_have_class(
                re.compile(r"\bspotlight\b")
            )
        # With simulcast the spotlit learner is asked for in full, the others stay halved.
        for page in (coach, second):
            wait_layer(page, ids["learner"], 2)
        wait_layer(coach, ids["learner2"], 1)
        wait_layer(second, ids["trainer"], 1)
        wait_playing(second, ids["learner"], first)
        wait_playing(coach, ids["learner"], first)

        # Spotlight off: nobody spotlit, the learner back on the middle layer.
        person.get_by_role("button", name="Spotlight").click()
        for page in pages:
            expect(page.locator(spotlit)).not_to_have_class(re.compile(r"\bspotlight\b"))
        for page in (coach, second):
            wait_layer(page, ids["learner"], 1)
    finally:
        for page in pages:
            close_context(page.context)


def test_a_janus_killed_mid_class_the_pages_resume_on_the_other(
    media_browser: Any, janus_room: tuple[LiveServer, dict[str, int]], first_janus: Any
) -> None:
    """Last in the module: the Janus holding the class dies; the pages publish and
    subscribe again, on the other Janus."""
    server, ids = janus_room
    coach = open_room(media_browser, server, "trainer", ids["id"])
    learner = open_room(media_browser, server, "learner", ids["id"])
    try:
        wait_playing(learner, ids["trainer"], coach)
        wait_playing(coach, ids["learner"], learner)
        first_janus.kill()
        wait_playing(learner, ids["trainer"], coach)
        wait_playing(coach, ids["learner"], learner)
    finally:
        for page in (coach, learner):
            close_context(page.context)
