"""Passkey endpoints: JSON for the browser's navigator.credentials calls
(frontend/static/accounts/passkeys.js), a form post for removal."""

from __future__ import annotations

import json
import time
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hub.accounts import lockout
from hub.accounts.identity_views import MFA_OK_KEY, PENDING_KEY, PENDING_SECONDS
from hub.accounts.models import User
from hub.passkeys import services
from hub.passkeys.models import Passkey

MAX_BODY = 64 * 1024


def _error(message: str, status: int = 400, code: str = "invalid") -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


def _body(request: HttpRequest) -> dict[str, Any] | None:
    if len(request.body) > MAX_BODY:
        return None
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


# -- "Security and data" ---------------------------------------------------------------------
@login_required
@require_POST
def register_options(request: HttpRequest) -> JsonResponse:
    return JsonResponse(services.registration_options(request=request, user=request.user))


@login_required
@require_POST
def register(request: HttpRequest) -> JsonResponse:
    data = _body(request)
    if data is None or not isinstance(data.get("credential"), dict):
        return _error(_("Send the passkey as JSON."))
    try:
        passkey = services.registration_finish(
            request=request,
            user=request.user,
            name=str(data.get("name") or ""),
            credential=data["credential"],
        )
    except ValidationError as exc:
        return _error(exc.messages[0])
    request.session[MFA_OK_KEY] = True
    messages.success(request, _("Passkey “%(name)s” added.") % {"name": passkey.name})
    return JsonResponse({"id": passkey.pk, "name": passkey.name}, status=201)


@login_required
@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.passkey_remove(
            actor=request.user, user=request.user, passkey_id=pk, request=request
        )
    except Passkey.DoesNotExist:
        messages.error(request, _("No such passkey."))
        return redirect(reverse("security") + "#passkeys")
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("Passkey removed."))
    return redirect(reverse("security") + "#passkeys")


# -- the login's second step -----------------------------------------------------------------
def _pending_user(request: HttpRequest) -> tuple[User | None, dict | None]:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, None
    user = get_user_model().objects.filter(pk=pending["uid"], is_active=True).first()
    return user, pending


@require_POST
def login_options(request: HttpRequest) -> JsonResponse:
    user, _pending = _pending_user(request)
    if user is None:
        return _error(_("Log in again: the second step took too long."), 401, "login_again")
    if not services.has_passkey(user=user):
        return _error(_("You have no passkey."), 400, "no_passkey")
    return JsonResponse(services.authentication_options(request=request, user=user))


@require_POST
def login_finish(request: HttpRequest) -> JsonResponse:
    user, pending = _pending_user(request)
    if user is None or pending is None:
        return _error(_("Log in again: the second step took too long."), 401, "login_again")
    locked = lockout.check(request, user.username)
    if locked is not None:
        return _error(locked.message, 429, "locked")
    data = _body(request)
    if data is None or not isinstance(data.get("credential"), dict):
        return _error(_("Send the passkey as JSON."))
    try:
        services.authentication_finish(request=request, user=user, credential=data["credential"])
    except ValidationError as exc:
        locked = lockout.record_failure(request, user.username)
        return _error(locked.message if locked else exc.messages[0])
    del request.session[PENDING_KEY]
    login(request, user, backend=pending["backend"])
    request.session[MFA_OK_KEY] = True
    target = pending.get("next") or reverse("dashboard")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = reverse("dashboard")
    return JsonResponse({"redirect": target})
