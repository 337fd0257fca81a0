"""One search document per searchable row (a message, a forum topic or post, a library
item, a course...): the text to match, and the columns the permission filters and the
search filters read. Derived data: ``manage.py search_rebuild`` recreates all of it.

The full-text index lives beside the table and is kept by the database itself on every
write of a document (search/fulltext.py): a ``tsvector`` column filled by a trigger, with
a GIN index, on PostgreSQL; an FTS5 virtual table synchronised by triggers on SQLite.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from hub.accounts.models import Space


class SearchDocument(models.Model):
    source = models.CharField(max_length=32)  # the registry key: "message", "post", ...
    object_id = models.PositiveBigIntegerField()
    space = models.ForeignKey(Space, on_delete=models.CASCADE, null=True, related_name="+")
    # What the row lives in, as the source defines it (a conversation, a forum, a course):
    # the permission filters of most sources read it rather than the row itself.
    container_id = models.PositiveBigIntegerField(null=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    has_attachment = models.BooleanField(default=False)
    title = models.CharField(max_length=300, blank=True)  # matched, ranked above the body
    body = models.TextField(blank=True)  # matched
    label = models.CharField(max_length=300, blank=True)  # shown only: "in <conversation>"
    # The PostgreSQL text search configuration of the row's space ('simple' by default).
    config = models.CharField(max_length=32, default="simple")
    # PostgreSQL only (filled by a trigger); the column exists, unused, on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        verbose_name = "search document"
        constraints = [
            models.UniqueConstraint(fields=["source", "object_id"], name="one_document_per_row")
        ]
        indexes = [
            # With created_at: a search narrowed to one conversation (forum, course) reads
            # its rows newest first and stops at the cap, not all of them then a sort.
            models.Index(
                fields=["source", "container_id", "-created_at"], name="search_doc_container_recent"
            ),
            models.Index(fields=["author", "created_at"], name="search_doc_author"),
            models.Index(fields=["created_at"], name="search_doc_created"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.object_id}"
