"""Composing a class recording: many recorded tracks -> one WebM people can watch.

The media server records each publication's tracks apart (Janus: one file per track; each
starts when its publication started). ``compose`` lays them out on one 1280x720 picture
with ffmpeg (Debian's ``ffmpeg``): the shared screen large on the left and the cameras in
a column beside it, or the cameras in a grid when nobody shares; each person keeps one
tile for the whole recording (a camera that stops leaves its tile black), and every
microphone is mixed into one audio track, each track placed at the time it started. VP8
and Opus in WebM, encoded with real-time settings (the server has other work).

Beside the file, ``<file>.json`` says when the recording starts (``started_at``, Unix
time), so the playback page can put the class's chat and chapters at their times.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS = 1280, 720, 15
PROBE = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json"]


@dataclass
class Track:
    file: Path
    kind: str  # "audio", "video" (a camera) or "screen"
    owner: int  # the participant's user id
    start: float  # Unix time the track starts


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def layout(tiles: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[int, int, int, int]]:
    """(owner, kind) -> (x, y, width, height) on the picture."""
    screens = [t for t in tiles if t[1] == "screen"]
    cameras = [t for t in tiles if t[1] != "screen"]
    places: dict[tuple[int, str], tuple[int, int, int, int]] = {}
    if screens:
        side = _even(WIDTH / 4) if cameras else 0
        height = _even(HEIGHT / len(screens))
        for i, tile in enumerate(screens):
            places[tile] = (0, i * height, WIDTH - side, height)
        if cameras:
            camera_height = _even(min(HEIGHT / len(cameras), side * 3 / 4))
            for i, tile in enumerate(cameras):
                places[tile] = (WIDTH - side, i * camera_height, side, camera_height)
        return places
    columns = math.ceil(math.sqrt(len(cameras))) if cameras else 1
    rows = math.ceil(len(cameras) / columns) if cameras else 1
    width, height = _even(WIDTH / columns), _even(HEIGHT / rows)
    for i, tile in enumerate(cameras):
        places[tile] = ((i % columns) * width, (i // columns) * height, width, height)
    return places


def duration(file: Path) -> float:
    """Seconds of media in ``file`` (0 if unreadable)."""
    try:
        result = subprocess.run(
            [*PROBE, str(file)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return float(json.loads(result.stdout)["format"].get("duration") or 0)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        return 0.0


def compose(tracks: list[Track], path: Path) -> Path | None:
    """Compose ``tracks`` into ``path`` (WebM) and write ``<path>.json``; None when there
    is nothing to compose or ffmpeg is missing or fails."""
    tracks = [t for t in tracks if t.file.exists() and t.file.stat().st_size > 0]
    if not tracks:
        return None
    if shutil.which("ffmpeg") is None:
        logger.error("ffmpeg is missing: the recording %s cannot be composed", path)
        return None
    started = min(t.start for t in tracks)
    lengths = [duration(t.file) for t in tracks]
    total = max(t.start - started + length for t, length in zip(tracks, lengths, strict=True))
    if total <= 0:
        return None
    videos = [i for i, t in enumerate(tracks) if t.kind != "audio"]
    audios = [i for i, t in enumerate(tracks) if t.kind == "audio"]
    tiles = list(dict.fromkeys((tracks[i].owner, tracks[i].kind) for i in videos))
    places = layout(tiles)
    command = ["ffmpeg", "-nostdin", "-y", "-loglevel", "error"]
    for track in tracks:
        command += ["-i", str(track.file)]
    graph: list[str] = []
    maps: list[str] = []
    if videos:
        graph.append(f"color=c=black:s={WIDTH}x{HEIGHT}:r={FPS}:d={total:.3f}[base0]")
        for n, i in enumerate(videos):
            track = tracks[i]
            x, y, width, height = places[track.owner, track.kind]
            offset = track.start - started
            graph.append(
                f"[{i}:v]fps={FPS},scale={width}:{height}:force_original_aspect_ratio=decrease,"
                f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
                f"setpts=PTS-STARTPTS+{offset:.3f}/TB[tile{n}]"
            )
            graph.append(
                f"[base{n}][tile{n}]overlay=x={x}:y={y}:eof_action=pass:repeatlast=0[base{n + 1}]"
            )
        graph.append(f"[base{len(videos)}]format=yuv420p[picture]")
        maps += ["-map", "[picture]"]
    if audios:
        for n, i in enumerate(audios):
            delay = int((tracks[i].start - started) * 1000)
            graph.append(
                f"[{i}:a]aresample=48000,asetpts=PTS-STARTPTS,adelay={delay}:all=1[voice{n}]"
            )
        voices = "".join(f"[voice{n}]" for n in range(len(audios)))
        graph.append(f"{voices}amix=inputs={len(audios)}:duration=longest:normalize=0[mix]")
        maps += ["-map", "[mix]"]
    command += ["-filter_complex", ";".join(graph), *maps]
    if videos:
        command += ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1200k"]
    if audios:
        command += ["-c:a", "libopus", "-b:a", "64k"]
    command += ["-t", f"{total:.3f}", "-f", "webm", str(path)]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=max(600, total * 4))
    except subprocess.CalledProcessError as exc:
        logger.error("could not compose %s: %s", path, exc.stderr.decode(errors="replace")[-2000:])
        return None
    except (OSError, subprocess.SubprocessError):
        logger.exception("could not compose %s", path)
        return None
    if not path.exists() or path.stat().st_size == 0:
        return None
    write_start(path, started)
    return path


def write_start(path: Path, started: float) -> None:
    """``<path>.json``: when the recording's time 0 was (Unix time)."""
    Path(f"{path}.json").write_text(json.dumps({"started_at": started}))


def read_start(path: Path) -> float | None:
    """The start written by ``write_start`` (and the side file removed), or None."""
    side = Path(f"{path}.json")
    try:
        started = float(json.loads(side.read_text())["started_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    side.unlink(missing_ok=True)
    return started
