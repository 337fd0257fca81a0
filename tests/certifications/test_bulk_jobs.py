"""Bulk operations in the background: checked row by row before any job exists (a bad row is
named, nothing queued), run by the worker in one transaction with live progress on
``certifications.bulkjob.<id>`` (only its starter hears it), all or nothing when a row has
gone bad since the preview."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import ValidationError

from certifications import services
from certifications.models import Award, AwardEvent, BulkJob, BulkStatus, State
from hub.accounts.models import SpaceMembership, User

pytestmark = pytest.mark.django_db


def members(space, n, prefix="bulk"):
    """``n`` members of ``space``, made in two inserts (factories would take minutes)."""
    users = User.objects.bulk_create(
        User(username=f"{prefix}{i}", email=f"{prefix}{i}@example.test") for i in range(n)
    )
    SpaceMembership.objects.bulk_create(SpaceMembership(space=space, user=u) for u in users)
    return users


@pytest.fixture
def sent(monkeypatch):
    """The live events the job sends (type, data), in order."""
    from identity import realtime as identity_realtime

    found: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        identity_realtime, "send_now", lambda topic, type, data: found.append((type, data))
    )
    return found


def test_issue_in_the_background_with_progress(f, coordinator, space, run_tasks, sent):
    people = members(space, 2500)
    job = services.bulk_start(
        actor=coordinator,
        certification=f.cert,
        action="issue",
        usernames=[p.username for p in people],
    )
    assert job.status == BulkStatus.QUEUED and job.total == 2500
    assert not Award.objects.exists()  # nothing in the request
    run_tasks()
    job.refresh_from_db()
    assert job.status == BulkStatus.DONE and job.applied == 2500
    assert Award.objects.filter(state=State.CERTIFIED).count() == 2500
    assert AwardEvent.objects.filter(kind="issued").count() == 2500
    assert [d["done"] for t, d in sent if t == "bulk.progress"] == [1000, 2000, 2500]
    assert sent[-1] == ("bulk.finished", {"applied": 2500, "total": 2500})
    # Run twice (a second worker, a retry): nothing more happens.
    assert services.bulk_job_run(job_id=job.pk) is None


def test_a_bad_row_is_named_and_nothing_is_queued(f, coordinator, space):
    people = members(space, 300)
    names = [p.username for p in people]
    names.insert(120, "ghost")
    with pytest.raises(ValidationError) as refused:
        services.bulk_start(
            actor=coordinator, certification=f.cert, action="issue", usernames=names
        )
    assert "line 121" in refused.value.messages[0] and "ghost" in refused.value.messages[0]
    assert not BulkJob.objects.exists() and not Award.objects.exists()


def test_a_row_gone_bad_before_the_run_fails_the_whole_job(f, coordinator, space, run_tasks, sent):
    people = members(space, 1500)
    job = services.bulk_start(
        actor=coordinator,
        certification=f.cert,
        action="issue",
        usernames=[p.username for p in people],
    )
    # Between the preview and the run, someone leaves the space.
    SpaceMembership.objects.filter(user=people[1400]).delete()
    run_tasks()
    job.refresh_from_db()
    assert job.status == BulkStatus.FAILED
    assert "line 1401" in job.message and people[1400].username in job.message
    assert not Award.objects.exists() and not AwardEvent.objects.exists()
    assert sent[-1][0] == "bulk.failed"


def test_revoke_in_the_background(f, coordinator, space, run_tasks, sent):
    people = members(space, 40)
    services.bulk_apply(
        actor=coordinator,
        certification=f.cert,
        action="issue",
        usernames=[p.username for p in people],
    )
    job = services.bulk_start(
        actor=coordinator,
        certification=f.cert,
        action="revoke",
        usernames=[p.username for p in people[:30]],
    )
    run_tasks()
    job.refresh_from_db()
    assert job.status == BulkStatus.DONE
    assert Award.objects.filter(state=State.REVOKED).count() == 30


def test_pages_and_rest_are_the_starters(
    f, coordinator, space, client, api_client_for, run_tasks, learner
):
    from hub.accounts.models import Role
    from tests.factories import UserFactory

    admin = UserFactory(roles=[Role.ADMIN], spaces=[space])
    people = members(space, 5)
    names = "\n".join(p.username for p in people)
    client.force_login(coordinator)
    started = client.post(
        f"/certifications/{f.cert.pk}/", {"action": "issue", "usernames": names, "apply": "1"}
    )
    job = BulkJob.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/certifications/bulk/{job.pk}/"
    page = client.get(started["Location"]).content.decode()
    assert "bulk-progress" in page and job.topic in page
    run_tasks()
    page = client.get(started["Location"]).content.decode()
    assert 'data-status="done"' in page and "bulk-progress" not in page
    # REST: apply answers 202 with the job; the job's state for its starter only.
    api = api_client_for(coordinator)
    answer = api.post(
        f"/api/v1/certifications/{f.cert.pk}/bulk/",
        {"action": "revoke", "usernames": [people[0].username], "preview": False},
        format="json",
    )
    assert answer.status_code == 202 and answer.json()["status"] == "queued"
    url = f"/api/v1/certifications/bulk/{answer.json()['id']}/"
    assert api.get(url).json()["total"] == 1
    for other in (learner, admin):
        assert api_client_for(other).get(url).status_code == 404
        client.force_login(other)
        assert client.get(f"/certifications/bulk/{job.pk}/").status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_progress_reaches_the_starter_over_the_websocket(communicator_for):
    from tests.certifications.conftest import one_lesson_course
    from tests.factories import SpaceFactory, UserFactory

    space = await database_sync_to_async(SpaceFactory)(slug="s-bulk")
    coordinator = await database_sync_to_async(UserFactory)(
        username="coord", roles=["coordinator", "trainer"], spaces=[space]
    )
    nosy = await database_sync_to_async(UserFactory)(
        username="nosy", roles=["coordinator"], spaces=[space]
    )

    def start():
        course, _lesson = one_lesson_course(coordinator, space, "Ladders")
        cert = services.certification_create(
            user=coordinator, space=space, title="Ladders", course=course
        )
        people = members(space, 1200, prefix="ws")
        return services.bulk_start(
            actor=coordinator,
            certification=cert,
            action="issue",
            usernames=[p.username for p in people],
        )

    job = await database_sync_to_async(start)()
    ws = await communicator_for(coordinator)
    assert (await ws.call("sub", topic=job.topic))["op"] != "error"
    other = await communicator_for(nosy)
    refused = await other.call("sub", topic=job.topic)
    assert refused["op"] == "error" and refused["code"] in ("forbidden", "not_found")
    ran = await database_sync_to_async(services.bulk_job_run)(job_id=job.pk)
    assert ran.status == BulkStatus.DONE, ran.message
    last = None
    while last is None or last["data"]["done"] < 1200:
        last = await ws.next_event(type="bulk.progress")
    assert last["data"] == {"done": 1200, "total": 1200}
    finished = await ws.next_event(type="bulk.finished")
    assert finished["data"]["applied"] == 1200
