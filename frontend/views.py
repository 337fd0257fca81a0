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
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from frontend import home
from frontend.templatetags.brand import brand_color, brand_ink, brand_ink_dark, on_brand
from hub import notify
from hub.accounts.models import Role
from hub.announcements.selectors import announcements_for


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The home page: one section per role the person holds (``frontend/home.py``), then
    the latest announcements."""
    user = request.user
    sections = [(name, home.BUILDERS[name](request)) for name in home.sections_of(user)]
    return render(
        request,
        "frontend/dashboard.html",
        {
            "sections": sections,
            "announcements": announcements_for(user=user)[:3],
            "blog_feed": home.blog_feed(request),
            "today": timezone.now(),
        },
    )


@login_required
@require_GET
def home_section(request: HttpRequest, role: str) -> HttpResponse:
    """One section of the home page alone: what ``js/home.js`` redraws when its topics
    change. 404 for a role the person does not hold."""
    if role not in home.sections_of(request.user):
        raise Http404
    return render(
        request,
        f"frontend/home/{role}.html",
        {"section": role, "data": home.BUILDERS[role](request)},
    )


@login_required
@require_GET
def home_chart(request: HttpRequest, name: str) -> HttpResponse:
    """A chart of the home page, fetched when it scrolls into view (the page stays light)."""
    chart = home.chart(request, name)
    if chart is None:
        raise Http404
    response = HttpResponse(chart, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "private, max-age=60"
    return response


@login_required
def style_guide(request: HttpRequest) -> HttpResponse:
    """Every component of the design system on one page, for staff (docs/INTERFACE.md)."""
    user = request.user
    if not (user.is_staff or user.has_role(Role.ADMIN)):
        raise PermissionDenied

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
    """The PWA manifest, in the current space's name and brand (its icons too)."""
    space = getattr(request, "space", None)
    color = brand_color(getattr(space, "brand_color", "") or "")
    name = getattr(space, "name", "") or "Lyceum"

    def icon(size: int) -> dict[str, str]:
        return {
            "src": reverse("app-icon", kwargs={"color": color[1:], "size": size}),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": "any maskable",
        }

    return JsonResponse(
        {
            "name": name,
            "short_name": name[:12],
            "id": "/",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": color,
            "icons": [
                {"src": static("img/lyceum.svg"), "sizes": "any", "type": "image/svg+xml"},
                icon(192),
                icon(512),
            ],
        },
        content_type="application/manifest+json",
    )


# -- offline and push (issue 21; docs/OFFLINE.md) --------------------------------------------
# The app shell: cached by the service worker at install, its digest is the worker's version.
SHELL_ASSETS = (
    "css/lyceum.css",
    "css/offline.css",
    "js/early.js",
    "js/realtime.js",
    "js/forms.js",
    "js/shell.js",
    "js/offline.js",
    "img/lyceum.svg",
)


def _static_bytes(name: str) -> bytes:
    from django.contrib.staticfiles import finders
    from django.contrib.staticfiles.storage import staticfiles_storage

    found = finders.find(name)
    if found:
        with open(found, "rb") as handle:
            return handle.read()
    with staticfiles_storage.open(name) as handle:
        return handle.read()


def app_version() -> str:
    """The service worker's version: a digest of its code, the shell's files and the
    release marker (``LYCEUM_RELEASE``, or the file ``LYCEUM_RELEASE_FILE``). Any change
    makes browsers install the new worker and offer a reload."""
    import hashlib

    from django.conf import settings

    digest = hashlib.sha256(_static_bytes("js/sw.js"))
    for name in SHELL_ASSETS:
        digest.update(static(name).encode())
        digest.update(_static_bytes(name))
    digest.update(settings.LYCEUM_RELEASE.encode())
    marker = settings.LYCEUM_RELEASE_FILE
    if marker:
        try:
            with open(marker, "rb") as handle:
                digest.update(handle.read(200))
        except OSError:
            pass
    return digest.hexdigest()[:16]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """``/sw.js``: served from the root so its scope is the whole site; never cached by
    HTTP (browsers compare it byte for byte to find a new version)."""
    import json

    shell = [static(name) for name in SHELL_ASSETS] + [reverse("offline")]
    code = (
        _static_bytes("js/sw.js")
        .decode("utf-8")
        .replace("__LYCEUM_VERSION__", app_version())
        .replace('"__LYCEUM_SHELL__"', json.dumps(json.dumps(shell)))
        .replace("__LYCEUM_OFFLINE_URL__", reverse("offline"))
    )
    response = HttpResponse(code, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache, max-age=0"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """What a page not saved for offline shows without a network (cached by the worker;
    the same for everyone: nothing personal in it)."""
    response = render(request, "frontend/offline.html")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
@cache_control(public=True, max_age=365 * 24 * 3600, immutable=True)
def app_icon(request: HttpRequest, color: str, size: str) -> HttpResponse:
    """The installed app's icon in a space's brand (``/brand/1f5f8b/icon-192.png``): the
    Lyceum columns on the brand colour, in whichever of black or white reads on it."""
    import io

    from PIL import Image, ImageDraw

    px = int(size)
    if px not in (192, 512):
        raise Http404
    background = brand_color("#" + color)
    ink = on_brand(background)
    image = Image.new("RGB", (px, px), background)
    draw = ImageDraw.Draw(image)
    # The logo's 64-unit drawing (img/lyceum.svg) in the middle 80%: a maskable icon's
    # safe zone (the launcher cuts its own shape out of the full square).
    inset, unit = 0.1 * px, 0.8 * px / 64

    def at(x: float, y: float) -> tuple[float, float]:
        return inset + x * unit, inset + y * unit

    draw.polygon([at(12, 26), at(32, 14), at(52, 26)], fill=ink)
    for x, y, w, h in ((16, 30, 6, 18), (29, 30, 6, 18), (42, 30, 6, 18), (10, 50, 44, 4)):
        draw.rectangle([at(x, y), at(x + w, y + h)], fill=ink)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return HttpResponse(out.getvalue(), content_type="image/png")


# -- end offline and push --


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
