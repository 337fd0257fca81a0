"""The integrations page of a space (admins and the space's coordinators): webhook
subscriptions, their secrets, the delivery log with replay. Form posts call the services."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from rest_framework.exceptions import Throttled

from hub.accounts.models import Space
from hub.csp import csp_override
from integrations import selectors, services
from integrations.forms import EndpointForm
from integrations.models import WebhookDelivery, WebhookEndpoint


def _space(request: HttpRequest, space_id: int) -> Space:
    space = get_object_or_404(Space, pk=space_id)
    if not selectors.can_manage_integrations(user=request.user, space_id=space.pk):
        raise Http404
    return space


def _attempt(request: HttpRequest, action: Callable[[], Any], success: str) -> Any:
    try:
        result = action()
    except (PermissionDenied, ValidationError, Throttled) as exc:
        # Throttled: a service's own rate limit (hub.api.RateLimited), said on the page.
        if isinstance(exc, ValidationError):
            text = " ".join(exc.messages)
        else:
            text = str(getattr(exc, "detail", exc))
        messages.error(request, text or _("You are not allowed to do this."))
        return None
    messages.success(request, success)
    return result


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    spaces = list(selectors.managed_spaces(user=request.user))
    if not spaces:
        raise Http404
    if len(spaces) == 1:
        return redirect("integrations-webhooks", spaces[0].pk)
    return render(request, "integrations/index.html", {"spaces": spaces})


@login_required
def webhooks(request: HttpRequest, space_id: int) -> HttpResponse:
    space = _space(request, space_id)
    form = EndpointForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            endpoint = _attempt(
                request,
                lambda: services.endpoint_create(
                    actor=request.user,
                    space=space,
                    url=form.cleaned_data["url"],
                    event_types=form.cleaned_data["event_types"],
                    description=form.cleaned_data["description"],
                ),
                _("Subscription added. Copy its signing secret for the receiver."),
            )
            if endpoint is not None:
                return redirect("integrations-webhooks", space.pk)
    elif request.method != "GET":
        return HttpResponse(status=405)
    return render(
        request,
        "integrations/webhooks.html",
        {
            "space": space,
            "form": form,
            "endpoints": selectors.endpoints_of(space_id=space.pk),
            "deliveries": selectors.deliveries_of(space_id=space.pk),
        },
    )


def _endpoint(request: HttpRequest, pk: int) -> WebhookEndpoint:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    _space(request, endpoint.space_id)
    return endpoint


@login_required
@require_POST
def endpoint_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    endpoint = _endpoint(request, pk)
    user = request.user
    actions: dict[str, tuple[Callable[[], Any], str]] = {
        "pause": (
            lambda: services.endpoint_set_active(actor=user, endpoint=endpoint, active=False),
            _("Subscription paused."),
        ),
        "resume": (
            lambda: services.endpoint_set_active(actor=user, endpoint=endpoint, active=True),
            _("Subscription resumed."),
        ),
        "rotate": (
            lambda: services.endpoint_rotate_secret(actor=user, endpoint=endpoint),
            _("New signing secret made: update the receiver."),
        ),
        "delete": (
            lambda: services.endpoint_delete(actor=user, endpoint=endpoint),
            _("Subscription deleted."),
        ),
    }
    if action not in actions:
        raise Http404
    call, text = actions[action]
    _attempt(request, call, text)
    return redirect("integrations-webhooks", endpoint.space_id)


@login_required
@require_POST
def delivery_replay(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)
    _space(request, delivery.endpoint.space_id)
    _attempt(
        request,
        lambda: services.delivery_replay(actor=request.user, delivery=delivery),
        _("The message is being sent again."),
    )
    return redirect("integrations-webhooks", delivery.endpoint.space_id)


# -- packages: the player, the sandboxed content, the trainer's report ----------------------
def _package_activity(request: HttpRequest, pk: int) -> Any:
    from classrooms import selectors as classroom_selectors
    from classrooms.models import Activity, ActivityKind

    activity = get_object_or_404(
        Activity.objects.select_related("course"), pk=pk, kind=ActivityKind.PACKAGE
    )
    if not classroom_selectors.can_view_content(user=request.user, course=activity.course):
        raise Http404
    return activity


# The package's own policy: it runs in a sandbox without allow-same-origin, i.e. in an
# opaque origin: no cookie of ours, no storage of ours, no access to the player page, and
# every request it makes to /api/ is cross-origin and carries no session. Inside, authoring
# tools' inline scripts and eval are allowed (they are common in published packages).
PACKAGE_CSP = (
    "sandbox allow-scripts allow-forms allow-popups; "
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "media-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "frame-src 'self'; frame-ancestors 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'"
)

# Served types by extension; anything else is a download-only octet stream (nosniff).
PACKAGE_TYPES = {
    "html": "text/html; charset=utf-8",
    "htm": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "mjs": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "json": "application/json",
    "xml": "application/xml",
    "xsd": "application/xml",
    "txt": "text/plain; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "ico": "image/x-icon",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "vtt": "text/vtt",
    "woff": "font/woff",
    "woff2": "font/woff2",
    "ttf": "font/ttf",
    "otf": "font/otf",
    "pdf": "application/pdf",
}
RUNTIME_PREFIX = "__lyceum__/"
RUNTIME_FILES = {
    "__lyceum__/cross-frame-api.min.js": "integrations/vendor/cross-frame-api.min.js",
    "__lyceum__/bridge.js": "integrations/package-bridge.js",
}


def _package_headers(response: HttpResponse) -> HttpResponse:
    response["Content-Security-Policy"] = PACKAGE_CSP
    response["X-Content-Type-Options"] = "nosniff"
    # The token in the path must not leave in a Referer to wherever the package links.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, max-age=300"
    # The package's own scripts (opaque origin) may read its files; nothing else is here.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _inject_bridge(html: bytes, *, kind: str, origin: str, base: str, seed: Any) -> bytes:
    """Put the runtime bridge first in the launch document: its API object must exist
    before the content's own scripts look for it."""
    import re
    from html import escape

    tags = (
        f'<script src="{escape(base)}{RUNTIME_PREFIX}cross-frame-api.min.js"></script>'
        f'<script src="{escape(base)}{RUNTIME_PREFIX}bridge.js" data-kind="{escape(kind)}"'
        f' data-origin="{escape(origin)}" data-seed="{escape(json.dumps(seed))}"></script>'
    ).encode()
    match = re.search(rb"<head[^>]*>", html, re.IGNORECASE)
    if match:
        return html[: match.end()] + tags + html[match.end() :]
    match = re.search(rb"<html[^>]*>", html, re.IGNORECASE)
    if match:
        return html[: match.end()] + tags + html[match.end() :]
    return tags + html


