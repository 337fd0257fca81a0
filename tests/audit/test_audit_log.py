"""The audit log: hub.audit.record, sign-in rows, append-only, the admin page, CSV, retention."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from hub import audit
from hub.accounts.models import Role
from hub.audit.models import AppendOnlyError, Entry
from hub.audit.services import entries_prune
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(space):
    return UserFactory(username="admin1", roles=[Role.ADMIN], spaces=[space])


def test_record_keeps_who_what_on_what_and_from_where(rf, learner, trainer, space):
    request = rf.post("/x", HTTP_USER_AGENT="Browser/1.0", REMOTE_ADDR="203.0.113.7")
    request.user = trainer
    entry = audit.record(
        action="sessions.registered_for",
        target=learner,
        space=space,
        request=request,
        details={"session": 3, "when": datetime.date(2026, 1, 2)},
    )
    entry.refresh_from_db()
    assert entry.actor == trainer and entry.actor_label == "trainer1"
    assert entry.target_type == "accounts.user" and entry.target_id == str(learner.pk)
    assert entry.target_label == str(learner)
    assert entry.ip == "203.0.113.7" and entry.user_agent == "Browser/1.0"
    assert entry.space == space
    assert entry.details == {"session": 3, "when": "2026-01-02"}


def test_entries_are_append_only(learner):
    entry = audit.record(action="x.y", actor=learner)
    entry.action = "changed"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert Entry.objects.get(pk=entry.pk).action == "x.y"


def test_login_logout_and_failures_are_recorded(client, learner):
    client.post(reverse("login"), {"username": "learner1", "password": "wrong"})
    failed = Entry.objects.get(action="accounts.login_failed")
    assert failed.actor is None and failed.details["username"] == "learner1"
    assert failed.ip == "127.0.0.1"
    client.post(reverse("login"), {"username": "learner1", "password": PASSWORD})
    assert Entry.objects.filter(action="accounts.login", actor=learner).count() == 1
    client.post(reverse("logout"))
    assert Entry.objects.filter(action="accounts.logout", actor=learner).count() == 1


def test_audit_page_is_for_admins_only(client, learner, admin_user):
    client.force_login(learner)
    assert client.get(reverse("audit-log")).status_code == 403
    assert client.post(reverse("audit-csv")).status_code == 403
    client.force_login(admin_user)
    assert client.get(reverse("audit-log")).status_code == 200


def test_filters_and_csv(client, learner, learner2, admin_user):
    audit.record(action="accounts.login", actor=learner, target=learner)
    audit.record(action="accounts.login", actor=learner2, target=learner2)
    audit.record(action="forums.post_hidden", actor=admin_user, target="=HYPERLINK()")
    client.force_login(admin_user)
    page = client.get(reverse("audit-log"), {"actor": "learner2"})
    rows = page.context["page"].object_list
    assert [e.actor_label for e in rows] == ["learner2"]
    page = client.get(reverse("audit-log"), {"action": "forums."})
    assert [e.action for e in page.context["page"].object_list] == ["forums.post_hidden"]
    # Bad filter values narrow to nothing instead of failing.
    page = client.get(reverse("audit-log"), {"ip": "not-an-ip", "since": "yesterday"})
    assert page.status_code == 200 and not page.context["page"].object_list

    # The export is a POST (it is recorded): a GET is refused and writes nothing.
    before = Entry.objects.count()
    assert client.get(reverse("audit-csv"), {"action": "forums."}).status_code == 405
    assert Entry.objects.count() == before
    page = client.get(reverse("audit-log"), {"action": "forums."})
    assert b'<input type="hidden" name="action" value="forums.">' in page.content
    response = client.post(reverse("audit-csv"), {"action": "forums."})
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert table[0][:3] == ["at", "action", "actor"]
    assert len(table) == 2 and table[1][1] == "forums.post_hidden"
    assert table[1][5] == "'=HYPERLINK()"  # not run as a formula by a spreadsheet
    # The export is itself recorded, with its filters.
    exported = Entry.objects.get(action="audit.exported", actor=admin_user)
    assert exported.details == {"action": "forums."}


def test_retention_prunes_old_rows(settings, learner):
    settings.LYCEUM_AUDIT_RETENTION_DAYS = 30
    old = audit.record(action="accounts.login", actor=learner)
    Entry.objects.filter(pk=old.pk).update(at=timezone.now() - datetime.timedelta(days=31))
    recent = audit.record(action="accounts.login", actor=learner)
    assert entries_prune() == 1
    assert not Entry.objects.filter(pk=old.pk).exists()
    assert Entry.objects.filter(pk=recent.pk).exists()
    assert Entry.objects.filter(action="audit.pruned").exists()
    settings.LYCEUM_AUDIT_RETENTION_DAYS = 0
    Entry.objects.filter(pk=recent.pk).update(at=timezone.now() - datetime.timedelta(days=999))
    assert entries_prune() == 0
