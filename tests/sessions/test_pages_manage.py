"""Coordinator pages: dashboard, create / edit / cancel (with errors shown), series, parts,
registrations and the waiting list, the sign-in sheet, CSV; learners answering an offer."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from sessions.models import Registration, Session, SessionSeries
from sessions.services import registration_cancel, registration_register
from tests.sessions.conftest import make_session


def local(dt, tz="UTC") -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def form_data(space, start, **extra):
    data = {
        "space": space.pk,
        "kind": "face_to_face",
        "title": "Forklift safety",
        "time_zone": "Europe/Paris",
        "starts_at": local(start, "Europe/Paris"),
        "ends_at": local(start + timedelta(hours=2), "Europe/Paris"),
        "capacity": "6",
        "approval": "none",
        "reminder_hours": "24",
    }
    data.update(extra)
    return data


def test_dashboard_lists_seats_and_waiting(client, coordinator, training, crowd):
    for u in crowd[:3]:
        registration_register(actor=u, session=training)
    client.force_login(coordinator)
    page = client.get("/sessions/manage/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-topic="sessions.session.{training.pk}"' in html
    assert f'data-testid="dash-seats-{training.pk}">0<' in html
    assert f'data-testid="dash-waiting-{training.pk}">1<' in html


def test_dashboard_is_not_for_learners(client, learner, training):
    client.force_login(learner)
    assert client.get("/sessions/manage/").status_code == 403
    assert client.get("/sessions/new/").status_code == 403
    assert client.get(f"/sessions/{training.pk}/edit/").status_code == 403
    assert client.get(f"/sessions/{training.pk}/attendance/").status_code == 403


def test_create_in_the_sessions_time_zone(client, coordinator, space):
    client.force_login(coordinator)
    start = (timezone.now() + timedelta(days=5)).replace(second=0, microsecond=0)
    reply = client.post("/sessions/new/", form_data(space, start))
    session = Session.objects.get()
    assert reply.status_code == 302 and reply.url == f"/sessions/{session.pk}/"
    assert session.starts_at == start and session.time_zone == "Europe/Paris"


def test_create_shows_errors_and_changes_nothing(client, coordinator, space):
    client.force_login(coordinator)
    start = timezone.now() + timedelta(days=5)
    bad = form_data(space, start, ends_at=local(start - timedelta(hours=1), "Europe/Paris"))
    page = client.post("/sessions/new/", bad)
    assert page.status_code == 200 and b'data-testid="form-errors"' in page.content
    assert b"The end must be after the start." in page.content
    page = client.post("/sessions/new/", form_data(space, start, capacity="-4"))
    assert b"The capacity cannot be negative." in page.content
    page = client.post("/sessions/new/", form_data(space, start, time_zone="Moon/Base"))
    assert b"Unknown time zone." in page.content
    page = client.post("/sessions/new/", form_data(space, start, claim_hours="0"))
    assert b"claim window" in page.content.lower()
    assert not Session.objects.exists()


def test_learner_cannot_create_by_form(client, learner, space):
    client.force_login(learner)
    page = client.post("/sessions/new/", form_data(space, timezone.now() + timedelta(days=5)))
    assert page.status_code == 403
    assert not Session.objects.exists()


def test_create_a_series_then_edit_the_following_ones(client, coordinator, space):
    client.force_login(coordinator)
    start = (timezone.now() + timedelta(days=5)).replace(second=0, microsecond=0)
    client.post("/sessions/new/", form_data(space, start, repeat_count="3", interval_days="7"))
    series = SessionSeries.objects.get()
    _first, second, third = series.occurrences.order_by("starts_at")
    page = client.get(f"/sessions/{second.pk}/edit/")
    assert page.status_code == 200 and b'name="scope"' in page.content
    data = form_data(space, second.starts_at, title="Renamed", scope="following")
    data.pop("space")
    reply = client.post(f"/sessions/{second.pk}/edit/", data)
    assert reply.status_code == 302
    assert list(series.occurrences.order_by("starts_at").values_list("title", flat=True)) == [
        "Forklift safety",
        "Renamed",
        "Renamed",
    ]
    reply = client.post(f"/sessions/{third.pk}/cancel-session/", {"scope": "one"}, follow=True)
    third.refresh_from_db()
    assert third.status == "cancelled"


def test_edit_shows_errors(client, coordinator, training, space):
    client.force_login(coordinator)
    data = form_data(space, training.starts_at, capacity="-1")
    data.pop("space")
    page = client.post(f"/sessions/{training.pk}/edit/", data)
    assert page.status_code == 200 and b"The capacity cannot be negative." in page.content
    training.refresh_from_db()
    assert training.capacity == 2


def test_waitlist_actions_by_form(client, coordinator, space, crowd):
    session = make_session(coordinator, space, capacity=1)
    regs = [registration_register(actor=u, session=session) for u in crowd[:4]]
    other = make_session(coordinator, space, title="Other", capacity=5)
    client.force_login(coordinator)
    base = f"/sessions/{session.pk}/registrations"
    page = client.get(f"/sessions/{session.pk}/")
    assert b'data-testid="waitlist"' in page.content and b"Other" in page.content
    client.post(f"{base}/down/", {"registration": regs[1].pk})
    client.post(f"{base}/up/", {"registration": regs[3].pk})
    order = list(
        session.registrations.filter(status="waitlisted")
        .order_by("position")
        .values_list("user__username", flat=True)
    )
    assert order == ["crowd2", "crowd3", "crowd1"]
    client.post(f"{base}/remove/", {"registration": regs[2].pk})
    client.post(f"{base}/move/", {"registration": regs[3].pk, "to": other.pk})
    assert Registration.objects.get(session=other).user == crowd[3]
    # Bad input: unknown action, missing registration, a target that does not exist.
    assert client.post(f"{base}/explode/", {"registration": regs[1].pk}).status_code == 404
    assert client.post(f"{base}/remove/", {"registration": "x"}).status_code == 404
    reply = client.post(f"{base}/move/", {"registration": regs[1].pk, "to": "999999"}, follow=True)
    assert b"Choose a session to move to." in reply.content
    reply = client.post(f"{base}/down/", {"registration": regs[0].pk}, follow=True)
    assert b"not on the waiting list" in reply.content


def test_parts_by_form(client, coordinator, training):
    client.force_login(coordinator)
    start = training.starts_at + timedelta(days=1)
    client.post(
        f"/sessions/{training.pk}/parts/",
        {"starts_at": local(start), "ends_at": local(start + timedelta(hours=3)), "location": "B2"},
    )
    part = training.parts.get()
    assert b'data-testid="parts"' in client.get(f"/sessions/{training.pk}/").content
    reply = client.post(
        f"/sessions/{training.pk}/parts/",
        {"starts_at": local(start), "ends_at": local(start - timedelta(hours=3))},
        follow=True,
    )
    assert b"The end must be after the start." in reply.content
    reply = client.post(f"/sessions/{training.pk}/parts/", {"starts_at": "x"}, follow=True)
    assert training.parts.count() == 1
    client.post(f"/sessions/{training.pk}/parts/{part.pk}/remove/")
    assert not training.parts.exists()


def test_sign_in_sheet_page(client, coordinator, space, trainer, crowd):
    session = make_session(coordinator, space, capacity=3, trainers=[trainer])
    regs = [registration_register(actor=u, session=session) for u in crowd[:2]]
    client.force_login(trainer)
    page = client.get(f"/sessions/{session.pk}/attendance/")
    assert page.status_code == 200 and b'data-testid="sheet-closed"' in page.content
    reply = client.post(
        f"/sessions/{session.pk}/attendance/",
        {"registration": regs[0].pk, "attendance": "present"},
        follow=True,
    )
    assert b"opens 15 minutes before" in reply.content
    start = timezone.now() + timedelta(minutes=5)
    Session.objects.filter(pk=session.pk).update(
        starts_at=start, ends_at=start + timedelta(hours=1)
    )
    client.post(
        f"/sessions/{session.pk}/attendance/", {"registration": regs[0].pk, "attendance": "late"}
    )
    regs[0].refresh_from_db()
    assert regs[0].attendance == "late"
    reply = client.post(
        f"/sessions/{session.pk}/attendance/",
        {"registration": regs[1].pk, "attendance": "sleeping"},
        follow=True,
    )
    assert b"Choose present, absent, late or excused." in reply.content
    csv_reply = client.get(f"/sessions/{session.pk}/attendance.csv?only=no-shows")
    assert csv_reply["Content-Type"].startswith("text/csv")
    assert b"crowd1" in csv_reply.content and b"crowd0" not in csv_reply.content


def test_learner_takes_an_offered_seat(client, coordinator, space, crowd):
    session = make_session(coordinator, space, capacity=1, claim_hours=2)
    regs = [registration_register(actor=u, session=session) for u in crowd[:2]]
    registration_cancel(actor=crowd[0], registration=regs[0])
    client.force_login(crowd[1])
    page = client.get(f"/sessions/{session.pk}/")
    assert b'data-testid="offer-accept"' in page.content
    assert client.post(f"/sessions/{session.pk}/offer/maybe/").status_code == 404
    client.post(f"/sessions/{session.pk}/offer/accept/")
    regs[1].refresh_from_db()
    assert regs[1].status == "confirmed"
    reply = client.post(f"/sessions/{session.pk}/offer/decline/", follow=True)
    assert b"No seat is offered" in reply.content


def test_manager_registers_a_report_from_the_page(client, manager, learner, training, crowd):
    client.force_login(manager)
    page = client.get(f"/sessions/{training.pk}/")
    assert b'data-testid="register-others"' in page.content
    assert b"Crowd0" not in page.content  # not a report
    client.post(f"/sessions/{training.pk}/register/", {"user": learner.pk})
    reg = Registration.objects.get(session=training, user=learner)
    assert reg.registered_by == manager and reg.status == "confirmed"
    # A stranger or garbage: refused, nothing changed.
    reply = client.post(f"/sessions/{training.pk}/register/", {"user": crowd[0].pk}, follow=True)
    assert b"You cannot register this person." in reply.content
    reply = client.post(f"/sessions/{training.pk}/register/", {"user": "abc"}, follow=True)
    assert b"Choose whom to register." in reply.content
    assert Registration.objects.filter(session=training).count() == 1


def test_dashboard_past_sessions(client, coordinator, space):
    past = make_session(coordinator, space, title="Yesterday's drill")
    start = timezone.now() - timedelta(days=3)
    Session.objects.filter(pk=past.pk).update(starts_at=start, ends_at=start + timedelta(hours=1))
    client.force_login(coordinator)
    assert b"Yesterday" not in client.get("/sessions/manage/").content
    page = client.get("/sessions/manage/?past=1")
    assert b"Yesterday" in page.content and b"Past sessions" in page.content


def test_move_by_form_refuses_bad_targets_with_a_4xx(client, coordinator, trainer, space, crowd):
    """A hand-made move form (``to=abc``, ``to=²``, none, a session of another space, a
    session its sender does not manage) is a 4xx that moves nobody, never a 500."""
    from tests.factories import SpaceFactory

    session = make_session(coordinator, space, capacity=1, trainers=[trainer])
    regs = [registration_register(actor=u, session=session) for u in crowd[:2]]
    elsewhere = SpaceFactory(name="Elsewhere")
    coordinator.spaces.add(elsewhere)
    foreign = make_session(coordinator, elsewhere, title="Foreign")
    coordinator.spaces.remove(elsewhere)
    other = make_session(coordinator, space, title="Other", capacity=5)
    base = f"/sessions/{session.pk}/registrations/move/"
    client.force_login(coordinator)
    for to in ("abc", "²", "", "-1", "0", str(10**20), "999999", str(foreign.pk)):
        reply = client.post(base, {"registration": regs[1].pk, "to": to})
        assert reply.status_code == 400, to
        assert b"Choose a session to move to." in reply.content
    assert client.post(base, {"registration": regs[1].pk}).status_code == 400
    # A registration of another session; the trainer, who manages this session only.
    stranger = registration_register(actor=crowd[3], session=other)
    assert client.post(base, {"registration": stranger.pk, "to": other.pk}).status_code == 404
    client.force_login(trainer)
    assert client.post(base, {"registration": regs[1].pk, "to": other.pk}).status_code == 403
    # A learner may not move anyone.
    client.force_login(crowd[0])
    assert client.post(base, {"registration": regs[1].pk, "to": other.pk}).status_code == 403
    assert list(session.registrations.order_by("id").values_list("status", flat=True)) == [
        "confirmed",
        "waitlisted",
    ]
    assert list(other.registrations.values_list("user__username", flat=True)) == ["crowd3"]


def test_registration_tables_alone_for_managers(client, coordinator, learner, space, crowd):
    """What the session page's script swaps in when registrations change: the same tables,
    as they are now; nobody else may read them."""
    session = make_session(coordinator, space, capacity=1)
    registration_register(actor=crowd[0], session=session)
    registration_register(actor=crowd[1], session=session)
    client.force_login(coordinator)
    tables = client.get(f"/sessions/{session.pk}/registrations/")
    assert tables.status_code == 200
    html = tables.content.decode()
    waitlist = html[html.index('data-testid="waitlist"') :]
    assert crowd[1].name in waitlist and "Nobody is waiting." not in waitlist
    assert crowd[0].name in html[: html.index('data-testid="waitlist"')]
    assert "<html" not in html  # the tables, not a page
    assert client.post(f"/sessions/{session.pk}/registrations/").status_code == 405
    client.force_login(learner)
    assert client.get(f"/sessions/{session.pk}/registrations/").status_code == 404
