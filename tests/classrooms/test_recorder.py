"""The class recorder on its own, with scripted tracks: whichever kind of frame comes first,
the file gets both; a resolution change mid-class is scaled into the file's size; a
publication whose video never starts still records its audio."""

from __future__ import annotations

import asyncio
import fractions
from pathlib import Path

import av
import pytest
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from bench.liveclass_peers import wait_until
from classrooms import recorder as recorder_module
from classrooms.recorder import ClassRecorder


class ScriptedTrack(MediaStreamTrack):
    """Frames every 20 ms after ``first_after`` seconds; video at ``sizes`` in turn."""

    def __init__(
        self, kind: str, *, first_after: float = 0.0, sizes: tuple[tuple[int, int], ...] = ()
    ) -> None:
        super().__init__()
        self.kind = kind
        self.first_after = first_after
        self.sizes = sizes or ((320, 240),)
        self.sent = 0

    async def recv(self) -> av.AudioFrame | av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await asyncio.sleep(self.first_after if self.sent == 0 else 0.02)
        self.sent += 1
        if self.kind == "audio":
            frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.sample_rate = 48000
            frame.pts, frame.time_base = self.sent * 960, fractions.Fraction(1, 48000)
            return frame
        width, height = self.sizes[min(self.sent // 10, len(self.sizes) - 1)]
        frame = av.VideoFrame(width, height, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([self.sent % 256]) * plane.buffer_size)
        frame.pts, frame.time_base = self.sent * 3000, fractions.Fraction(1, 90000)
        return frame


def recorder_for(path: Path, audio: MediaStreamTrack | None, video: MediaStreamTrack | None):
    return ClassRecorder(path, audio=audio, video=video, default_size=(640, 360), bitrate=300_000)


def streams_in(path: Path) -> dict[str, int]:
    """Packets with data per kind of stream in the file."""
    counts = {"audio": 0, "video": 0}
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.size:
                counts[packet.stream.type] += 1
    return counts


@pytest.mark.parametrize("audio_first", [True, False], ids=["audio-first", "video-first"])
async def test_both_kinds_are_recorded_whichever_frame_comes_first(
    tmp_path: Path, audio_first: bool
) -> None:
    path = tmp_path / "class.webm"
    audio = ScriptedTrack("audio", first_after=0.0 if audio_first else 0.3)
    video = ScriptedTrack("video", first_after=0.3 if audio_first else 0.0)
    recorder = recorder_for(path, audio, video)
    await recorder.start()
    await wait_until(
        lambda: min(recorder.frames.values()) >= 20, timeout=10, what="audio and video frames"
    )
    await recorder.stop()
    counts = streams_in(path)
    assert counts["video"] >= 15 and counts["audio"] >= 15, counts


async def test_a_resolution_change_is_scaled_into_the_files_size(tmp_path: Path) -> None:
    path = tmp_path / "class.webm"
    video = ScriptedTrack("video", sizes=((320, 240), (640, 360)))
    recorder = recorder_for(path, ScriptedTrack("audio"), video)
    await recorder.start()
    await wait_until(lambda: recorder.frames["video"] >= 25, timeout=10, what="video frames")
    await recorder.stop()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 240)
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded >= 20


async def test_audio_is_recorded_when_the_video_never_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recorder_module, "SIZE_WAIT", 0.2)
    path = tmp_path / "class.webm"
    silent_camera = ScriptedTrack("video", first_after=3600)
    recorder = recorder_for(path, ScriptedTrack("audio"), silent_camera)
    await recorder.start()
    await wait_until(lambda: recorder.frames["audio"] >= 20, timeout=10, what="audio frames")
    await recorder.stop()
    counts = streams_in(path)
    assert counts["audio"] >= 15 and counts["video"] == 0, counts
