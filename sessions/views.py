"""Pages of sessions: the list and a session's page with register / cancel (form posts
calling the same services as REST). Live seats come from static/sessions/session.js."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sessions import selectors, services
from sessions.models import Session


def _session(request: HttpRequest, pk: int) -> Session:
    session = Session.objects.select_related("space", "course").filter(pk=pk).first()
    if session is None or not selectors.can_view_session(user=request.user, session=session):
        raise Http404
    return session


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    sessions = selectors.sessions_for(user=request.user).filter(
        ends_at__gte=timezone.now() - timezone.timedelta(days=1)
    )
    rows = [(s, selectors.seats_state(session=s)) for s in sessions[:200]]
    return render(request, "sessions/list.html", {"rows": rows})


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(request, pk)
    payload = selectors.session_payload(session, user=request.user)
    manages = selectors.can_manage_session(user=request.user, session=session)
    registrations = (
        session.registrations.select_related("user").order_by("status", "position", "created_at")
        if manages
        else []
    )
    last_event = session.events.order_by("-id").values_list("id", flat=True).first() or 0
    return render(
        request,
        "sessions/detail.html",
        {
            "session": session,
            "payload": payload,
            "mine": payload["my_registration"],
            "manages": manages,
            "registrations": registrations,
            "initial": {"session": payload, "last_event": last_event, "user": request.user.pk},
        },
    )


@login_required
@require_POST
def session_register(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(request, pk)
    try:
        reg = services.registration_register(actor=request.user, session=session)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        if reg.status == "waitlisted":
            messages.info(request, _("You are on the waiting list, position %s.") % reg.position)
        elif reg.status == "pending":
            messages.info(request, _("Your registration awaits approval."))
        else:
            messages.success(request, _("You are registered."))
    return redirect("session-detail", pk=pk)


@login_required
@require_POST
def session_cancel_mine(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(request, pk)
    reg = selectors.active_registration(session=session, user=request.user)
    if reg is None:
        raise Http404
    try:
        services.registration_cancel(actor=request.user, registration=reg)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("Your registration is cancelled."))
    return redirect("session-detail", pk=pk)
