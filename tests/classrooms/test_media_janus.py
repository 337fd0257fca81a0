"""Live-class media on Janus: aiortc peers signalled by direct calls to ``JanusBackend``.

A real Janus (Debian's package, ``deploy/janus`` configuration) forwards the publisher's
RTP to the subscriber, who decodes it: frames arrive. Janus offers subscriptions, so the
peers answer them (``media.answer``); placement over two Janus processes and a Janus killed
mid-class are here too.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ObjectDoesNotExist, ValidationError

from bench.liveclass_peers import CounterVideoTrack, Peer, ToneAudioTrack, wait_until
from classrooms.janus import JanusBackend

ROOM = "7"


def direct(backend: JanusBackend, participant: int, room: str = ROOM):
    """An ``act`` that calls the backend as the signalling layer would."""

    async def act(action: str, data: dict[str, Any]) -> dict[str, Any]:
        if action == "media.publish":
            answer = await backend.publish(room=room, participant=participant, offer=data["sdp"])
        elif action == "media.subscribe":
            answer = await backend.subscribe(
                room=room, participant=participant, publisher=data["publisher"], offer=data["sdp"]
            )
        elif action == "media.answer":
            await backend.answer(
                room=room, participant=participant, connection=data["connection"], sdp=data["sdp"]
            )
            return {}
        else:
            raise AssertionError(action)
        return answer.payload()

    return act


@pytest.fixture
async def janus(janus_server):
    backend = JanusBackend([janus_server.url])
    yield backend
    for room in list(backend.rooms):
        await backend.close_room(room=room)
    await backend.close()


async def test_a_subscriber_receives_the_publishers_video_and_audio_through_janus(janus) -> None:
    publisher, subscriber = Peer(direct(janus, 1)), Peer(direct(janus, 2))
    try:
        answer = await publisher.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        assert sorted(answer["tracks"].values()) == ["audio", "video"]
        assert [p.payload()["tracks"] for p in janus.publications(room=ROOM)] == [
            ["audio", "video"]
        ]
        received = await subscriber.subscribe(1)
        await wait_until(
            lambda: received.video_frames >= 10 and received.audio_frames >= 20,
            timeout=15,
            what="decoded frames at the subscriber, forwarded by Janus",
        )
        assert received.sizes == {(320, 240)}
        # Muting is a state the room shows; the publication stays.
        assert janus.set_state(room=ROOM, participant=1, audio=False).audio is False

        # Leaving detaches the handles: Janus closes the peers' connections.
        assert await janus.leave(room=ROOM, participant=1) is True
        assert janus.publications(room=ROOM) == []
        pcs = list(publisher.connections.values())
        await wait_until(
            lambda: all(pc.connectionState in {"closed", "failed"} for pc in pcs),
            timeout=10,
            what="Janus to hang up the publisher",
        )
    finally:
        await publisher.close()
        await subscriber.close()


async def test_bad_input_is_refused_and_changes_nothing(janus) -> None:
    with pytest.raises(ValidationError):
        await janus.publish(room=ROOM, participant=1, offer="v=0\r\nnot a session")
    with pytest.raises(ObjectDoesNotExist):
        await janus.subscribe(room=ROOM, participant=2, publisher=1, offer="")
    with pytest.raises(ObjectDoesNotExist):
        await janus.answer(room=ROOM, participant=2, connection="0" * 16, sdp="v=0\r\n")
    with pytest.raises(ObjectDoesNotExist):
        await janus.add_ice(room=ROOM, participant=2, connection="0" * 16, candidate=None)
    assert janus.publications(room=ROOM) == []


async def test_a_class_goes_to_the_least_loaded_janus_and_stays_there(start_janus_server) -> None:
    first, second = start_janus_server(), start_janus_server()
    backend = JanusBackend([first.url, second.url])
    other_process = JanusBackend([first.url, second.url])
    peers = [Peer(direct(backend, n, room)) for n, room in ((1, "21"), (2, "22"), (3, "21"))]
    try:
        await peers[0].publish(CounterVideoTrack())
        assert await backend.placement("21") == first.url  # both empty: the first
        await peers[1].publish(CounterVideoTrack())
        assert await backend.placement("22") == second.url  # the first holds one person
        await peers[2].publish(CounterVideoTrack())
        # The class stays where it is, though that server is now the busier one, and every
        # server process sends its people there.
        assert await backend.placement("21") == first.url
        assert (await other_process._room("21")).server == first.url
        # Janus lists a publisher once its media is up.
        for _ in range(100):
            await other_process.sync(room="21")
            if {p.participant for p in other_process.publications(room="21")} == {1, 3}:
                break
            await asyncio.sleep(0.1)
        assert {p.participant for p in other_process.publications(room="21")} == {1, 3}
    finally:
        for peer in peers:
            await peer.close()
        for room in ("21", "22"):
            await backend.close_room(room=room)
        await backend.close()
        await other_process.close()


async def test_a_janus_killed_mid_class_moves_its_classes_and_spares_the_others(
    start_janus_server,
) -> None:
    first, second = start_janus_server(), start_janus_server()
    backend = JanusBackend([first.url, second.url])
    told: list[tuple[str, int]] = []
    backend.on_unpublished = lambda room, participant: told.append((room, participant))
    trainer, learner = Peer(direct(backend, 1, "31")), Peer(direct(backend, 2, "31"))
    elsewhere = Peer(direct(backend, 5, "32"))
    try:
        await trainer.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        await elsewhere.publish(CounterVideoTrack())
        assert await backend.placement("31") == first.url
        assert await backend.placement("32") == second.url
        received = await learner.subscribe(1)
        await wait_until(lambda: received.video_frames >= 5, timeout=15, what="frames via A")

        first.kill()
        # The class's publishers are told to publish again (their pages reconcile).
        await wait_until(lambda: ("31", 1) in told, timeout=10, what="the publisher told")
        assert await backend.placement("31") is None
        await trainer.close()
        await learner.close()
        trainer, learner = Peer(direct(backend, 1, "31")), Peer(direct(backend, 2, "31"))
        await trainer.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        assert await backend.placement("31") == second.url
        received = await learner.subscribe(1)
        await wait_until(lambda: received.video_frames >= 5, timeout=15, what="frames via B")
        # The class on the other server noticed nothing.
        assert ("32", 5) not in told
        assert [p.participant for p in backend.publications(room="32")] == [5]
    finally:
        for peer in (trainer, learner, elsewhere):
            await peer.close()
        for room in ("31", "32"):
            await backend.close_room(room=room)
        await backend.close()


async def test_two_first_publishers_at_once_land_in_the_same_room(janus) -> None:
    """The room is created once: neither publication lands in a forgotten one."""
    first, second = Peer(direct(janus, 1, "41")), Peer(direct(janus, 2, "41"))
    try:
        await asyncio.gather(
            first.publish(CounterVideoTrack()), second.publish(CounterVideoTrack())
        )
        assert {p.participant for p in janus.publications(room="41")} == {1, 2}
        # Publishing twice at once (a page's two offers in a row): one publication stays.
        again = Peer(direct(janus, 1, "41"))
        await asyncio.gather(again.publish(CounterVideoTrack()), again.publish(CounterVideoTrack()))
        assert sorted(p.participant for p in janus.publications(room="41")) == [1, 2]
        assert sum(h.publisher is None and h.participant == 1 for h in janus.handles.values()) == 1
        await again.close()
    finally:
        await first.close()
        await second.close()


async def test_recording_on_janus_composes_the_room(janus, tmp_path) -> None:
    """Janus records every publication of the room (a trainer, a learner who joins later,
    the trainer publishing again); janus-pp-rec and ffmpeg compose one WebM: one 1280x720
    picture with both cameras, one mixed audio track, as long as the class, with its
    start time beside it."""
    import json
    import shutil
    import subprocess
    import time

    import av

    from classrooms.composer import read_start
    from tests.conftest import skip_or_fail

    for tool in ("janus-pp-rec", "ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            skip_or_fail(f"{tool} is missing: install Debian's janus-tools and ffmpeg")
    path = tmp_path / "rec" / "class.webm"
    before = time.time()
    await janus.start_recording(room="61", participant=1, path=path)  # before publishing
    trainer = Peer(direct(janus, 1, "61"))
    learner = Peer(direct(janus, 2, "61"))
    watcher = Peer(direct(janus, 3, "61"))
    try:
        await trainer.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        received = await watcher.subscribe(1)
        await wait_until(lambda: received.video_frames >= 15, timeout=15, what="frames")
        await learner.publish(ToneAudioTrack(660), CounterVideoTrack(320, 240, 15))
        from_learner = await watcher.subscribe(2)
        await wait_until(lambda: from_learner.video_frames >= 15, timeout=15, what="frames")
        await trainer.close()
        trainer = Peer(direct(janus, 1, "61"))
        await trainer.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        await asyncio.sleep(1.5)
        assert await janus.stop_recording(room="61") == path
    finally:
        await trainer.close()
        await learner.close()
        await watcher.close()
    probed = await asyncio.to_thread(
        subprocess.run,
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True,
        capture_output=True,
    )
    probe = json.loads(probed.stdout)
    streams = {s["codec_type"]: s for s in probe["streams"]}
    assert sorted(s["codec_type"] for s in probe["streams"]) == ["audio", "video"]
    assert (streams["video"]["codec_name"], streams["audio"]["codec_name"]) == ("vp8", "opus")
    assert (streams["video"]["width"], streams["video"]["height"]) == (1280, 720)
    assert float(probe["format"]["duration"]) >= 2.0
    started = read_start(path)
    assert started is not None and before - 1 <= started <= time.time()
    # The picture: the two cameras side by side (their frames are flat grey, luma 40-220;
    # an empty tile is black, luma 16), the learner's from when they joined.
    seen = {"trainer": 0, "learner": 0}
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            luma, stride = bytes(frame.planes[0]), frame.planes[0].line_size
            seen["trainer"] += luma[360 * stride + 320] > 30
            seen["learner"] += luma[360 * stride + 960] > 30
    assert 0 < seen["learner"] < seen["trainer"], seen
    assert list(path.parent.rglob("*.mjr")) == []  # Janus's raw files are gone


def test_composing_puts_the_shared_screen_beside_the_camera_and_mixes_audio(tmp_path) -> None:
    """The composer alone, on files like janus-pp-rec's: a camera and a microphone from
    0 s, a shared screen from 1 s; the screen fills the left, the camera the column."""
    import json
    import shutil
    import subprocess

    import av

    from classrooms.composer import Track, compose
    from tests.conftest import skip_or_fail

    if shutil.which("ffmpeg") is None:
        skip_or_fail("ffmpeg is missing: install Debian's ffmpeg")

    def make(name: str, source: str, codec: str) -> Path:
        target = tmp_path / name
        command = ["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi", "-i"]
        subprocess.run(
            [*command, source, "-c", codec, str(target)],
            check=True,
            capture_output=True,
        )
        return target

    camera = make("camera.webm", "color=c=white:s=320x240:r=15:d=3", "libvpx")
    screen = make("screen.webm", "color=c=gray:s=640x360:r=5:d=2", "libvpx")
    voice = make("voice.opus", "sine=frequency=440:duration=3", "libopus")
    path = compose(
        [
            Track(file=camera, kind="video", owner=1, start=100.0),
            Track(file=voice, kind="audio", owner=1, start=100.0),
            Track(file=screen, kind="screen", owner=1, start=101.0),
        ],
        tmp_path / "out.webm",
    )
    assert path is not None
    assert json.loads(Path(f"{path}.json").read_text()) == {"started_at": 100.0}
    at: dict[str, list[tuple[float, int, int]]] = {"frames": []}
    with av.open(str(path)) as container:
        assert sorted(s.type for s in container.streams) == ["audio", "video"]
        for frame in container.decode(video=0):
            luma, stride = bytes(frame.planes[0]), frame.planes[0].line_size
            at["frames"].append(
                (float(frame.time), luma[360 * stride + 480], luma[100 * stride + 1120])
            )
    early = [f for f in at["frames"] if f[0] < 0.8]
    late = [f for f in at["frames"] if 1.3 < f[0] < 2.8]
    assert early and late
    assert all(s < 30 and c > 200 for _t, s, c in early)  # no screen yet, the camera white
    assert all(90 < s < 160 and c > 200 for _t, s, c in late)  # the grey screen, the camera


def test_the_layout_puts_a_shared_screen_beside_the_cameras() -> None:
    from classrooms.composer import HEIGHT, WIDTH, layout

    grid = layout([(1, "video"), (2, "video"), (3, "video")])
    assert grid[1, "video"] == (0, 0, WIDTH // 2, HEIGHT // 2)
    assert grid[3, "video"] == (0, HEIGHT // 2, WIDTH // 2, HEIGHT // 2)
    shared = layout([(1, "video"), (1, "screen"), (2, "video")])
    assert shared[1, "screen"] == (0, 0, WIDTH - 320, HEIGHT)
    assert shared[2, "video"][0] == WIDTH - 320


async def test_janus_says_who_is_talking(janus) -> None:
    """Active speaker from the audio-level header extension: a tone counts as talking."""
    heard: list[tuple[str, int, bool]] = []
    janus.on_speaking = lambda room, participant, talking: heard.append(
        (room, participant, talking)
    )
    speaker = Peer(direct(janus, 1, "71"))
    try:
        await speaker.publish(ToneAudioTrack(), CounterVideoTrack())
        await wait_until(lambda: ("71", 1, True) in heard, timeout=15, what="talking")
        assert heard.count(("71", 1, True)) == 1  # once per change, not once per packet
    finally:
        await speaker.close()


async def test_in_a_big_room_only_the_last_speakers_camera_is_forwarded(janus, settings) -> None:
    """LYCEUM_JANUS_LAST_N=1, two cameras: the first publisher's goes out until the second
    one talks; then only the speaker's camera is sent to the subscriber."""
    settings.LYCEUM_JANUS = {**settings.LYCEUM_JANUS, "LAST_N": 1}
    quiet, talker = Peer(direct(janus, 1, "81")), Peer(direct(janus, 2, "81"))
    viewer = Peer(direct(janus, 3, "81"))
    try:
        await quiet.publish(CounterVideoTrack(320, 240, 15))
        await talker.publish(CounterVideoTrack(320, 240, 15))
        from_quiet = await viewer.subscribe(1, audio=False)
        from_talker = await viewer.subscribe(2, audio=False)
        await wait_until(lambda: from_quiet.video_frames >= 5, timeout=15, what="first camera")
        assert from_talker.video_frames == 0  # not forwarded yet

        await talker.close()
        talker = Peer(direct(janus, 2, "81"))
        await talker.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        from_talker = await viewer.subscribe(2, audio=False)
        await wait_until(lambda: from_talker.video_frames >= 5, timeout=20, what="the speaker")
        await asyncio.sleep(0.5)  # frames in flight when the switch happened
        before = from_quiet.video_frames
        await asyncio.sleep(1.5)
        assert from_quiet.video_frames - before <= 1  # the quiet camera is held back
    finally:
        for peer in (quiet, talker, viewer):
            await peer.close()
