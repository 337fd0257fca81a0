"""The audit page for administrators, and its CSV export."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from hub import audit
from hub.audit.selectors import FILTERS, action_names, can_read_audit, entries_filtered

CSV_COLUMNS = (
    "at",
    "action",
    "actor",
    "target_type",
    "target_id",
    "target",
    "space",
    "ip",
    "user_agent",
    "details",
)


def _guard(request: HttpRequest) -> None:
    if not can_read_audit(user=request.user):
        raise PermissionDenied


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    _guard(request)
    entries = entries_filtered(params=request.GET)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/log.html",
        {
            "page": page,
            "filters": {name: request.GET.get(name, "") for name in FILTERS},
            "actions": action_names(),
            "query": query.urlencode(),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_value(value: str) -> str:
    # A cell a spreadsheet would run as a formula is written as text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@login_required
@require_POST
def audit_csv(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV. A POST (the page's "Download CSV" form, with its filters):
    the export is itself recorded, and a GET writes nothing."""
    _guard(request)
    entries = entries_filtered(params=request.POST)
    audit.record(
        action="audit.exported",
        request=request,
        details={k: v for k, v in request.POST.items() if k in FILTERS and v},
    )
    writer = csv.writer(_Echo())

    def rows():  # type: ignore[no-untyped-def]
        import json

        yield writer.writerow(CSV_COLUMNS)
        for e in entries.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    e.at.isoformat(),
                    e.action,
                    _csv_value(e.actor_label),
                    e.target_type,
                    e.target_id,
                    _csv_value(e.target_label),
                    _csv_value(e.space.name if e.space else ""),
                    e.ip or "",
                    _csv_value(e.user_agent),
                    json.dumps(e.details, ensure_ascii=False) if e.details else "",
                ]
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
