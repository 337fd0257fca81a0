"""Keeping the documents current: the write hooks of every source, re-indexing, rebuild.

A row's document is written in the same transaction as the row (save/delete hooks), or
right after it commits (domain events), and the database's own triggers update the
full-text index from the document (search/fulltext.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from hub import events
from hub.coalesce import CoalescedJob
from search import fulltext, registry
from search.models import SearchDocument
from search.registry import Document, SearchSource

logger = logging.getLogger(__name__)

MAX_BODY = 100_000  # characters indexed per row (a tsvector holds at most 1 MB)
_MARKS = str.maketrans("", "", fulltext.MARK_START + fulltext.MARK_END)


def _clean(text: str, limit: int) -> str:
    return (text or "").translate(_MARKS)[:limit]


def _config(space_id: int | None) -> str:
    chosen = getattr(settings, "LYCEUM_SEARCH", {}).get("SPACE_CONFIGS", {})
    if not chosen or space_id is None:
        return "simple"
    from hub.accounts.models import Space

    slug = Space.objects.filter(pk=space_id).values_list("slug", flat=True).first()
    return chosen.get(slug, "simple")


def _fields(doc: Document) -> dict[str, Any]:
    return {
        "space_id": doc.space_id,
        "container_id": doc.container_id,
        "author_id": doc.author_id,
        "created_at": doc.created_at,
        "has_attachment": doc.has_attachment,
        "title": _clean(doc.title, 300),
        "body": _clean(doc.body, MAX_BODY),
        "label": _clean(doc.label, 300),
        "config": _config(doc.space_id),
    }


def reindex(source: SearchSource, ids: Iterable[int]) -> None:
    """Bring the documents of these rows up to date (write, rewrite or remove)."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return
    rows = {row.pk: row for row in source.rows().filter(pk__in=ids)}
    with transaction.atomic():
        for pk in ids:
            row = rows.get(pk)
            doc = source.document(row) if row is not None else None
            if doc is None:
                SearchDocument.objects.filter(source=source.key, object_id=pk).delete()
            else:
                SearchDocument.objects.update_or_create(
                    source=source.key, object_id=pk, defaults=_fields(doc)
                )


def _write(source: SearchSource, rows: Iterable[Any]) -> int:
    """Write (insert or replace) the documents of ``rows`` in one statement."""
    documents = []
    for row in rows:
        doc = source.document(row)
        if doc is not None:
            documents.append(SearchDocument(source=source.key, object_id=row.pk, **_fields(doc)))
    SearchDocument.objects.bulk_create(
        documents,
        update_conflicts=True,
        unique_fields=["source", "object_id"],
        update_fields=[name for name in _FIELDS if name != "config"] + ["config"],
    )
    return len(documents)


_FIELDS = (
    "space_id",
    "container_id",
    "author_id",
    "created_at",
    "has_attachment",
    "title",
    "body",
    "label",
    "config",
)
# How far back a catch-up looks: each run anti-joins that window's rows against their
# documents, so at 200 messages/s an hour (720,000 rows) a second was far too much. A worker
# down for longer than this leaves new rows unfound until `manage.py search_rebuild`.
CATCH_UP_WINDOW = timedelta(minutes=10)
# One catch-up per source per ``CATCH_UP_SECONDS``, across processes.
catch_up_jobs = CoalescedJob("search catch-ups")


def catch_up_key(source_key: str) -> str:
    """Set while a catch-up of ``source_key`` is queued; its job removes it as it starts."""
    return f"search:catch-up:{source_key}"