@require_GET
def package_content(request: HttpRequest, token: str, path: str = "") -> HttpResponse:
    """A file of a package, for the attempt the token names (its learner still enrolled).

    No directory listing, no path outside the package (404), types from a fixed list,
    the sandboxing policy on every answer. The launch document gets the runtime bridge."""
    from django.contrib.staticfiles import finders
    from django.http import FileResponse

    from integrations import scorm
    from integrations.packages import package_root, safe_name

    attempt = scorm.attempt_for_token(token)
    if attempt is None or not path or not safe_name(path) or path.endswith("/"):
        raise Http404
    if path in RUNTIME_FILES:
        found = finders.find(RUNTIME_FILES[path])
        if not found:
            raise Http404
        response = FileResponse(open(found, "rb"), content_type=PACKAGE_TYPES["js"])  # noqa: SIM115 (closed by the response)
        return _frameable(_package_headers(response))
    if path.startswith(RUNTIME_PREFIX):
        raise Http404
    root = (package_root() / attempt.unit.package.folder).resolve()
    file = (root / path).resolve()
    if root not in file.parents or not file.is_file():
        raise Http404
    extension = file.suffix.lower().lstrip(".")
    content_type = PACKAGE_TYPES.get(extension, "application/octet-stream")
    if (
        path == attempt.unit.href
        and content_type.startswith("text/html")
        and attempt.unit.package.kind != "cmi5"  # an AU talks xAPI, not a SCORM runtime
    ):
        origin = f"{request.scheme}://{request.get_host()}"
        base = reverse("package-content-root", args=[token])  # the launch file may be deep
        body = _inject_bridge(
            file.read_bytes(),
            kind=attempt.unit.package.kind,
            origin=origin,
            base=base,
            seed=(attempt.launch_data or {}).get("seed", {}),
        )
        response = HttpResponse(body, content_type=content_type)
        _package_headers(response)
        # The launch document carries this launch's CMI seed: never from a cache (a copy
        # of an earlier launch would start the SCO from that launch's state).
        response["Cache-Control"] = "no-store"
        return _frameable(response)
    response = FileResponse(open(file, "rb"), content_type=content_type)  # noqa: SIM115
    if content_type == "application/octet-stream":
        response["Content-Disposition"] = "attachment"
    return _frameable(_package_headers(response))


def _frameable(response: HttpResponse) -> HttpResponse:
    """Only Lyceum's own player may frame package content."""
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response


@login_required
@require_GET
@csp_override({**settings.SECURE_CSP, "frame-src": ["'self'"]})  # it frames the package
def package_player(request: HttpRequest, pk: int) -> HttpResponse:
    """The player: the package's units, and the sandboxed frame the runtime talks to."""
    from classrooms import selectors as classroom_selectors
    from integrations import scorm

    activity = _package_activity(request, pk)
    package = scorm.current_package(activity)
    if package is None:
        raise Http404
    enrolment = classroom_selectors.enrolment_of(user=request.user, course=activity.course)
    units = scorm.units_with_status(user=request.user, package=package)
    chosen = next((u for u in units if str(u["unit"].pk) == request.GET.get("unit")), None)
    if chosen is None:
        chosen = next((u for u in units if not u["done"]), units[0])
    here = units.index(chosen)
    return render(
        request,
        "integrations/package_player.html",
        {
            "activity": activity,
            "course": activity.course,
            "package": package,
            "units": units,
            "chosen": chosen["unit"],
            "previous_unit": units[here - 1]["unit"] if here > 0 else None,
            "next_unit": units[here + 1]["unit"] if here + 1 < len(units) else None,
            "enrolment": enrolment,
            "can_edit": classroom_selectors.can_edit_course(
                user=request.user, course=activity.course
            ),
        },
    )


def _report_activity(request: HttpRequest, pk: int) -> Any:
    from classrooms import selectors as classroom_selectors

    activity = _package_activity(request, pk)
    if not classroom_selectors.can_edit_course(user=request.user, course=activity.course):
        raise PermissionDenied
    return activity


@login_required
@require_GET
def package_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Interactions per question: counts per answer and the share answered correctly."""
    from integrations import scorm

    activity = _report_activity(request, pk)
    report = scorm.interactions_report(activity=activity)
    return render(
        request,
        "integrations/package_report.html",
        {"activity": activity, "course": activity.course, "report": report},
    )


@login_required
@require_GET
def package_report_csv(request: HttpRequest, pk: int) -> HttpResponse:
    from integrations import scorm

    activity = _report_activity(request, pk)
    response = HttpResponse(
        scorm.interactions_csv(scorm.interactions_report(activity=activity)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="package-{activity.pk}-report.csv"'
    return response
