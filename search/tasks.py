"""Background jobs of search: the catch-up that indexes new rows of busy sources in bulk."""

from __future__ import annotations

from django_tasks import task


@task()
def search_catch_up_job(source_key: str) -> int:
    """Index the recent rows of ``source_key`` that have no document yet."""
    from django.core.cache import cache

    from search import indexing, registry

    cache.delete(indexing.catch_up_key(source_key))  # rows committed from now: another job
    source = registry.get(source_key)
    return indexing.catch_up(source) if source is not None else 0
