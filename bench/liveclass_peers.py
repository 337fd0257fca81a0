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
    """Frames of one flat colour that changes with a counter, at a fixed size and rate."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 240, fps: float = 15) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.count = 0
        self.started: float | None = None

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
        luma = 40 + (self.count * 7) % 180
        for index, plane in enumerate(frame.planes):
            value = luma if index == 0 else (self.count * 3 + index * 60) % 256
            plane.update(bytes([value]) * plane.buffer_size)
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
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        self.connections[answer["connection"]] = pc
        return received

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for pc in self.connections.values():
            await pc.close()
        self.connections.clear()


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
