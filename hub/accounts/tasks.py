"""Background jobs of accounts (django-tasks)."""

from __future__ import annotations

from django_tasks import task


@task()
def build_data_export(export_id: int) -> str:
    """Build a person's data export (hub.accounts.privacy.export_build)."""
    from hub.accounts.privacy import export_build

    return export_build(export_id=export_id).status
