"""Scripted live-class participants: aiortc peers with generated media.

Used by the live-class media tests and by ``bench/liveclass.py``. A :class:`Peer` signals
through any ``act(action, data) -> dict`` coroutine: the gateway over a real WebSocket
(:class:`GatewaySocket`), or the media backend called directly.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import fractions
import json
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

Act = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
VIDEO_CLOCK = 90_000


class CounterVideoTrack(MediaStreamTrack):
    """Generated video at a fixed size and rate: flat, or camera-like with ``textured``.

    Textured: a picture (8x8 blocks of random brightness) that pans sideways, with colours
    that change with a frame counter: encoders get motion and detail to work on, as with a
    camera (a flat picture would cost the relay next to nothing and flatter the figures).
    """

    kind = "video"
    PAN = 160  # pixels the picture pans through before it repeats

    def __init__(
        self, width: int = 320, height: int = 240, fps: float = 15, *, textured: bool = False
    ) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.textured = textured  # flat (cheap, for tests) or textured and panning (benchmark)
        self.count = 0
        self.started: float | None = None
        self.rows: list[bytes] | None = None

    def _texture(self, line_size: int) -> list[bytes]:
        rng = random.Random(7)
        blocks_x = (line_size + self.PAN) // 8 + 1
        rows = []
        for _ in range(self.height // 8 + 1):
            row = b"".join(bytes([rng.randrange(16, 236)]) * 8 for _ in range(blocks_x))
            rows.extend([row] * 8)
        return rows[: self.height]

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.started is None:
            self.started = time.monotonic()
        due = self.started + self.count / self.fps
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = av.VideoFrame(self.width, self.height, "yuv420p")
        luma = frame.planes[0]
        if not self.textured:
            luma.update(bytes([40 + (self.count * 7) % 180]) * luma.buffer_size)
        else:
            if self.rows is None:
                self.rows = self._texture(luma.line_size)
            shift = (self.count * 3) % self.PAN
            size = luma.line_size
            luma.update(b"".join(row[shift : shift + size] for row in self.rows[: luma.height]))
        for index, plane in enumerate(frame.planes[1:], start=1):
            plane.update(bytes([(self.count * 3 + index * 60) % 256]) * plane.buffer_size)
        frame.pts = round(self.count * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.count += 1
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """A 440 Hz sine, 20 ms frames of 48 kHz mono 16-bit samples."""

    kind = "audio"
    RATE = 48_000
    SAMPLES = 960

    def __init__(self, frequency: float = 440.0) -> None:
        super().__init__()
        # 50 frames = 1 s: a whole number of sine periods for any whole frequency.
        samples = array.array(
            "h",
            (
                int(8000 * math.sin(2 * math.pi * frequency * n / self.RATE))
                for n in range(self.SAMPLES * 50)
            ),
        )
        self.buffer = samples.tobytes()
        self.count = 0
        self.started: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self.started is None:
            self.started = time.monotonic()
        delay = self.started + self.count * self.SAMPLES / self.RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.SAMPLES)
        offset = (self.count % 50) * self.SAMPLES * 2
        frame.planes[0].update(self.buffer[offset : offset + self.SAMPLES * 2])
        frame.sample_rate = self.RATE
        frame.pts = self.count * self.SAMPLES
        frame.time_base = fractions.Fraction(1, self.RATE)
        self.count += 1
        return frame


@dataclass
class Received:
    """What a subscriber got from one publisher: decoded frames, counted as they come."""

    video_frames: int = 0
    audio_frames: int = 0
    sizes: set[tuple[int, int]] = field(default_factory=set)
    first_video_at: float | None = None
    last_video_at: float | None = None
    packets: int = 0  # counted RTP packets (``count_packets()``)
    keyframes: int = 0


# -- counting RTP instead of decoding (benchmark clients) --------------------------------------
# A client that decodes every stream measures itself: 100 viewers decoding VP8 on the same
# two cores as the server leave nothing to the server. With ``count_packets()`` on, a video
# receiver marked with ``_lyceum_received`` hands its packets to :func:`_count_packet`
# instead of the jitter buffer and the decoder: a frame is a packet with the marker bit (the
# last packet of a frame), a keyframe a VP8 packet that starts a frame whose header says
# so. Audio and RTCP go on as usual.
_original_handle_rtp: Any = None


def count_packets() -> None:
    """Count video frames and keyframes from RTP in this process, without decoding."""
    global _original_handle_rtp
    from aiortc.rtcrtpreceiver import RTCRtpReceiver

    if _original_handle_rtp is not None:
        return
    _original_handle_rtp = RTCRtpReceiver._handle_rtp_packet

    async def handle(self: Any, packet: Any, arrival_time_ms: int) -> None:
        received = getattr(self, "_lyceum_received", None)
        if received is None:
            return await _original_handle_rtp(self, packet, arrival_time_ms)
        codec = self._RTCRtpReceiver__codecs.get(packet.payload_type)
        if codec is None or codec.mimeType.lower() != "video/vp8":
            return None  # retransmissions (rtx) and anything else: not counted
        _count_packet(received, packet.payload, packet.marker)
        return None

    RTCRtpReceiver._handle_rtp_packet = handle


def _count_packet(received: Received, payload: bytes, marker: int) -> None:
    received.packets += 1
    if payload and payload[0] & 0x10 and not payload[0] & 0x07:  # S=1, PID=0: a frame starts
        index = 1
        if payload[0] & 0x80 and len(payload) > 1:  # X: extensions follow
            ext = payload[1]
            index = 2
            if ext & 0x80 and len(payload) > index:  # I: picture id, 1 or 2 bytes
                index += 2 if payload[index] & 0x80 else 1
            index += bool(ext & 0x40) + bool(ext & 0x30)  # L; T or K
        if len(payload) > index and not payload[index] & 0x01:  # P=0: a keyframe
            received.keyframes += 1
    if marker:
        now = time.monotonic()
        received.video_frames += 1
        received.first_video_at = received.first_video_at or now
        received.last_video_at = now


async def _consume(track: MediaStreamTrack, received: Received) -> None:
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        if track.kind == "video":
            now = time.monotonic()
            received.video_frames += 1
            received.sizes.add((frame.width, frame.height))
            received.first_video_at = received.first_video_at or now
            received.last_video_at = now
        else:
            received.audio_frames += 1


class Peer:
    """One participant's peer connections: its publication and its subscriptions."""

    def __init__(self, act: Act) -> None:
        self.act = act
        self.connections: dict[str, RTCPeerConnection] = {}
        self.tasks: list[asyncio.Task] = []
        self.received: dict[int, Received] = {}

    @staticmethod
    def _pc() -> RTCPeerConnection:
        return RTCPeerConnection(RTCConfiguration(iceServers=[]))

    async def _offer(self, pc: RTCPeerConnection) -> str:
        await pc.setLocalDescription(await pc.createOffer())
        return pc.localDescription.sdp

    async def publish(self, *tracks: MediaStreamTrack) -> dict[str, Any]:
        """Publish ``tracks`` (audio first, then video); the server's answer data."""
        pc = self._pc()
        for track in tracks:
            pc.addTrack(track)
        answer = await self.act("media.publish", {"sdp": await self._offer(pc), "type": "offer"})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        self.connections[answer["connection"]] = pc
        return answer

    async def subscribe(self, publisher: int, *, video: int = 1, audio: bool = True) -> Received:
        """Subscribe to ``publisher``; frames are counted into the returned :class:`Received`."""
        pc = self._pc()
        if audio:
            pc.addTransceiver("audio", direction="recvonly")
        for _ in range(video):
            pc.addTransceiver("video", direction="recvonly")
        received = self.received.setdefault(publisher, Received())

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tasks.append(asyncio.ensure_future(_consume(track, received)))

        offer = await self._offer(pc)
        answer = await self.act(
            "media.subscribe", {"publisher": publisher, "sdp": offer, "type": "offer"}
        )
        if answer.get("type") == "offer":
            # An SFU (Janus) offers what it sends: answer it on a fresh connection.
            await pc.close()
            pc = self._pc()
            pc.on("track", on_track)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="offer"))
            _mark(pc, received)
            await pc.setLocalDescription(await pc.createAnswer())
            self.connections[answer["connection"]] = pc
            await self.act(
                "media.answer",
                {"connection": answer["connection"], "sdp": pc.localDescription.sdp},
            )
            return received
        _mark(pc, received)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        self.connections[answer["connection"]] = pc
        return received

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for pc in self.connections.values():
            await pc.close()
        self.connections.clear()


