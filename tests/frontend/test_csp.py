"""The Content-Security-Policy header (hub/csp.py) and the templates that live under it.

The policy allows no inline code, so the templates must carry none: a scan of every
template of the project's apps keeps inline handlers, ``<script>`` bodies, ``<style>``
blocks and ``style`` attributes from coming back. The browser side is tests/e2e/test_csp.py.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from classrooms import charts
from hub.csp import HEADER, ContentSecurityPolicyMiddleware, build_policy, csp_override

ROOT = Path(settings.BASE_DIR).resolve()

STRICT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: https:; font-src 'self'; connect-src 'self'; worker-src 'self'; "
    "manifest-src 'self'; frame-src 'none'; frame-ancestors 'none'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def test_settings_policy_is_strict():
    assert build_policy(settings.SECURE_CSP) == STRICT


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/courses/", "/forums/", "/chat/", "/api/v1/me/"])
def test_every_response_carries_the_enforced_policy(client, learner, path):
    assert client.get("/accounts/login/")[HEADER] == STRICT
    client.force_login(learner)
    response = client.get(path)
    assert response.status_code == 200
    assert response[HEADER] == STRICT
    assert "Content-Security-Policy-Report-Only" not in response


@pytest.mark.django_db
def test_api_docs_run_under_the_same_policy(client, learner):
    client.force_login(learner)
    page = client.get(reverse("api-docs"))
    assert page[HEADER] == STRICT
    html = page.content.decode()
    assert "<style" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None  # no inline set-up code
    script = client.get(reverse("api-docs") + "?script")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def _middleware(response: HttpResponse) -> HttpResponse:
    return ContentSecurityPolicyMiddleware(lambda request: response)(RequestFactory().get("/"))


def test_a_policy_set_by_another_layer_is_kept():
    # Uploaded files are served with their own sandbox policy; it must not be replaced.
    own = HttpResponse("x")
    own[HEADER] = "sandbox; default-src 'none'"
    assert _middleware(own)[HEADER] == "sandbox; default-src 'none'"


def test_a_view_may_override_the_policy_for_itself_only():
    relaxed = {**settings.SECURE_CSP, "img-src": ["'self'", "https://tiles.example"]}

    @csp_override(relaxed)
    def view(request):
        return HttpResponse("map")

    overridden = _middleware(view(RequestFactory().get("/")))
    assert "img-src 'self' https://tiles.example;" in overridden[HEADER]
    assert "script-src 'self';" in overridden[HEADER]
    assert _middleware(HttpResponse("plain"))[HEADER] == STRICT


def test_build_policy_writes_flags_bare_and_skips_empty_directives():
    policy = {"default-src": ["'self'"], "upgrade-insecure-requests": True, "report-uri": []}
    assert build_policy(policy) == "default-src 'self'; upgrade-insecure-requests"


# -- the templates -----------------------------------------------------------------------------
def project_templates() -> list[Path]:
    """Every HTML template of the project's own apps (not Django's or a library's)."""
    found = []
    for config in apps.get_app_configs():
        folder = Path(config.path).resolve() / "templates"
        if folder.is_relative_to(ROOT) and ".venv" not in folder.parts and folder.is_dir():
            # E-mails are not pages: the CSP does not apply to them.
            found += [p for p in folder.rglob("*.html") if "email" not in p.parts]
    return sorted(found)


TAG = r"<[a-zA-Z][\w-]*(?:\s[^>]*)?"
FORBIDDEN = {
    "inline event handler": re.compile(TAG + r"\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(TAG + r"\sstyle\s*=", re.I),
    "<style> block": re.compile(r"<style[\s>]", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    # A <script> without src runs inline code; JSON data goes through |json_script.
    "inline <script>": re.compile(r"<script(?![^>]*\bsrc\s*=)[^>]*>", re.I),
}


def test_the_scan_sees_the_project_templates():
    names = {p.relative_to(ROOT).as_posix() for p in project_templates()}
    assert "frontend/templates/frontend/base.html" in names
    assert "classrooms/templates/classrooms/_move.html" in names
    assert len(names) > 50


@pytest.mark.parametrize(
    "snippet",
    [
        '<form method="post" onsubmit="return confirm(1)">',
        "<select name=course\n  onchange='this.form.submit()'>",
        '<span class="badge" style="display:inline-block">',
        "<style>:root { --brand: red }</style>",
        "<script>window.x = 1</script>",
        '<script type="module">import "x"</script>',
        '<a href="javascript:void(0)">',
    ],
)
def test_the_scan_catches_inline_code(snippet):
    assert any(rule.search(snippet) for rule in FORBIDDEN.values()), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="/static/js/shell.js" defer></script>',
        '<button data-on="1" data-confirm="Delete?">',
        "<p>Turn notifications on=off in settings</p>",
        '<svg class="swatch"><circle fill="#7a1fa2"/></svg>',
    ],
)
def test_the_scan_lets_safe_markup_through(snippet):
    assert not any(rule.search(snippet) for rule in FORBIDDEN.values()), snippet


# Template comments say what is not there; blanked out, keeping line numbers.
COMMENTS = re.compile(r"\{#.*?#\}|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", re.S)


def test_no_template_carries_inline_code():
    problems = []
    for path in project_templates():
        text = COMMENTS.sub(
            lambda m: "\n" * m.group().count("\n"), path.read_text(encoding="utf-8")
        )
        for what, rule in FORBIDDEN.items():
            for match in rule.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert problems == [], "\n".join(problems)


def test_server_drawn_charts_carry_no_style_attribute():
    line = charts.line_chart([(date(2026, 1, 1), 1), (date(2026, 1, 2), 3)], label="Done")
    bars = charts.histogram([40, 80, 95], label="Scores")
    for svg in (line, bars):
        assert 'class="chart"' in svg
        assert not FORBIDDEN["style attribute"].search(svg), svg
