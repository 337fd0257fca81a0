"""Privacy: the data export (a zip built by a job, progress published) and erasure on
request with an administrator's approval."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from hub.accounts.models import DataExport, ErasureRequest, Role, User
from hub.audit.models import Entry
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(space):
    return UserFactory(username="admin1", roles=[Role.ADMIN], spaces=[space])


def test_export_is_built_by_a_job_with_progress(client, learner, run_tasks, published):
    learner.bio = "I like owls"
    learner.save()
    client.force_login(learner)
    assert client.post(reverse("export-request")).status_code == 302
    export = DataExport.objects.get(user=learner)
    assert export.status == "queued"
    run_tasks()
    export.refresh_from_db()
    assert export.status == "ready" and export.progress == 100
    events = [e for e in published(f"hub.user.{learner.pk}") if e.type == "export.progress"]
    assert events[-1].data == {"id": export.pk, "status": "ready", "progress": 100}
    response = client.get(reverse("export-download", args=[export.pk]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    profile = json.loads(archive.read("profile.json"))
    assert profile["bio"] == "I like owls" and "password" not in profile
    assert "feed_token" not in profile
    assert any(name.startswith("data/") for name in archive.namelist())
    # Someone else's export is not found.
    other = UserFactory(username="nosy")
    client.force_login(other)
    assert client.get(reverse("export-download", args=[export.pk])).status_code == 404


def test_erasure_needs_an_admin_and_keeps_the_tombstone(client, learner, admin_user, published):
    Token.objects.create(user=learner)
    client.force_login(learner)
    client.post(reverse("erasure-request"), {"reason": "leaving"})
    client.post(reverse("erasure-request"), {"reason": "again"})  # one pending at a time
    erasure = ErasureRequest.objects.get(user=learner)
    assert ErasureRequest.objects.count() == 1
    # The person cannot approve it.
    response = client.post(reverse("erasure-decide", args=[erasure.pk]), {"decision": "approve"})
    assert response.status_code == 403
    client.force_login(admin_user)
    response = client.post(reverse("erasure-decide", args=[erasure.pk]), {"decision": "maybe"})
    assert response.status_code == 400
    client.post(reverse("erasure-decide", args=[erasure.pk]), {"decision": "approve"})
    tomb = User.objects.get(pk=learner.pk)
    assert tomb.username == f"deleted-{learner.pk}" and tomb.name == "Deleted user"
    assert tomb.email == "" and not tomb.is_active and not tomb.has_usable_password()
    assert not Token.objects.filter(user=tomb).exists()
    assert Entry.objects.filter(action="privacy.erased", actor=admin_user).exists()
    # Deciding twice is refused.
    client.post(reverse("erasure-decide", args=[erasure.pk]), {"decision": "refuse"})
    erasure.refresh_from_db()
    assert erasure.status == "done"
