"""Certifications over months with a controlled clock: issued on completion, the
recertification window (path assigned, reminder), renewal, expiry, revocation; bulk
operations with a preview and nothing half-applied; who sees what; compliance."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from notifications.models import Notification

from certifications import selectors, services
from certifications.models import Award, AwardEvent, State
from classrooms import services as classrooms_services
from hub.accounts.models import Role
from paths.models import PathAssignment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """``clock.now`` is what ``timezone.now()`` answers everywhere; move it by hand."""
    from datetime import UTC

    state = SimpleNamespace(now=datetime(2026, 1, 31, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(timezone, "now", lambda: state.now)
    return state


def kinds(award):
    return list(AwardEvent.objects.filter(award=award).values_list("kind", flat=True))


def test_months_of_a_certification(f, clock, commit, learner, learner2, manager):
    assert "<b>" not in f.cert.title
    for person in (learner, learner2):
        classrooms_services.activity_complete(user=person, activity=f.lesson, source="viewed")
    commit()
    leo = Award.objects.get(user=learner)
    assert leo.state == State.CERTIFIED
    assert leo.expires_at == datetime(2028, 1, 31, 9, 0, tzinfo=clock.now.tzinfo)
    # 21 months on: nothing to do.
    clock.now = datetime(2027, 10, 31, 9, 0, tzinfo=clock.now.tzinfo)
    assert services.sweep(now=clock.now) == {"expiring": 0, "expired": 0}
    # 45 days before expiry: inside the 60-day window: recertifying, path assigned, told.
    clock.now = leo.expires_at - timedelta(days=45)
    assert services.sweep(now=clock.now) == {"expiring": 2, "expired": 0}
    assert services.sweep(now=clock.now) == {"expiring": 0, "expired": 0}  # idempotent
    commit()
    leo.refresh_from_db()
    assert leo.state == State.RECERTIFYING
    assignment = PathAssignment.objects.get(user=learner, path=f.recert)
    assert assignment.due_at == leo.expires_at
    assert Notification.objects.filter(recipient=learner, verb__contains="recertify").exists()
    # Leo takes the refresher 20 days later: renewed for 24 months from then, a new number.
    clock.now += timedelta(days=20)
    old_number = leo.number
    classrooms_services.activity_complete(
        user=learner, activity=f.refresher_lesson, source="viewed"
    )
    commit()
    leo.refresh_from_db()
    assert leo.state == State.CERTIFIED and leo.number != old_number
    assert leo.expires_at == services.add_months(clock.now, 24)
    assert kinds(leo) == ["issued", "expiring", "renewed"]
    # Lina never does: expired the day after, her manager is told.
    clock.now = datetime(2028, 2, 1, 9, 0, tzinfo=clock.now.tzinfo)
    assert services.sweep(now=clock.now) == {"expiring": 0, "expired": 1}
    lina = Award.objects.get(user=learner2)
    assert lina.state == State.EXPIRED
    assert kinds(lina) == ["issued", "expiring", "expired"]
    assert Notification.objects.filter(recipient=manager, verb__contains="expired").exists()
    # She recertifies months late: certified again, from that day.
    clock.now += timedelta(days=90)
    classrooms_services.enrolment_create(
        actor=f.course.trainers.first(), user=learner2, course=f.recert.items.first().course
    )
    classrooms_services.activity_complete(
        user=learner2, activity=f.refresher_lesson, source="viewed"
    )
    commit()
    lina.refresh_from_db()
    assert lina.state == State.CERTIFIED and kinds(lina)[-1] == "renewed"
    # Leo's award moves on in the next cycle all the same.
    clock.now = leo.expires_at + timedelta(days=1)
    services.sweep(now=clock.now)
    leo.refresh_from_db()
    assert leo.state == State.EXPIRED


def test_add_months_clamps_to_the_months_end():
    from datetime import UTC

    assert services.add_months(datetime(2026, 1, 31, tzinfo=UTC), 1).day == 28
    assert services.add_months(datetime(2027, 12, 15, tzinfo=UTC), 24).year == 2029


def test_bulk_preview_and_all_or_nothing(f, coordinator, learner, learner2, space, outsider):
    people = [UserFactory(roles=[Role.LEARNER], spaces=[space]) for _ in range(40)]
    names = [p.username for p in people]
    plan = services.bulk_preview(
        actor=coordinator, certification=f.cert, action="issue", usernames=[*names, "ghost"]
    )
    assert [r["error"] for r in plan.errors] == ["No such person."]
    assert not Award.objects.exists()
    for bad in ([*names, "ghost"], [*names, outsider.username], [*names, names[0]]):
        with pytest.raises(ValidationError):
            services.bulk_apply(
                actor=coordinator, certification=f.cert, action="issue", usernames=bad
            )
    assert not Award.objects.exists() and not AwardEvent.objects.exists()
    assert (
        services.bulk_apply(
            actor=coordinator, certification=f.cert, action="issue", usernames=names
        )
        == 40
    )
    assert Award.objects.filter(state=State.CERTIFIED).count() == 40
    assert AwardEvent.objects.filter(kind="issued").count() == 40
    # Revoke: someone without an award blocks the batch; then it goes through.
    with pytest.raises(ValidationError):
        services.bulk_apply(
            actor=coordinator,
            certification=f.cert,
            action="revoke",
            usernames=[names[0], learner.username],
        )
    assert Award.objects.filter(state=State.REVOKED).count() == 0
    services.bulk_apply(
        actor=coordinator, certification=f.cert, action="revoke", usernames=names[:2]
    )
    assert Award.objects.filter(state=State.REVOKED).count() == 2
    # The nightly pass leaves revoked awards alone, even long after.
    services.sweep(now=timezone.now() + timedelta(days=3650))
    assert Award.objects.filter(state=State.REVOKED).count() == 2
    # Assign: enrols in the earning course.
    services.bulk_apply(
        actor=coordinator, certification=f.cert, action="assign", usernames=[learner2.username]
    )
    # A learner or trainer may not.
    with pytest.raises(PermissionDenied):
        services.bulk_preview(actor=learner, certification=f.cert, action="issue", usernames=names)


def test_bulk_issue_queries_do_not_grow_with_people(
    f, coordinator, space, django_assert_max_num_queries
):
    people = [UserFactory(roles=[Role.LEARNER], spaces=[space]) for _ in range(300)]
    with django_assert_max_num_queries(20):
        services.bulk_apply(
            actor=coordinator,
            certification=f.cert,
            action="issue",
            usernames=[p.username for p in people],
        )
    assert Award.objects.count() == 300


def test_api_and_pages(
    f, api_client_for, client, coordinator, learner, manager, trainer, commit, run_tasks
):
    classrooms_services.activity_complete(user=learner, activity=f.lesson, source="viewed")
    commit()
    mine = api_client_for(learner).get("/api/v1/certifications/mine/").json()
    assert [m["state"] for m in mine] == ["certified"]
    url = f"/api/v1/certifications/{f.cert.pk}/bulk/"
    assert (
        api_client_for(learner)
        .post(url, {"action": "issue", "usernames": ["x"]}, format="json")
        .status_code
        == 404
    )
    preview = api_client_for(coordinator).post(
        url, {"action": "issue", "usernames": [learner.username, "nobody"]}, format="json"
    )
    assert preview.status_code == 200 and preview.json()["errors"] == 1
    refused = api_client_for(coordinator).post(
        url,
        {"action": "revoke", "usernames": [learner.username, "nobody"], "preview": False},
        format="json",
    )
    assert refused.status_code == 400
    assert Award.objects.get(user=learner).state == State.CERTIFIED
    bad = api_client_for(coordinator).post(
        url, {"action": "explode", "usernames": ["x"]}, format="json"
    )
    assert bad.status_code == 400
    client.force_login(coordinator)
    page = client.post(
        f"/certifications/{f.cert.pk}/", {"action": "revoke", "usernames": learner.username}
    )
    assert page.status_code == 200 and "bulk-apply" in page.content.decode()
    assert Award.objects.get(user=learner).state == State.CERTIFIED  # a preview changes nothing
    applied = client.post(
        f"/certifications/{f.cert.pk}/",
        {"action": "revoke", "usernames": learner.username, "apply": "1"},
    )
    assert applied.status_code == 302  # to the background job's page
    assert Award.objects.get(user=learner).state == State.CERTIFIED
    run_tasks()
    assert Award.objects.get(user=learner).state == State.REVOKED
    report = client.get("/certifications/compliance.csv")
    rows = list(csv.reader(io.StringIO(report.content.decode())))
    assert rows[1][:2] == ["Team A", f.cert.title] and rows[1][6] == "1"
    assert client.get("/certifications/compliance/").status_code == 200
    client.force_login(manager)
    assert client.get("/certifications/compliance/").status_code == 200
    assert client.get(f"/certifications/{f.cert.pk}/").status_code == 404
    client.force_login(learner)
    assert client.get("/certifications/").status_code == 200
    assert client.get("/certifications/compliance/").status_code == 403
    assert client.get(f"/certifications/{f.cert.pk}/").status_code == 404


def test_compliance_counts(f, coordinator, learner, learner2, manager, space):
    services.bulk_apply(
        actor=coordinator,
        certification=f.cert,
        action="issue",
        usernames=[learner.username, learner2.username],
    )
    services.sweep(now=timezone.now() + timedelta(days=800))
    (row,) = selectors.compliance(space_id=space.pk)
    assert row["certs"][0]["counts"]["expired"] == 2
