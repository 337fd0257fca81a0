"""Background jobs of the audit log."""

from __future__ import annotations

from django_tasks import task


@task()
def prune_audit_log() -> int:
    """Delete entries older than ``LYCEUM_AUDIT_RETENTION_DAYS`` (run daily: cron runs
    ``manage.py audit_prune`` or enqueues this job)."""
    from hub.audit.services import entries_prune

    return entries_prune()
