"""scim2-tester (a conformance checker none of us wrote) against the SCIM server: every
check passes for what the server announces in its ServiceProviderConfig."""

from __future__ import annotations

import pytest
from django.core.handlers.wsgi import WSGIHandler
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server

pytestmark = pytest.mark.django_db


def test_scim2_tester_passes_every_check(scim_token, settings):
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
