"""The built-in media relay on its own: aiortc peers signalled by direct calls.

What goes over the gateway (permissions, events) is in ``test_media_relay.py``; here the
relay itself: forwarding decoded media, offer checks, leaving, recording.
"""

from __future__ import annotations

import asyncio
import fractions
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc import MediaStreamTrack
from django.core.exceptions import ObjectDoesNotExist, ValidationError

from bench.liveclass_peers import CounterVideoTrack, Peer, ToneAudioTrack, wait_until
from classrooms.media import AiortcRelay, LimitedVideoTrack, check_offer

ROOM = "7"


def direct(relay: AiortcRelay, participant: int):
    """An ``act`` that calls the relay as the signalling layer would."""

    async def act(action: str, data: dict[str, Any]) -> dict[str, Any]:
        if action == "media.publish":
            answer = await relay.publish(room=ROOM, participant=participant, offer=data["sdp"])
        else:
            answer = await relay.subscribe(
                room=ROOM, participant=participant, publisher=data["publisher"], offer=data["sdp"]
            )
        return answer.payload()

    return act


@pytest.fixture
async def relay():
    relay = AiortcRelay()
    yield relay
    for room in list(relay.rooms):
        await relay.close_room(room=room)


async def test_a_subscriber_receives_the_publishers_decoded_video_and_audio(relay) -> None:
    publisher, subscriber = Peer(direct(relay, 1)), Peer(direct(relay, 2))
    try:
        answer = await publisher.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        assert sorted(answer["tracks"].values()) == ["audio", "video"]
        assert [p.payload()["tracks"] for p in relay.publications(room=ROOM)] == [
            ["audio", "video"]
        ]
        received = await subscriber.subscribe(1)
        await wait_until(
            lambda: received.video_frames >= 10 and received.audio_frames >= 20,
            timeout=12,
            what="decoded frames at the subscriber",
        )
        assert received.sizes == {(320, 240)}
    finally:
        await publisher.close()
        await subscriber.close()


async def test_leave_closes_the_participants_connections_and_their_subscribers(relay) -> None:
    publisher, subscriber = Peer(direct(relay, 1)), Peer(direct(relay, 2))
    try:
        await publisher.publish(CounterVideoTrack())
        await subscriber.subscribe(1, audio=False)
        server_pcs = [p.pc for p in relay.rooms[ROOM].peers.values()]
        assert len(server_pcs) == 2
        assert await relay.leave(room=ROOM, participant=1) is True
        assert all(pc.connectionState == "closed" for pc in server_pcs)
        assert relay.publications(room=ROOM) == []
        with pytest.raises(ObjectDoesNotExist):
            await subscriber.subscribe(1)
    finally:
        await publisher.close()
        await subscriber.close()


async def test_publishing_again_alone_in_the_room_stays_listed_and_subscribable(
    relay: AiortcRelay,
) -> None:
    """A page that publishes twice in a row (two starts racing, a reconnect) while nobody
    else is in the room: the second publication is the room's. Dropping the first, then the
    room's only peer, used to take the room out of the registry, and the second went into a
    room nobody could see: not announced, not listed, not subscribable."""
    first, second = Peer(direct(relay, 1)), Peer(direct(relay, 1))
    subscriber = Peer(direct(relay, 2))
    try:
        await first.publish(CounterVideoTrack())
        answer = await second.publish(CounterVideoTrack(320, 240, 15))
        assert [p.participant for p in relay.publications(room=ROOM)] == [1]
        assert relay.rooms[ROOM].published[1].peer.id == answer["connection"]
        received = await subscriber.subscribe(1, audio=False)
        await wait_until(
            lambda: received.video_frames >= 5, timeout=12, what="frames of the new publication"
        )
    finally:
        for peer in (first, second, subscriber):
            await peer.close()


async def test_a_replaced_publication_that_ends_leaves_the_others_in_the_room(
    relay: AiortcRelay,
) -> None:
    """Someone publishes twice while alone, someone else then publishes, and the first one's
    browser goes away: only their publication ends. (The lost room's last peer ending used
    to take the room registered under the same key, and everyone else's publications with
    it, while a ``media.unpublished`` went out for the one who had left.)"""
    ended: list[tuple[str, int]] = []
    relay.on_unpublished = lambda room, participant: ended.append((room, participant))
    dropped: set[str] = set()  # connections whose drop has run to its end
    drop = relay._drop_peer

    async def dropping(room: Any, peer: Any, **options: Any) -> None:
        await drop(room, peer, **options)
        dropped.add(peer.id)

    relay._drop_peer = dropping  # type: ignore[method-assign]
    first, second, other = Peer(direct(relay, 1)), Peer(direct(relay, 1)), Peer(direct(relay, 2))
    try:
        await first.publish(CounterVideoTrack())
        connection = (await second.publish(CounterVideoTrack()))["connection"]
        await other.publish(CounterVideoTrack())
        await wait_until(
            lambda: [pc.connectionState for pc in second.connections.values()] == ["connected"],
            timeout=15,
            what="the second publication to connect",
        )
        await second.close()
        await wait_until(
            lambda: connection in dropped, timeout=15, what="the server to drop the connection"
        )
        assert ended == [(ROOM, 1)]
        assert [p.participant for p in relay.publications(room=ROOM)] == [2]
    finally:
        for peer in (first, second, other):
            await peer.close()