def _mark(pc: RTCPeerConnection, received: Received) -> None:
    """Video receivers of ``pc`` count packets into ``received`` (if ``count_packets()``)."""
    if _original_handle_rtp is None:
        return
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "video":
            transceiver.receiver._lyceum_received = received


class GatewaySocket:
    """A ``/ws/`` connection with token auth: ``act`` and ``call`` by ``ref``, events kept."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.ws: Any = None
        self.ref = 0
        self.replies: dict[str, asyncio.Future] = {}
        self.events: list[dict[str, Any]] = []
        self.event_arrived = asyncio.Event()
        self.reader: asyncio.Task | None = None

    async def __aenter__(self) -> GatewaySocket:
        import websockets

        self.ws = await websockets.connect(
            self.url,
            additional_headers={"Authorization": f"Token {self.token}"},
            max_size=2**22,
            open_timeout=20,
            proxy=None,
        )
        self.reader = asyncio.ensure_future(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.reader:
            self.reader.cancel()
        await self.ws.close()

    async def _read(self) -> None:
        async for raw in self.ws:
            frame = json.loads(raw)
            if frame.get("op") == "event":
                self.events.append(frame)
                self.event_arrived.set()
            elif (future := self.replies.pop(str(frame.get("ref")), None)) and not future.done():
                future.set_result(frame)

    async def call(self, op: str, timeout: float = 30, **fields: Any) -> dict[str, Any]:  # noqa: ASYNC109
        self.ref += 1
        ref = str(self.ref)
        future = asyncio.get_running_loop().create_future()
        self.replies[ref] = future
        await self.ws.send(json.dumps({"op": op, "ref": ref, **fields}))
        return await asyncio.wait_for(future, timeout)

    def acter(self, topic: str) -> Act:
        """An ``act`` for :class:`Peer` on ``topic`` that raises on an ``error`` frame."""

        async def act(action: str, data: dict[str, Any]) -> dict[str, Any]:
            reply = await self.call("act", topic=topic, action=action, data=data)
            if reply["op"] != "ok":
                raise ActError(reply)
            return reply["data"]

        return act

    async def next_event(self, timeout: float = 10, **match: Any) -> dict[str, Any]:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while True:
            for i, frame in enumerate(self.events):
                if all(frame.get(k) == v for k, v in match.items()):
                    return self.events.pop(i)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no event matching {match} within {timeout}s")
            self.event_arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.event_arrived.wait(), remaining)


class ActError(Exception):
    """An ``act`` answered with an ``error`` frame (``.frame`` holds it)."""

    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__(f"{frame.get('code')}: {frame.get('message')}")
        self.frame = frame
        self.code = frame.get("code")


async def wait_until(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:  # noqa: ASYNC109
    """Poll ``condition`` on the loop until it holds; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        await asyncio.sleep(0.05)
    return result


