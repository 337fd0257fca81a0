"""The design system's pieces: icons served from our copy, components, the date filter,
the style guide, and error pages inside the shell."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone, translation

from frontend.context_processors import NAV_ICONS
from frontend.templatetags.ui import initials
from hub import dates

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "frontend" / "static" / "icons"


def render(source: str, **context) -> str:
    return Template("{% load ui %}" + source).render(Context(context))


# -- icons -----------------------------------------------------------------------------------
def test_every_icon_a_template_names_is_served_from_our_copy_with_its_licence():
    used = set(NAV_ICONS.values())
    for template in ROOT.glob("*/templates/**/*.html"):
        used |= set(re.findall(r'\{%\s*icon\s+"([a-z0-9-]+)"', template.read_text()))
    for template in ROOT.glob("hub/*/templates/**/*.html"):
        used |= set(re.findall(r'\{%\s*icon\s+"([a-z0-9-]+)"', template.read_text()))
    missing = sorted(name for name in used if not (ICONS / f"{name}.svg").exists())
    assert not missing, f"add these to frontend/vendor/copy_icons.py and run make vendor: {missing}"
    assert "ISC" in (ICONS / "LICENSE").read_text()
    sprite = (ICONS / "sprite.svg").read_text()
    assert all(f'<symbol id="{name}"' in sprite for name in used)
    from frontend.vendor.copy_icons import ICONS as COPIED  # type: ignore[import-not-found]

    assert used <= set(COPIED)


def test_the_icon_set_and_axe_come_from_npm_not_a_cdn():
    package = json.loads((ROOT / "frontend" / "vendor" / "package.json").read_text())
    lock = json.loads((ROOT / "frontend" / "vendor" / "package-lock.json").read_text())
    assert "lucide-static" in package["dependencies"]
    assert "axe-core" in package["devDependencies"]
    assert "node_modules/lucide-static" in lock["packages"]
    assert "vendor:" in (ROOT / "Makefile").read_text()


def test_icon_is_decorative_unless_labelled():
    svg = render('{% icon "bell" %}')
    assert svg.startswith('<svg class="icon" aria-hidden="true" focusable="false"')
    assert 'sprite.svg#bell"></use></svg>' in svg
    labelled = render('{% icon "bell" label="Notifications" %}')
    assert labelled.endswith('<span class="sr-only">Notifications</span>')
    assert render('{% icon "no-such-icon" %}') == ""
    assert render('{% icon "../../etc/passwd" %}') == ""


def test_counter_is_hidden_at_zero():
    assert "hidden" in render("{% counter 0 %}")
    assert "hidden" in render("{% counter 'junk' %}")
    shown = render('{% counter 3 "unread" %}')
    assert "hidden" not in shown and ">3<" in shown and "unread" in shown


def test_avatar_shows_initials_or_the_picture():
    assert initials("Lina Martin") == "LM"
    assert initials("omar") == "O"
    assert initials("") == "?"

    class Person:
        pk = 7
        name = "Zoé Dubois"
        avatar = None

    html = render("{% avatar p %}", p=Person())
    assert ">ZD</text>" in html and 'aria-hidden="true"' in html
    named = render('{% avatar p "lg" decorative=False %}', p=Person())
    assert 'role="img" aria-label="Zoé Dubois"' in named


def test_hidden_always_wins_in_the_stylesheet():
    css = (ROOT / "frontend" / "static" / "css" / "lyceum.css").read_text()
    assert "[hidden] { display: none !important; }" in css
    assert "prefers-reduced-motion: reduce" in css
    assert "prefers-color-scheme: dark" in css


# -- the date policy -------------------------------------------------------------------------
INSTANT = datetime(2026, 12, 12, 13, 0, tzinfo=UTC)


def test_when_writes_the_viewers_zone_in_one_format():
    with timezone.override(ZoneInfo("America/New_York")), translation.override("en"):
        html = render("{{ t|when }}", t=INSTANT)
        assert html == '<time datetime="2026-12-12T13:00:00+00:00">Sat 12 Dec 2026, 08:00</time>'
        assert ">Sat 12 Dec 2026<" in render('{{ t|when:"date" }}', t=INSTANT)
        assert ">08:00<" in render('{{ t|when:"time" }}', t=INSTANT)
    with timezone.override(ZoneInfo("Asia/Tokyo")), translation.override("en"):
        assert ">Sat 12 Dec 2026, 22:00<" in render("{{ t|when }}", t=INSTANT)


def test_when_names_the_viewers_zone_when_it_is_not_the_events():
    with timezone.override(ZoneInfo("America/New_York")), translation.override("en"):
        assert "08:00 (New York time)" in render("{{ t|when:'Europe/Paris' }}", t=INSTANT)
        assert "time)" not in render("{{ t|when:'America/New_York' }}", t=INSTANT)
    with timezone.override(ZoneInfo("UTC")), translation.override("en"):
        assert "time)" not in render("{{ t|when:'Etc/UTC' }}", t=INSTANT)


def test_when_speaks_the_viewers_language():
    with timezone.override(ZoneInfo("Europe/Paris")), translation.override("fr"):
        text = render("{{ t|when }}", t=INSTANT)
    assert "14:00" in text and "2026" in text and "Sat" not in text


def test_relative_times():
    now = timezone.now()
    with translation.override("en"):
        assert dates.relative(now + timedelta(hours=2, minutes=5), now) == "in 2 h"
        assert dates.relative(now - timedelta(minutes=5), now) == "5 min ago"
        assert dates.relative(now + timedelta(days=3), now) == "in 3 days"
        assert dates.relative(now + timedelta(seconds=10), now) == "now"
        html = render("{{ t|when:'relative' }}", t=now + timedelta(hours=2, minutes=1))
    assert "data-relative" in html and ">in 2 h<" in html


def test_when_ignores_what_is_not_a_date():
    assert render("{{ t|when }}", t="2026-12-12") == ""
    assert render("{{ t|when }}", t=None) == ""


def test_text_written_once_names_its_zone():
    with translation.override("en"):
        assert dates.format_for(INSTANT, zone="Europe/Paris") == (
            "Sat 12 Dec 2026, 14:00 (Paris time)"
        )
        assert dates.format_for(INSTANT, zone="Not/AZone").endswith("13:00 (UTC time)")


# -- pages -----------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(("who", "status"), [("learner", 403), ("staff", 200), ("admin", 200)])
def test_the_style_guide_is_for_staff(client, request, who, status):
    client.force_login(request.getfixturevalue(who))
    response = client.get(reverse("style-guide"))
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        for part in (
            "btn-primary",
            "btn-danger",
            'role="tablist"',
            "<dialog",
            "table-stack",
            "table-scroll",
            "skeleton",
            "card empty",
            "avatar",
            "errorlist",
        ):
            assert part in html, part


@pytest.mark.django_db
def test_a_404_is_a_page_of_the_shell_with_a_way_back(client, learner):
    client.force_login(learner)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'data-testid="error-page"' in html and 'data-testid="error-home"' in html
    assert 'data-testid="user-menu"' in html  # inside the shell
    # The API keeps its JSON errors.
    assert client.get("/api/v1/no-such-thing/").json()["error"]["code"]


@pytest.mark.django_db
def test_a_403_is_a_page_of_the_shell(client, learner):
    client.force_login(learner)
    response = client.get(reverse("style-guide"))
    assert response.status_code == 403
    assert 'data-testid="error-home"' in response.content.decode()


def test_the_500_page_needs_no_database(monkeypatch):
    from hub.views import server_error

    def refuse(*args, **kwargs):
        raise AssertionError("the 500 page touched the database")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = server_error(RequestFactory().get("/somewhere/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert 'data-testid="error-page"' in html and 'href="/"' in html
