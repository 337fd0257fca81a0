"""Writing a live class's relayed audio and video to a file (WebM: VP8 and Opus).

Why not aiortc's ``MediaRecorder``: it sizes the video stream from the first video frame,
but the container opens every codec when the first packet is written. When an audio frame
came first (about one start in five), the video encoder was already open at its default
size and the video task died on its first frame, silently: the file had no video. Here
audio waits until the video stream has its size (the first frame, or the size limit after
``SIZE_WAIT`` seconds without video), and a track that fails is logged.

Encoding runs on one thread of its own per recording (the container is not thread-safe,
and VP8 encoding would otherwise hold the server's event loop). Video is taken unbuffered
(a recorder that falls behind skips frames instead of queueing them); audio is buffered,
since it is cheap and gaps in it are what listeners notice.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

logger = logging.getLogger(__name__)

SIZE_WAIT = 10.0  # seconds audio waits for a first video frame before video gets a default size
GAP = Fraction(1, 50)  # between what the file holds and the first frame of new tracks


class ClassRecorder:
    """Records one participant's ``audio`` and ``video`` tracks (either may be missing).

    ``frames`` counts, per kind, the frames written so far.
    """

    def __init__(
        self,
        path: Path,
        *,
        audio: MediaStreamTrack | None,
        video: MediaStreamTrack | None,
        default_size: tuple[int, int],
        bitrate: int,
    ) -> None:
        self.path = path
        self.tracks = {kind: t for kind, t in (("audio", audio), ("video", video)) if t}
        self.frames = {kind: 0 for kind in self.tracks}
        self.default_size = default_size
        self.container = av.open(str(path), mode="w", format="webm")
        self.streams: dict[str, Any] = {}
        try:
            if audio is not None:
                self.streams["audio"] = self.container.add_stream("libopus", rate=48000)
            if video is not None:
                stream = self.container.add_stream("libvpx", rate=30)
                stream.pix_fmt = "yuv420p"
                stream.bit_rate = bitrate
                # Real-time settings: the default ("good", cpu-used 0) is slower than live.
                stream.codec_context.options = {"deadline": "realtime", "cpu-used": "8"}
                self.streams["video"] = stream
        except Exception:
            self.container.close()
            raise
        # Times in the file go on across a change of tracks (``switch``): per kind, the end
        # of what was written and the shift that puts the new tracks' times after it.
        self.written_until: dict[str, Fraction] = {}
        self.shift: dict[str, Fraction] = {}
        self.sized = asyncio.Event()
        if video is None:
            self.sized.set()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording")
        self.tasks: list[asyncio.Task[None]] = []
        self.size_timer: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if not self.sized.is_set():
            self.size_timer = loop.call_later(SIZE_WAIT, self._set_size, *self.default_size)
        self.tasks = [asyncio.ensure_future(self._run(kind)) for kind in self.tracks]

    async def switch(
        self, *, audio: MediaStreamTrack | None, video: MediaStreamTrack | None
    ) -> None:
        """Go on from new tracks (the participant published again): the same file goes on,
        instead of a new one overwriting it. A kind the file has no stream for is left out
        (a container's streams are fixed once written)."""
        await self._stop_tasks()
        self.tracks = {
            kind: track
            for kind, track in (("audio", audio), ("video", video))
            if track is not None and kind in self.streams
        }
        self.shift.clear()
        self.tasks = [asyncio.ensure_future(self._run(kind)) for kind in self.tracks]

    def _in_file_time(self, kind: str, frame: Any) -> Any:
        """``frame`` with its time moved after what the file holds (new tracks restart their
        clocks anywhere: a muxer refuses times that go back)."""
        at = frame.pts * frame.time_base
        if kind not in self.shift:
            end = self.written_until.get(kind)
            self.shift[kind] = Fraction(0) if end is None else end + GAP - at
        at += self.shift[kind]
        frame.pts = int(at / frame.time_base)
        self.written_until[kind] = at
        return frame

    def _set_size(self, width: int, height: int) -> None:
        """Fix the video size: the first frame's, or the default after the wait."""
        if self.sized.is_set():
            return
        stream = self.streams["video"]
        stream.width, stream.height = width, height
        self.sized.set()
        if self.size_timer is not None:
            self.size_timer.cancel()

    async def _run(self, kind: str) -> None:
        track, stream = self.tracks[kind], self.streams[kind]
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                if kind == "video":
                    self._set_size(frame.width, frame.height)
                else:
                    await self.sized.wait()
                frame = self._in_file_time(kind, frame)
                await loop.run_in_executor(self.executor, self._encode, stream, frame)
                self.frames[kind] += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("recording %s: the %s track failed", self.path, kind)

    def _encode(self, stream: Any, frame: Any) -> None:
        """On the recording's thread: encode one frame and write its packets."""
        if stream.type == "video" and (frame.width, frame.height) != (stream.width, stream.height):
            # The sender changed its resolution: the file keeps its first size.
            scaled = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
            scaled.pts, scaled.time_base = frame.pts, frame.time_base
            frame = scaled
        for packet in stream.encode(frame):
            self.container.mux(packet)

    def _finish(self) -> None:
        """On the recording's thread: flush the encoders that wrote something, close the file."""
        try:
            for kind, stream in self.streams.items():
                if self.frames[kind]:
                    for packet in stream.encode(None):
                        self.container.mux(packet)
        finally:
            self.container.close()

    async def _stop_tasks(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for track in self.tracks.values():
            track.stop()

    async def stop(self) -> None:
        if self.size_timer is not None:
            self.size_timer.cancel()
        await self._stop_tasks()
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self._finish)
        finally:
            self.executor.shutdown(wait=False)
