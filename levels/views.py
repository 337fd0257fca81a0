from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hub.accounts.selectors import spaces_of
from levels import selectors, services


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    space = spaces_of(user=request.user).first()
    if space is None:
        raise Http404
    return render(
        request,
        "levels/me.html",
        {
            "space": space,
            "progress": selectors.progress_payload(
                viewer=request.user, person=request.user, space_id=space.pk
            ),
            "levels": selectors.levels_of(space_id=space.pk),
        },
    )


@login_required
@require_POST
def display(request: HttpRequest) -> HttpResponse:
    services.display_set(
        user=request.user,
        show_level=request.POST.get("show_level") == "on",
        show_streak=request.POST.get("show_streak") == "on",
    )
    return redirect("levels-me")
