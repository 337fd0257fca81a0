"""Hub pages: health, notifications, notification settings; the error handlers."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from hub import notify, webpush
from hub.api import error_json
from hub.models import Delivery


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _check_channel_layer() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("health.")
    await layer.send(channel, {"type": "health.check"})
    message = await layer.receive(channel)
    assert message["type"] == "health.check"


@never_cache
async def healthz(request: HttpRequest) -> JsonResponse:
    """200 with every dependency ``ok``; 503 naming what is down."""
    report: dict[str, str] = {}
    try:
        await sync_to_async(_check_database)()
        report["database"] = "ok"
    except Exception as exc:
        report["database"] = f"down: {exc.__class__.__name__}"
    try:
        await asyncio.wait_for(_check_channel_layer(), timeout=3)
        report["channel_layer"] = "ok"
    except Exception as exc:
        report["channel_layer"] = f"down: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in report.values())
    return JsonResponse(report, status=200 if healthy else 503)


@login_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    page = Paginator(notify.notifications_for(user=request.user), 30).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "hub/notifications.html",
        {"page": page, "payloads": [notify.notification_payload(n) for n in page]},
    )


@login_required
@require_POST
def notifications_mark_all_read(request: HttpRequest) -> HttpResponse:
    notify.notifications_mark_read(user=request.user)
    return redirect("notifications")


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    """A grid of the kinds the person can receive (by their roles) x the channels: in the
    app, by e-mail (which comes with the in-app notice), pushed to their devices."""
    kinds = [k.code for k in notify.kinds_for(user=request.user)]
    if request.method == "POST":
        for kind in kinds:
            delivery = request.POST.get(f"kind-{kind}")  # the former select, still accepted
            if not delivery:
                if request.POST.get(f"email-{kind}") == "on":
                    delivery = Delivery.IN_APP_AND_EMAIL
                elif request.POST.get(f"inapp-{kind}") == "on":
                    delivery = Delivery.IN_APP
                else:
                    delivery = Delivery.OFF
            notify.preference_set(user=request.user, kind=kind, delivery=delivery)
            # Web Push (issue 21): the grid's third column.
            webpush.push_preference_set(
                user=request.user, kind=kind, enabled=request.POST.get(f"push-{kind}") == "on"
            )
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notification-settings")
    preferences = notify.preferences_for(user=request.user, applicable=True)
    pushed = webpush.push_choices_for(user=request.user)
    for pref in preferences:
        pref["push"] = pushed[pref["kind"]]
        pref["in_app"] = pref["delivery"] != Delivery.OFF
        pref["email"] = pref["delivery"] == Delivery.IN_APP_AND_EMAIL
    return render(request, "hub/notification_settings.html", {"preferences": preferences})


# -- error handlers (hub/urls.py): the API answers in its JSON format, pages as pages ------
def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refused before a view answered: a NUL character, a body over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413 under /api/), too many fields, a bad multipart."""
    if not _is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return error_json(413, _("The request body is too large."))
    return error_json(400, str(exception) or _("Bad request."))


def _error_page(request: HttpRequest, status: int, title: str, text: str) -> HttpResponse:
    """A 403/404 inside the shell, with a way back. If the shell itself cannot be drawn (the
    database is what failed), the plain page that needs nothing."""
    try:
        return render(
            request,
            "frontend/error.html",
            {"status": status, "title": title, "text": text},
            status=status,
        )
    except Exception:
        return _plain_error(status, title, text)


def _plain_error(status: int, title: str, text: str) -> HttpResponse:
    """The error page without the database, the session or context processors."""
    from django.template import loader
    from django.utils.html import escape

    try:
        html = loader.get_template("frontend/error_plain.html").render(
            {"status": status, "title": title, "text": text}
        )
    except Exception:  # even the template failed (a missing static manifest): bare HTML
        html = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>"
        html += f'<p>{escape(text)}</p><p><a href="/">Lyceum</a></p>'
    return HttpResponse(html, status=status)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return _error_page(
            request,
            403,
            _("You cannot open this page"),
            _("It belongs to a space, course or group you are not part of."),
        )
    return error_json(
        403, str(exception) or _("You do not have permission to perform this action.")
    )


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not _is_api(request):
        return _error_page(
            request,
            404,
            _("Page not found"),
            _("The address may be mistyped, or what it showed was removed."),
        )
    return error_json(404, _("Not found."))


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 answer; Django has logged the exception with its traceback already."""
    if not _is_api(request):
        return _plain_error(
            500,
            _("Something went wrong on our side"),
            _("The error has been logged. Please try again in a moment."),
        )
    return error_json(500, _("A server error occurred. It has been logged."))
