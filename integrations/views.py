"""The integrations page of a space (admins and the space's coordinators): webhook
subscriptions, their secrets, the delivery log with replay. Form posts call the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from hub.accounts.models import Space
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
    except (PermissionDenied, ValidationError) as exc:
        text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
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