def schedule_catch_up(source_key: str) -> None:
    """A new row of ``source_key`` committed: make sure a catch-up starts after it.

    One job per source and moment across processes, and no cache round trip for the rows
    committed while it waits (hub/coalesce.py): the cost of a chat message here is a
    dictionary look-up. ``LYCEUM_SEARCH["CATCH_UP_SECONDS"]`` (1 s) is the delay.
    """
    delay = float(getattr(settings, "LYCEUM_SEARCH", {}).get("CATCH_UP_SECONDS", 1.0))

    def enqueue() -> None:
        from search.tasks import search_catch_up_job

        run_after = timezone.now() + timedelta(seconds=delay)
        search_catch_up_job.using(run_after=run_after).enqueue(source_key)

    # Expires by itself if the job never ran (a worker down): the next row asks again.
    catch_up_jobs.ask(
        source_key,
        catch_up_key(source_key),
        delay=delay,
        enqueue=enqueue,
        timeout=max(5.0, 5 * delay),
    )


def catch_up(source: SearchSource) -> int:
    """Index, in bulk, the recent rows of ``source`` that have no document yet; returns how
    many. Rows deleted (or hidden) in the meantime give no document."""
    since = timezone.now() - CATCH_UP_WINDOW
    indexed = SearchDocument.objects.filter(source=source.key, created_at__gte=since)
    rows = source.rows().filter(created_at__gte=since).exclude(pk__in=indexed.values("object_id"))
    written = 0
    with transaction.atomic():
        batch: list[Any] = []
        for row in rows.iterator(chunk_size=1000):
            batch.append(row)
            if len(batch) >= 1000:
                written += _write(source, batch)
                batch = []
        written += _write(source, batch)
    return written


def rebuild(source: SearchSource, *, batch: int = 2000) -> int:
    """Recreate every document of ``source`` from its rows; returns how many were written."""
    written = 0
    with transaction.atomic():
        SearchDocument.objects.filter(source=source.key).delete()
        pending: list[SearchDocument] = []
        for row in source.rows().iterator(chunk_size=batch):
            doc = source.document(row)
            if doc is None:
                continue
            pending.append(SearchDocument(source=source.key, object_id=row.pk, **_fields(doc)))
            if len(pending) >= batch:
                SearchDocument.objects.bulk_create(pending)
                written += len(pending)
                pending = []
        SearchDocument.objects.bulk_create(pending)
        written += len(pending)
    return written


# -- hooks ----------------------------------------------------------------------------------
def _saved(source_key: str, rows_of: Any, sender: Any, instance: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):  # fixtures loading: the rebuild command indexes them
        return
    source = registry.get(source_key)
    if source is not None:
        reindex(source, rows_of(instance))


def _deleted(source_key: str, rows_of: Any, sender: Any, instance: Any, **kwargs: Any) -> None:
    source = registry.get(source_key)
    if source is None:
        return
    if sender is source.model:
        SearchDocument.objects.filter(source=source_key, object_id=instance.pk).delete()
    else:
        reindex(source, rows_of(instance))


def _created(source_key: str, object_id: int, **_payload: Any) -> None:
    schedule_catch_up(source_key)


def _event(source_key: str, object_id: int, **_payload: Any) -> None:
    source = registry.get(source_key)
    if source is not None:
        reindex(source, [object_id])


_handlers: dict[tuple[str, str], Any] = {}


def connect(source: SearchSource) -> None:
    """Connect the save/delete hooks and event handlers of ``source`` (idempotent)."""
    watched = {source.model: lambda row: [row.pk], **source.watch}
    for model, rows_of in watched.items():
        uid = f"search:{source.key}:{model._meta.label}"
        if source.save_hooks or model is not source.model:
            post_save.connect(
                partial(_saved, source.key, rows_of), sender=model, weak=False, dispatch_uid=uid
            )
        post_delete.connect(
            partial(_deleted, source.key, rows_of), sender=model, weak=False, dispatch_uid=uid
        )
    for name in source.events:
        handler = _handlers.setdefault((source.key, name), partial(_event, source.key))
        events.subscribe(name, handler)
    for name in source.created_events:
        handler = _handlers.setdefault((source.key, name), partial(_created, source.key))
        events.subscribe(name, handler)