# -- a client process of the live-class benchmark (``python -m bench.liveclass_peers``) -------
def _parse_args(argv: list[str] | None = None) -> Any:
    import argparse

    parser = argparse.ArgumentParser(description="live-class benchmark client process")
    parser.add_argument("--url", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--participant", action="append", default=[], help="TOKEN:USER_ID")
    parser.add_argument("--publish", action="store_true", help="each participant publishes")
    parser.add_argument("--subscribe", default="", help="user ids to subscribe to, comma-separated")
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--fps", type=float, default=15)
    parser.add_argument("--audio", action="store_true", help="publish a tone as well")
    parser.add_argument(
        "--count-packets", action="store_true", help="count RTP frames instead of decoding"
    )
    return parser.parse_args(argv)


async def _subscribe_when_published(peer: Peer, publisher: int, within: float = 60) -> Received:
    deadline = time.monotonic() + within
    while True:
        try:
            return await peer.subscribe(publisher, audio=False)
        except ActError as exc:
            if exc.code != "not_found" or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def _client_main(args: Any) -> None:
    import sys

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    async def expect(word: str) -> None:
        line = (await reader.readline()).decode().strip()
        if line != word:
            raise SystemExit(f"expected {word}, got {line!r}")

    if args.count_packets:
        count_packets()
    wanted = [int(x) for x in args.subscribe.split(",") if x]
    sockets: list[GatewaySocket] = []
    peers: list[tuple[int, Peer]] = []
    cameras: list[CounterVideoTrack] = []
    try:
        for spec in args.participant:
            token, user_id = spec.rsplit(":", 1)
            socket = await GatewaySocket(args.url, token).__aenter__()
            sockets.append(socket)
            peers.append((int(user_id), Peer(socket.acter(args.topic))))
        if args.publish:
            for _user, peer in peers:
                camera = CounterVideoTrack(args.width, args.height, args.fps, textured=True)
                cameras.append(camera)
                tracks = [ToneAudioTrack(), camera] if args.audio else [camera]
                await peer.publish(*tracks)
        say("PUBLISHED")
        await expect("SUBSCRIBE")
        received: list[Received] = []
        for user, peer in peers:
            for publisher in wanted:
                if publisher != user:
                    received.append(await _subscribe_when_published(peer, publisher))
        say("READY")
        await expect("START")
        start_counts = [r.video_frames for r in received]
        start_keyframes = sum(r.keyframes for r in received)
        start_sent = [c.count for c in cameras]
        await expect("STOP")
        pairs = zip(received, start_counts, strict=True)
        say(
            json.dumps(
                {
                    "received": [r.video_frames - s for r, s in pairs],
                    "keyframes": sum(r.keyframes for r in received) - start_keyframes,
                    "sizes": sorted({size for r in received for size in r.sizes}),
                    "sent": [c.count - s for c, s in zip(cameras, start_sent, strict=True)],
                }
            )
        )
    finally:
        for _user, peer in peers:
            await peer.close()
        for socket in sockets:
            await socket.__aexit__(None, None, None)


if __name__ == "__main__":
    asyncio.run(_client_main(_parse_args()))
