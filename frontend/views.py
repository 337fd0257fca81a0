"""The shell's own pages: the dashboard per role (later issues add their panels)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from frontend.templatetags.brand import brand_color, brand_ink, brand_ink_dark, on_brand
from hub import notify
from hub.accounts.models import Role
from hub.announcements.selectors import announcements_for

PANEL_ROLES = (Role.LEARNER, Role.TRAINER, Role.COORDINATOR, Role.MANAGER, Role.ADMIN)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """One panel per role the person holds, after the latest announcements."""
    user = request.user
    panels = [role.value for role in PANEL_ROLES if user.has_role(role)]
    return render(
        request,
        "frontend/dashboard.html",
        {"panels": panels, "announcements": announcements_for(user=user)[:5]},
    )


@login_required
def style_guide(request: HttpRequest) -> HttpResponse:
    """Every component of the design system on one page, for staff (docs/INTERFACE.md)."""
    user = request.user
    if not (user.is_staff or user.has_role(Role.ADMIN)):
        raise PermissionDenied
    from django.utils import timezone

    from frontend.templatetags.ui import AVATAR_COLOURS
    from frontend.vendor_icons import used_icons

    now = timezone.now()
    return render(
        request,
        "frontend/style_guide.html",
        {
            "icons": used_icons(),
            "colours": [
                "--brand",
                "--on-brand",
                "--brand-ink",
                "--bg",
                "--surface",
                "--surface-2",
                "--text",
                "--text-muted",
                "--border",
                "--control",
                "--danger",
                "--ok",
                "--warn",
            ],
            "avatar_colours": AVATAR_COLOURS,
            "sample_people": [
                SimpleNamespace(pk=pk, name=name, avatar=None)
                for pk, name in ((1, "Lina Martin"), (2, "Omar"), (3, "Zoé Dubois-Laurent"))
            ],
            "now": now,
            "in_two_hours": now + timedelta(hours=2),
            "rows": [
                {"name": "Workplace safety", "learners": 24, "done": 18, "late": 2},
                {"name": "First aid", "learners": 12, "done": 3, "late": 5},
                {"name": "Customer care", "learners": 31, "done": 30, "late": 0},
            ],
            "zones": ["Europe/Paris", "America/New_York"],
        },
    )


@login_required
@require_POST
def notification_mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Form fallback of ``POST /api/v1/notifications/mark-read/`` for one notification."""
    if not notify.notifications_for(user=request.user).filter(pk=pk).exists():
        raise Http404
    notify.notifications_mark_read(user=request.user, ids=[pk])
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, {request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("notifications")
    return redirect(target)


def manifest(request: HttpRequest) -> JsonResponse:
    """The PWA manifest."""
    return JsonResponse(
        {
            "name": "Lyceum",
            "short_name": "Lyceum",
            "start_url": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#1f5f8b",
            "icons": [{"src": static("img/lyceum.svg"), "sizes": "any", "type": "image/svg+xml"}],
        },
        content_type="application/manifest+json",
    )


@require_GET
@cache_control(public=True, max_age=365 * 24 * 3600, immutable=True)
def brand_css(request: HttpRequest, color: str) -> HttpResponse:
    """A space's colours as CSS custom properties (``/brand/1f5f8b.css``).

    A stylesheet rather than an inline ``<style>``, so the page's CSP keeps ``style-src
    'self'``. It depends on the colour in its address only, so it is cached for good.
    """
    value = brand_color("#" + color)
    css = (
        f":root {{ --brand: {value}; --on-brand: {on_brand(value)}; "
        f"--brand-ink: {brand_ink(value)}; }}\n"
        "@media (prefers-color-scheme: dark) "
        f"{{ :root {{ --brand-ink: {brand_ink_dark(value)}; }} }}\n"
    )
    return HttpResponse(css, content_type="text/css; charset=utf-8")
