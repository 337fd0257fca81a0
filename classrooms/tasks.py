"""Background jobs of classrooms."""

from __future__ import annotations

from django_tasks import task

from classrooms import services


@task()
def expire_recordings() -> int:
    """Delete class recordings older than ``LYCEUM_RECORDING_RETENTION_DAYS`` (idempotent)."""
    return services.recordings_expire()
