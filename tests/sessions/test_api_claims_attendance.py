"""REST of offers, coordinator actions, parts, series, attendance and CSV — and bad input."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.models import Registration, Session, SessionSeries
from sessions.services import registration_cancel, registration_register
from tests.sessions.conftest import make_session


def url(session, rest: str = "") -> str:
    return f"/api/v1/sessions/{session.pk}/{rest}"


def start_soon(session) -> None:
    start = timezone.now() + timedelta(minutes=5)
    Session.objects.filter(pk=session.pk).update(
        starts_at=start, ends_at=start + timedelta(hours=2)
    )


@pytest.fixture
def claimed(coordinator, space, crowd):
    """One seat with a 4-hour claim window: crowd1 has the seat offered, crowd2 waits."""
    session = make_session(coordinator, space, capacity=1, claim_hours=4)
    regs = [registration_register(actor=u, session=session) for u in crowd[:3]]
    registration_cancel(actor=crowd[0], registration=regs[0])
    return session


def test_register_result_shows_the_offer(api_client_for, claimed, crowd):
    detail = api_client_for(crowd[1]).get(url(claimed)).json()
    assert detail["my_registration"]["status"] == "offered"
    assert detail["my_registration"]["offer_expires_at"]
    assert detail["claim_hours"] == 4 and detail["seats_left"] == 0


def test_accept_and_decline_offers(api_client_for, claimed, crowd):
    reply = api_client_for(crowd[1]).post(url(claimed, "offer/decline/"))
    assert reply.status_code == 200 and reply.json()["status"] == "cancelled"
    reply = api_client_for(crowd[2]).post(url(claimed, "offer/accept/"))
    assert reply.status_code == 200 and reply.json()["status"] == "confirmed"


def test_offer_bad_input(api_client_for, claimed, crowd, learner):
    # Accepting with nothing offered, someone else's offer, no registration at all.
    reply = api_client_for(crowd[2]).post(url(claimed, "offer/accept/"))
    assert reply.status_code == 400
    offered = Registration.objects.get(session=claimed, status="offered")
    reply = api_client_for(crowd[2]).post(
        url(claimed, "offer/accept/"), {"registration": offered.pk}, format="json"
    )
    assert reply.status_code == 403
    assert api_client_for(learner).post(url(claimed, "offer/decline/")).status_code == 404
    reply = api_client_for(crowd[1]).post(
        url(claimed, "offer/accept/"), {"registration": "x"}, format="json"
    )
    assert reply.status_code == 400
    offered.refresh_from_db()
    assert offered.status == "offered"


def test_coordinator_shifts_removes_moves_approves(api_client_for, coordinator, space, crowd):
    session = make_session(coordinator, space, capacity=1)
    regs = [registration_register(actor=u, session=session) for u in crowd[:4]]
    client = api_client_for(coordinator)
    reply = client.post(
        url(session, f"registrations/{regs[3].pk}/shift/"), {"by": -2}, format="json"
    )
    assert reply.status_code == 200
    order = list(
        session.registrations.filter(status="waitlisted")
        .order_by("position")
        .values_list("user__username", flat=True)
    )
    assert order == ["crowd3", "crowd1", "crowd2"]
    assert client.post(url(session, f"registrations/{regs[1].pk}/remove/")).status_code == 200
    other = make_session(coordinator, space, title="Other", capacity=3)
    reply = client.post(
        url(session, f"registrations/{regs[2].pk}/move/"), {"to": other.pk}, format="json"
    )
    assert reply.status_code == 200 and reply.json()["status"] == "confirmed"
    pending_session = make_session(coordinator, space, approval="coordinator")
    pending = registration_register(actor=crowd[4], session=pending_session)
    reply = client.post(url(pending_session, f"registrations/{pending.pk}/approve/"))
    assert reply.status_code == 200 and reply.json()["status"] == "confirmed"


def test_coordinator_actions_bad_input(api_client_for, coordinator, space, crowd, learner):
    session = make_session(coordinator, space, capacity=1)
    regs = [registration_register(actor=u, session=session) for u in crowd[:3]]
    client = api_client_for(coordinator)
    # Shifting a confirmed seat, a non-number, a registration of another session.
    assert (
        client.post(url(session, f"registrations/{regs[0].pk}/shift/"), {"by": 1}, format="json")
    ).status_code == 400
    assert (
        client.post(url(session, f"registrations/{regs[1].pk}/shift/"), {"by": "up"}, format="json")
    ).status_code == 400
    other = make_session(coordinator, space, title="Other")
    assert client.post(url(other, f"registrations/{regs[1].pk}/remove/")).status_code == 404
    # Moving to the same session, to a session that does not exist.
    assert (
        client.post(
            url(session, f"registrations/{regs[1].pk}/move/"), {"to": session.pk}, format="json"
        )
    ).status_code == 400
    assert (
        client.post(
            url(session, f"registrations/{regs[1].pk}/move/"), {"to": 999999}, format="json"
        )
    ).status_code == 400
    # A learner may do none of it.
    mine = api_client_for(learner)
    assert mine.post(url(session, f"registrations/{regs[1].pk}/remove/")).status_code == 404
    assert mine.post(url(session, f"registrations/{regs[0].pk}/approve/")).status_code == 403
    assert (
        mine.post(url(session, f"registrations/{regs[2].pk}/shift/"), {"by": -1}, format="json")
    ).status_code == 404
    assert list(session.registrations.order_by("id").values_list("status", "position")) == [
        ("confirmed", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]


def test_parts_rest(api_client_for, training, coordinator, learner):
    client = api_client_for(coordinator)
    start = training.starts_at + timedelta(days=1)
    reply = client.post(
        url(training, "parts/"),
        {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()},
        format="json",
    )
    assert reply.status_code == 201
    part = reply.json()["id"]
    reply = client.patch(url(training, f"parts/{part}/"), {"location": "Room 9"}, format="json")
    assert reply.status_code == 200 and reply.json()["location"] == "Room 9"
    detail = api_client_for(learner).get(url(training)).json()
    assert detail["parts"][0]["location"] == "Room 9" and detail["sequence"] == 2
    # Bad input: an end before the start, a learner, a missing part, garbage dates.
    reply = client.patch(
        url(training, f"parts/{part}/"), {"ends_at": start.isoformat()}, format="json"
    )
    assert reply.status_code == 400
    reply = api_client_for(learner).post(
        url(training, "parts/"),
        {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()},
        format="json",
    )
    assert reply.status_code == 403
    assert client.delete(url(training, "parts/999999/")).status_code == 404
    assert (
        client.post(url(training, "parts/"), {"starts_at": "soon", "ends_at": ""}, format="json")
    ).status_code == 400
    assert training.parts.count() == 1
    assert client.delete(url(training, f"parts/{part}/")).status_code == 204
    assert training.parts.count() == 0


def test_series_rest(api_client_for, coordinator, space, learner):
    client = api_client_for(coordinator)
    start = timezone.now() + timedelta(days=2)
    body = {
        "space": space.pk,
        "kind": "coaching",
        "title": "Weekly coaching",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "capacity": 2,
        "count": 3,
    }
    reply = client.post("/api/v1/sessions/series/", body, format="json")
    assert reply.status_code == 201, reply.json()
    first, second, third = reply.json()["occurrences"]
    reply = client.post(
        f"/api/v1/sessions/{second}/series/update/",
        {"scope": "following", "capacity": 5},
        format="json",
    )
    assert reply.status_code == 200 and [s["capacity"] for s in reply.json()] == [5, 5]
    reply = client.post(f"/api/v1/sessions/{third}/series/cancel/", {"scope": "one"}, format="json")
    assert reply.status_code == 200 and reply.json()[0]["status"] == "cancelled"
    # Bad input: a learner, a zero count, an unknown scope.
    assert (
        api_client_for(learner).post("/api/v1/sessions/series/", body, format="json").status_code
        == 403
    )
    reply = client.post("/api/v1/sessions/series/", {**body, "count": 0}, format="json")
    assert reply.status_code == 400 and "count" in reply.json()["error"]["details"]
    reply = client.post(f"/api/v1/sessions/{first}/series/cancel/", {"scope": "all"}, format="json")
    assert reply.status_code == 400
    assert SessionSeries.objects.count() == 1
    assert Session.objects.filter(status="cancelled").count() == 1


def test_attendance_rest_and_csv(api_client_for, coordinator, space, trainer, crowd):
    session = make_session(coordinator, space, capacity=3, trainers=[trainer], title="=cmd|x")
    regs = [registration_register(actor=u, session=session) for u in crowd[:4]]
    client = api_client_for(trainer)
    sheet = client.get(url(session, "attendance/")).json()
    assert sheet["open"] is False and len(sheet["rows"]) == 3
    reply = client.post(
        url(session, "attendance/"),
        {"registration": regs[0].pk, "attendance": "present"},
        format="json",
    )
    assert reply.status_code == 400  # the sheet is not open yet
    start_soon(session)
    for reg, mark in zip(regs[:2], ["present", "absent"], strict=True):
        reply = client.post(
            url(session, "attendance/"), {"registration": reg.pk, "attendance": mark}, format="json"
        )
        assert reply.status_code == 200 and reply.json()["attendance"] == mark
    rows = list(
        csv.reader(io.StringIO(client.get(url(session, "attendance.csv")).content.decode()))
    )
    assert rows[0][0] == "learner" and len(rows) == 4
    assert {r[5] for r in rows[1:]} == {"present", "absent", "unmarked"}
    assert rows[1][3] == "'=cmd|x"  # no formula injection
    no_shows = client.get(url(session, "attendance.csv") + "?only=no-shows")
    assert no_shows["Content-Disposition"].endswith('no-shows.csv"')
    names = [r[1] for r in csv.reader(io.StringIO(no_shows.content.decode()))][1:]
    assert names == sorted(["crowd1", "crowd2"])


def test_attendance_bad_input(api_client_for, coordinator, space, trainer, crowd, learner):
    session = make_session(coordinator, space, capacity=1, trainers=[trainer])
    regs = [registration_register(actor=u, session=session) for u in crowd[:2]]
    start_soon(session)
    client = api_client_for(trainer)
    for body in (
        {"registration": regs[0].pk, "attendance": "asleep"},
        {"registration": regs[1].pk, "attendance": "present"},  # waitlisted
        {"attendance": "present"},
        {"registration": "abc", "attendance": "present"},
    ):
        assert client.post(url(session, "attendance/"), body, format="json").status_code == 400
    assert (
        client.post(
            url(session, "attendance/"),
            {"registration": 999999, "attendance": "present"},
            format="json",
        ).status_code
        == 404
    )
    learner_client = api_client_for(learner)
    reply = learner_client.post(
        url(session, "attendance/"),
        {"registration": regs[0].pk, "attendance": "present"},
        format="json",
    )
    assert reply.status_code == 403
    assert learner_client.get(url(session, "attendance/")).status_code == 404
    assert learner_client.get(url(session, "attendance.csv")).status_code == 404
    assert client.get(url(session, "attendance.csv") + "?only=everyone").status_code == 400
    assert not Registration.objects.exclude(attendance="").exists()


def test_claim_and_reminder_fields_are_validated(api_client_for, training, coordinator):
    client = api_client_for(coordinator)
    for body in (
        {"claim_hours": 0},
        {"claim_hours": -2},
        {"reminder_hours": -1},
        {"claim_hours": "x"},
    ):
        assert client.patch(url(training), body, format="json").status_code == 400
    reply = client.patch(url(training), {"claim_hours": 12, "reminder_hours": 2}, format="json")
    assert reply.status_code == 200 and reply.json()["claim_hours"] == 12
    assert (
        client.patch(url(training), {"claim_hours": None}, format="json").json()["claim_hours"]
        is None
    )


def test_new_endpoints_are_in_the_openapi_schema(api_client_for, learner):
    schema = api_client_for(learner).get("/api/schema/", {"format": "json"}).content.decode()
    for path in (
        "/api/v1/sessions/{id}/offer/accept/",
        "/api/v1/sessions/{id}/attendance/",
        "/api/v1/sessions/{id}/attendance.csv",
        "/api/v1/sessions/{id}/parts/",
        "/api/v1/sessions/series/",
        "/api/v1/sessions/{id}/registrations/{rid}/shift/",
    ):
        assert path in schema, path


def test_move_refuses_malformed_and_foreign_targets(api_client_for, coordinator, space, crowd):
    from tests.factories import SpaceFactory

    session = make_session(coordinator, space, capacity=1)
    regs = [registration_register(actor=u, session=session) for u in crowd[:2]]
    elsewhere = SpaceFactory(name="Elsewhere")
    coordinator.spaces.add(elsewhere)
    foreign = make_session(coordinator, elsewhere, title="Foreign")
    coordinator.spaces.remove(elsewhere)
    client = api_client_for(coordinator)
    move = url(session, f"registrations/{regs[1].pk}/move/")
    for to in ("abc", "²", None, 10**20, foreign.pk):
        reply = client.post(move, {"to": to}, format="json")
        assert reply.status_code == 400, to
        assert "to" in reply.json()["error"]["details"]
    assert client.post(move, {}, format="json").status_code == 400
    assert list(session.registrations.order_by("id").values_list("status", flat=True)) == [
        "confirmed",
        "waitlisted",
    ]


def test_approving_is_refused_before_the_status_is_told(api_client_for, coordinator, space, crowd):
    """Someone who may not approve learns nothing of the registration (its status)."""
    session = make_session(coordinator, space, approval="coordinator")
    pending = registration_register(actor=crowd[0], session=session)
    seated = registration_register(actor=coordinator, session=session, user=crowd[1])
    assert (pending.status, seated.status) == ("pending", "confirmed")
    learner = api_client_for(crowd[2])
    for registration in (pending, seated):
        reply = learner.post(url(session, f"registrations/{registration.pk}/approve/"))
        assert reply.status_code == 403
        assert "awaiting" not in reply.content.decode()
    # The coordinator is told: the seated one is not awaiting approval.
    reply = api_client_for(coordinator).post(url(session, f"registrations/{seated.pk}/approve/"))
    assert reply.status_code == 400 and "not awaiting approval" in reply.content.decode()
    pending.refresh_from_db()
    assert pending.status == "pending"
