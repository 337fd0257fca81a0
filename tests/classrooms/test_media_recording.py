"""Recording a live class: the trainer turns it on and off, a file is attached to the class.

Through the real path: the room service emits ``classrooms.liveclass_recording``, the media
side records the trainer's relayed audio and video with ``MediaRecorder`` and, when it is
turned off, ``liveclass_attach_recording`` stores the file on ``LiveClass.recording``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import av
import pytest
from channels.db import database_sync_to_async

from bench.liveclass_peers import CounterVideoTrack, Peer, ToneAudioTrack, wait_until
from classrooms import services
from classrooms.media import media_backend, reset_media_backend
from classrooms.models import LiveClass

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def relay(settings, tmp_path: Path):
    settings.MEDIA_ROOT = tmp_path / "media"
    reset_media_backend()
    yield
    backend = media_backend()
    for room in list(getattr(backend, "rooms", {})):
        await backend.close_room(room=room)
    reset_media_backend()


def acter(ws: Any, topic: str):
    async def act(action: str, data: dict[str, Any]) -> dict[str, Any]:
        reply = await ws.call("act", topic=topic, action=action, data=data, timeout=15)
        assert reply["op"] == "ok", reply
        return reply["data"]

    return act


@database_sync_to_async
def started_class(trainer, space, learner) -> LiveClass:
    live_class = services.liveclass_create(actor=trainer, space=space, title="Recorded")
    services.liveclass_start(actor=trainer, live_class=live_class)
    for user in (trainer, learner):
        services.liveclass_join(user=user, live_class=live_class)
    return live_class


set_recording = database_sync_to_async(services.liveclass_set_recording)


@database_sync_to_async
def attached(live_class: LiveClass) -> str | None:
    live_class.refresh_from_db()
    return live_class.recording.path if live_class.recording else None


async def poll_attached(live_class: LiveClass, within: float = 15) -> str | None:
    """The recording's path once it is attached (the media side finishes it off-thread)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if path := await attached(live_class):
            return path
        await asyncio.sleep(0.1)
    return None


async def test_turning_recording_on_then_off_attaches_a_video_file(
    communicator_for, relay, trainer, learner, space
) -> None:
    live_class = await started_class(trainer, space, learner)
    ws = await communicator_for(trainer)
    peer = Peer(acter(ws, live_class.topic))
    try:
        await peer.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        await set_recording(actor=trainer, live_class=live_class, on=True)
        room = media_backend().rooms[str(live_class.pk)]
        await wait_until(
            lambda: room.recording is not None and room.recording.recorder is not None,
            timeout=10,
            what="the recording to start",
        )
        frames = room.recording.recorder.frames
        await wait_until(
            lambda: frames["video"] >= 30, timeout=20, what="video reaching the recorder"
        )
        await set_recording(actor=trainer, live_class=live_class, on=False)
        path = await poll_attached(live_class)
    finally:
        await peer.close()
    assert path, "no recording attached to the class"
    assert await asyncio.to_thread(lambda: Path(path).stat().st_size) > 0
    with av.open(path) as container:
        assert container.streams.video and container.streams.audio
        assert sum(1 for packet in container.demux(video=0) if packet.size) >= 5


async def test_ending_the_class_attaches_a_running_recording(
    communicator_for, relay, trainer, learner, space
) -> None:
    live_class = await started_class(trainer, space, learner)
    ws = await communicator_for(trainer)
    peer = Peer(acter(ws, live_class.topic))
    try:
        await set_recording(actor=trainer, live_class=live_class, on=True)
        # Turned on before the trainer publishes: the publication starts it.
        await peer.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        room = media_backend().rooms[str(live_class.pk)]
        await wait_until(
            lambda: room.recording is not None and room.recording.recorder is not None,
            timeout=10,
            what="the recording to start",
        )
        frames = room.recording.recorder.frames
        await wait_until(
            lambda: frames["video"] >= 15, timeout=20, what="video reaching the recorder"
        )
        await database_sync_to_async(services.liveclass_end)(actor=trainer, live_class=live_class)
        path = await poll_attached(live_class)
    finally:
        await peer.close()
    assert path and await asyncio.to_thread(lambda: Path(path).stat().st_size) > 0
    assert media_backend().publications(room=str(live_class.pk)) == []
