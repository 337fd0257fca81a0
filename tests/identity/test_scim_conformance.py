"""scim2-tester (a conformance checker none of us wrote) against the SCIM server: every
check passes for what the server announces in its ServiceProviderConfig."""

from __future__ import annotations

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def connection_kept_between_requests():
    """The WSGI handler closes the database connection at each request's end, as a server
    must; inside the test's transaction that would end it (PostgreSQL), so the requests
    keep it, as Django's own test client arranges."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_scim2_tester_passes_every_check(scim_token, settings, connection_kept_between_requests):
    settings.ALLOWED_HOSTS = ["*"]
    client = WSGISCIMClient(
        WSGIHandler(),
        base_url="http://localhost/scim/v2",
        headers={"Authorization": f"Bearer {scim_token}"},
    )
    results = check_server(client, raise_exceptions=False)
    bad = [
        f"{r.resource_type or ''} {r.title}: {r.status.name} {r.reason}"
        for r in results
        if r.status not in (Status.SUCCESS, Status.SKIPPED)
    ]
    passed = [r for r in results if r.status == Status.SUCCESS]
    assert not bad, "\n".join(bad)
    assert len(passed) > 30
