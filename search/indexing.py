"""Keeping the documents current: the write hooks of every source, re-indexing, rebuild.

A row's document is written in the same transaction as the row (save/delete hooks), or
right after it commits (domain events), and the database's own triggers update the
full-text index from the document (search/fulltext.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from hub import events
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