@pytest.mark.parametrize(
    "sdp",
    ["", "hello", "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", "v=0\r\n" * 12000],
)
def test_malformed_or_oversized_offers_are_invalid(sdp: str) -> None:
    with pytest.raises(ValidationError):
        check_offer(sdp, max_video=2)


async def test_offers_beyond_the_limits_are_refused(relay, settings) -> None:
    settings.LYCEUM_MEDIA = {**settings.LYCEUM_MEDIA, "MAX_BITRATE": 300_000}
    peer = Peer(direct(relay, 1))
    try:
        pc = peer._pc()
        pc.addTrack(CounterVideoTrack())
        for _ in range(2):
            pc.addTransceiver("video", direction="sendonly")
        offer = await peer._offer(pc)
        with pytest.raises(ValidationError):  # three video lines
            check_offer(offer, max_video=2)
        greedy = offer.replace("a=mid:0\r\n", "a=mid:0\r\nb=AS:2000\r\n")
        with pytest.raises(ValidationError):
            check_offer(greedy, max_video=3)
        await pc.close()
    finally:
        await peer.close()
    assert relay.rooms == {}


async def test_recording_the_trainer_writes_a_video_file(relay, tmp_path: Path) -> None:
    trainer = Peer(direct(relay, 1))
    path = tmp_path / "class.webm"
    try:
        await relay.start_recording(room=ROOM, participant=1, path=path)
        await trainer.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        recording = relay.rooms[ROOM].recording
        await wait_until(
            lambda: recording.recorder is not None, timeout=10, what="the recorder to start"
        )
        frames = recording.recorder.frames
        await wait_until(
            lambda: frames["video"] >= 30, timeout=20, what="video reaching the recorder"
        )
        done = await relay.stop_recording(room=ROOM)
    finally:
        await trainer.close()
    assert done == path
    with av.open(str(path)) as container:
        assert container.streams.video, "no video stream in the recording"
        assert container.streams.audio, "no audio stream in the recording"
        packets = sum(1 for packet in container.demux(video=0) if packet.size)
    assert packets >= 5


async def test_a_recording_goes_on_in_the_same_file_when_the_trainer_publishes_again(
    relay, tmp_path: Path
) -> None:
    """A reconnect (a new publication) must not overwrite what was recorded before it."""
    path = tmp_path / "class.webm"
    first, second = Peer(direct(relay, 1)), Peer(direct(relay, 1))
    try:
        await relay.start_recording(room=ROOM, participant=1, path=path)
        await first.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        recording = relay.rooms[ROOM].recording
        await wait_until(lambda: recording.recorder is not None, timeout=10, what="a recorder")
        recorder = recording.recorder
        await wait_until(lambda: recorder.frames["video"] >= 20, timeout=20, what="video")
        await first.close()
        await second.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))  # replaces it
        await wait_until(
            lambda: recording.fed_by is relay.rooms[ROOM].published[1],
            timeout=10,
            what="the recorder to take the new publication",
        )
        assert recording.recorder is recorder
        await wait_until(lambda: recorder.frames["video"] >= 45, timeout=20, what="more video")
        done = await relay.stop_recording(room=ROOM)
    finally:
        await first.close()
        await second.close()
    assert done == path
    with av.open(str(path)) as container:
        times = [p.pts for p in container.demux(video=0) if p.size and p.pts is not None]
    assert len(times) >= 40, "the first publication's video was lost"
    assert times == sorted(times), "times go back where the second publication starts"


class FastLargeCamera(MediaStreamTrack):
    """1280x720 at about 100 fps: a client that ignores the capture constraints."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(0.01)
        frame = av.VideoFrame(1280, 720, "yuv420p")
        frame.pts, frame.time_base = self.count, fractions.Fraction(1, 100)
        self.count += 1
        return frame


async def test_the_server_holds_published_video_to_the_size_and_rate_limits(settings) -> None:
    settings.LYCEUM_MEDIA = {**settings.LYCEUM_MEDIA, "MAX_FPS": 10}
    limited = LimitedVideoTrack(FastLargeCamera())
    loop = asyncio.get_running_loop()
    start, sizes, passed = loop.time(), set(), 0
    while loop.time() - start < 1.0:
        frame = await limited.recv()
        sizes.add((frame.width, frame.height))
        passed += 1
    assert sizes == {(640, 360)}
    assert 8 <= passed <= 11
