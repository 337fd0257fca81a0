"""The shell's own pages: the dashboard per role (later issues add their panels)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static

from hub.accounts.models import Role
from hub.announcements.selectors import announcements_for


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    panels = [
        role
        for role in (Role.LEARNER, Role.TRAINER, Role.COORDINATOR, Role.MANAGER, Role.ADMIN)
        if user.has_role(role)
    ]
    return render(
        request,
        "frontend/dashboard.html",
        {"panels": panels, "announcements": announcements_for(user=user)[:5]},
    )


def manifest(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "name": "Lyceum",
            "short_name": "Lyceum",
            "start_url": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#1f5f8b",
            "icons": [{"src": static("img/lyceum.svg"), "sizes": "any", "type": "image/svg+xml"}],
        }
    )
