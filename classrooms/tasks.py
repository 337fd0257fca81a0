"""Background jobs of classrooms."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django_tasks import task

from classrooms import services


@task()
def expire_recordings() -> int:
    """Delete class recordings older than ``LYCEUM_RECORDING_RETENTION_DAYS`` (idempotent)."""
    return services.recordings_expire()


@task()
def compose_recording(live_class_id: int, folder: str, path: str) -> bool:
    """Compose a class's Janus recording (``janus-pp-rec`` + ffmpeg, classrooms.composer)
    and attach it to the class (the room and the playback page hear ``recording.saved``).
    False when nothing usable was recorded."""
    from classrooms.composer import read_start
    from classrooms.janus import compose_recording as compose
    from classrooms.models import LiveClass

    composed = compose(Path(folder), Path(path))
    live_class = LiveClass.objects.filter(pk=live_class_id).first()
    if live_class is None:
        if composed is not None:
            composed.unlink(missing_ok=True)
        return False
    with transaction.atomic():
        if composed is None:
            services.liveclass_composition_failed(live_class=live_class)
            return False
        services.liveclass_attach_recording(
            live_class=live_class, path=composed, started_at=read_start(composed)
        )
    return True
