"""The CSV import pages: upload (dry run), preview with row-level errors, apply with a
live progress bar (``identity.import.<id>``)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from identity import imports
from identity.models import ImportJob
from identity.realtime import send_now
from identity.sso import check_can_manage


def _space(request: HttpRequest):
    space = getattr(request, "space", None)
    if space is None:
        raise PermissionDenied
    check_can_manage(request.user, space)
    return space


@login_required
@require_GET
def import_page(request: HttpRequest) -> HttpResponse:
    space = _space(request)
    jobs = ImportJob.objects.filter(space=space).select_related("created_by")[:10]
    return render(request, "identity/import.html", {"space": space, "jobs": jobs})


@login_required
@require_POST
def import_preview(request: HttpRequest) -> HttpResponse:
    space = _space(request)
    upload = request.FILES.get("file")
    if upload is None:
        return render(
            request,
            "identity/import.html",
            {"space": space, "file_error": "—", "jobs": []},
            status=400,
        )
    try:
        job = imports.job_preview(
            space=space,
            actor=request.user,
            raw=upload.read(imports.MAX_BYTES + 1),
            filename=upload.name or "",
            create_teams=request.POST.get("create_teams") == "on",
        )
    except imports.ImportFileError as exc:
        jobs = ImportJob.objects.filter(space=space)[:10]
        return render(
            request,
            "identity/import.html",
            {"space": space, "file_error": str(exc), "jobs": jobs},
            status=400,
        )
    return redirect("identity-import-job", pk=job.pk)


@login_required
@require_GET
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk, created_by=request.user)
    return render(request, "identity/import_job.html", {"job": job, "space": job.space})


@login_required
@require_POST
def import_apply(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ImportJob, pk=pk, created_by=request.user)
    topic = job.topic

    def progress(done: int, total: int) -> None:
        send_now(topic, "import.progress", {"done": done, "total": total})

    try:
        summary = imports.job_apply(job=job, actor=request.user, progress=progress)
    except ValidationError as exc:
        send_now(topic, "import.failed", {"message": exc.messages[0]})
        if request.headers.get("Accept", "").startswith("application/json"):
            return JsonResponse(
                {"error": {"code": "invalid", "message": exc.messages[0]}}, status=400
            )
        return redirect("identity-import-job", pk=job.pk)
    send_now(topic, "import.finished", summary)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse(summary)
    return redirect("identity-import-job", pk=job.pk)


urlpatterns = [
    path("identity/import/", import_page, name="identity-import"),
    path("identity/import/preview/", import_preview, name="identity-import-preview"),
    path("identity/import/<int:pk>/", import_job, name="identity-import-job"),
    path("identity/import/<int:pk>/apply/", import_apply, name="identity-import-apply"),
]
