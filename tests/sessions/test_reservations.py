"""Manager seat reservations: a manager holds N seats for the team, names people later
(confirmed registrations, invitations), and at the deadline the seats not named go back to
the pool and promote the waiting list (the job, or the sweep; a controlled clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from hub.accounts.models import Role
from sessions import services
from sessions.models import Registration, RegistrationStatus, SeatReservation, Session
from sessions.selectors import seats_state
from tests.calendars.conftest import calendar_parts
from tests.factories import TeamFactory, UserFactory
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db


def fresh(session: Session) -> Session:
    return Session.objects.get(pk=session.pk)


@pytest.fixture
def session(coordinator, space):
    return make_session(coordinator, space, capacity=4)


def reserve(manager, session, seats=2, hours=24):
    from django.utils import timezone

    return services.reservation_reserve(
        actor=manager,
        session=session,
        seats=seats,
        deadline=timezone.now() + timedelta(hours=hours),
    )


def test_reserved_seats_are_taken_until_named(session, manager, learner, crowd):
    reservation = reserve(manager, session, seats=3)
    assert reservation.held == 3 and fresh(session).reserved_seats == 3
    state = seats_state(session=fresh(session))
    assert state["seats_left"] == 1 and state["reserved"] == 3
    # The one free seat goes, then the next learner waits.
    services.registration_register(actor=crowd[0], session=session)
    waiting = services.registration_register(actor=crowd[1], session=session)
    assert waiting.status == RegistrationStatus.WAITLISTED
    # Naming a report: a confirmed registration from the reservation.
    named = services.reservation_name(actor=manager, reservation=reservation, user=learner)
    assert named.status == RegistrationStatus.CONFIRMED and named.reservation_id == reservation.pk
    assert named.registered_by_id == manager.pk
    reservation.refresh_from_db()
    assert reservation.held == 2 and fresh(session).reserved_seats == 2
    assert seats_state(session=fresh(session))["seats_left"] == 0


def test_named_people_get_the_notice_and_the_invitation(
    session, manager, learner, run_tasks, mailoutbox
):
    learner.email = "ada@example.org"
    learner.save(update_fields=["email"])
    reservation = reserve(manager, session)
    services.reservation_name(actor=manager, reservation=reservation, user=learner)
    for _ in range(4):
        if not run_tasks():
            break
    methods = [
        method for m in mailoutbox if "ada@example.org" in m.to for method, *_ in calendar_parts(m)
    ]
    assert methods == ["REQUEST"]


def test_more_than_free_is_a_conflict_and_holds_nothing(session, manager, crowd):
    for person in crowd[:3]:
        services.registration_register(actor=person, session=session)
    with pytest.raises(services.SeatConflict, match="Only 1 seats are free"):
        reserve(manager, session, seats=2)
    assert not SeatReservation.objects.exists() and fresh(session).reserved_seats == 0


def test_reserving_again_adds_seats(session, manager):
    reserve(manager, session, seats=1)
    reservation = reserve(manager, session, seats=2)
    assert (reservation.seats, reservation.held) == (3, 3)
    assert SeatReservation.objects.count() == 1 and fresh(session).reserved_seats == 3


def test_who_may_reserve_and_name(
    session, manager, learner, learner2, coordinator, space, outsider
):
    with pytest.raises(PermissionDenied):
        reserve(learner, session)  # not a manager
    reservation = reserve(manager, session, seats=2)
    other_boss = UserFactory(username="boss2", roles=[Role.MANAGER], spaces=[space])
    stranger = UserFactory(username="stranger", roles=[Role.LEARNER], spaces=[space])
    TeamFactory(name="Team B", space=space, manager=other_boss, members=[stranger])
    with pytest.raises(PermissionDenied):  # someone else's reservation
        services.reservation_name(actor=other_boss, reservation=reservation, user=stranger)
    with pytest.raises(PermissionDenied):  # not the manager's report
        services.reservation_name(actor=manager, reservation=reservation, user=stranger)
    # A coordinator of the session may name the manager's reports for them.
    services.reservation_name(actor=coordinator, reservation=reservation, user=learner2)
    with pytest.raises(ValidationError, match="already has a seat"):
        services.reservation_name(actor=manager, reservation=reservation, user=learner2)
    assert Registration.objects.filter(session=session).count() == 1


def test_bad_input_changes_nothing(session, manager):
    from django.utils import timezone

    for seats, deadline in [
        (0, timezone.now() + timedelta(hours=1)),
        (1, timezone.now() - timedelta(hours=1)),
        (1, session.starts_at + timedelta(hours=1)),
    ]:
        with pytest.raises(ValidationError):
            services.reservation_reserve(
                actor=manager, session=session, seats=seats, deadline=deadline
            )
    assert not SeatReservation.objects.exists()


def test_a_waitlisted_report_takes_a_reserved_seat(session, manager, learner, crowd):
    reservation = reserve(manager, session, seats=1)
    for person in crowd[:3]:
        services.registration_register(actor=person, session=session)
    waiting = services.registration_register(actor=learner, session=session)
    assert waiting.position == 1
    services.registration_register(actor=crowd[3], session=session)  # position 2
    named = services.reservation_name(actor=manager, reservation=reservation, user=learner)
    assert named.pk == waiting.pk and named.status == RegistrationStatus.CONFIRMED
    assert Registration.objects.get(session=session, user=crowd[3]).position == 1


def test_deadline_returns_seats_and_promotes_the_waiting_list(
    session, manager, learner, learner2, crowd, clock, run_tasks
):
    reservation = reserve(manager, session, seats=3)
    services.reservation_name(actor=manager, reservation=reservation, user=learner)
    services.registration_register(actor=crowd[0], session=session)  # the free seat
    waiting = [services.registration_register(actor=p, session=session) for p in crowd[1:4]]
    assert [w.position for w in waiting] == [1, 2, 3]
    # Before the deadline nothing moves, and naming still works until it.
    assert services.reservations_sweep(now=clock.now) == 0
    clock.advance(hours=24)
    with pytest.raises(ValidationError, match="deadline"):
        services.reservation_name(actor=manager, reservation=reservation, user=learner2)
    assert services.sweep(now=clock.now)["reservations_released"] == 1
    reservation.refresh_from_db()
    assert reservation.held == 0 and reservation.released_at == clock.now
    assert fresh(session).reserved_seats == 0
    statuses = [Registration.objects.get(pk=w.pk).status for w in waiting]
    assert statuses == ["confirmed", "confirmed", "waitlisted"]
    assert Registration.objects.get(pk=waiting[2].pk).position == 1
    # Once: the job queued for the deadline finds nothing to do.
    assert services.reservation_expire(reservation_id=reservation.pk, now=clock.now) is False
    run_tasks()
    assert fresh(session).reserved_seats == 0


def test_release_job_is_queued_for_the_deadline(session, manager, commit):
    from django_tasks_db.models import DBTaskResult

    reservation = reserve(manager, session, seats=1, hours=5)
    commit()
    job = DBTaskResult.objects.get(task_path__endswith="release_reservation")
    assert job.args_kwargs["args"] == [reservation.pk]
    assert job.run_after == reservation.deadline


def test_manager_releases_early_and_cancelling_the_session_frees_them(
    session, manager, coordinator, crowd
):
    reservation = reserve(manager, session, seats=4)
    waiting = services.registration_register(actor=crowd[0], session=session)
    assert waiting.status == RegistrationStatus.WAITLISTED
    services.reservation_release(actor=manager, reservation=reservation)
    assert Registration.objects.get(pk=waiting.pk).status == RegistrationStatus.CONFIRMED
    with pytest.raises(ValidationError):
        services.reservation_release(actor=manager, reservation=reservation)
    reserve(manager, session, seats=2)
    services.session_cancel(actor=coordinator, session=session)
    assert fresh(session).reserved_seats == 0
    assert SeatReservation.objects.get().held == 0


def test_rest_reserve_name_release_and_conflict(api_client_for, session, manager, learner, crowd):
    api = api_client_for(manager)
    from django.utils import timezone

    deadline = (timezone.now() + timedelta(hours=2)).isoformat()
    r = api.post(
        f"/api/v1/sessions/{session.pk}/reservations/",
        {"seats": 3, "deadline": deadline},
        format="json",
    )
    assert r.status_code == 201, r.content
    rid = r.json()["id"]
    assert r.json()["held"] == 3
    r = api.post(
        f"/api/v1/sessions/{session.pk}/reservations/",
        {"seats": 2, "deadline": deadline},
        format="json",
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"
    r = api.post(f"/api/v1/sessions/reservations/{rid}/name/", {"user": learner.pk}, format="json")
    assert r.status_code == 201 and r.json()["status"] == "confirmed"
    r = api.post(f"/api/v1/sessions/{session.pk}/reservations/", {"seats": "x"}, format="json")
    assert r.status_code == 400
    # Someone else's reservation is not there for them.
    assert (
        api_client_for(crowd[0]).post(f"/api/v1/sessions/reservations/{rid}/release/").status_code
        == 404
    )
    listed = api.get(f"/api/v1/sessions/{session.pk}/reservations/").json()
    assert [p["name"] for p in listed[0]["named"]] == [learner.name]
    assert api.post(f"/api/v1/sessions/reservations/{rid}/release/").status_code == 200
    assert fresh(session).reserved_seats == 0


def test_reservations_are_published_for_the_sessions_managers(session, manager, learner, published):
    reservation = reserve(manager, session, seats=2)
    services.reservation_name(actor=manager, reservation=reservation, user=learner)
    events = published(f"sessions.reservations.{session.pk}")
    assert [e.type for e in events] == ["reservations.changed", "reservations.changed"]
    assert events[-1].data["reservations"][0]["held"] == 1
    seats = [e for e in published(session.topic) if e.type == "session.seats"]
    assert seats[-1].data["reserved"] == 1


def test_session_page_forms(client, session, manager, learner, coordinator):
    client.force_login(manager)
    page = client.get(f"/sessions/{session.pk}/")
    assert b'data-testid="reserve-form"' in page.content
    r = client.post(
        f"/sessions/{session.pk}/reservations/",
        {
            "action": "reserve",
            "seats": "2",
            "deadline": (session.starts_at - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert r.status_code == 302
    reservation = SeatReservation.objects.get()
    page = client.get(f"/sessions/{session.pk}/")
    assert b'data-testid="name-form"' in page.content
    client.post(
        f"/sessions/{session.pk}/reservations/",
        {"action": "name", "reservation": reservation.pk, "user": learner.pk},
    )
    assert Registration.objects.get(user=learner).reservation_id == reservation.pk
    # Coordinators see the reservations table; the GET changed nothing.
    client.force_login(coordinator)
    page = client.get(f"/sessions/{session.pk}/")
    assert b'data-testid="reservations"' in page.content and learner.name.encode() in page.content
    assert client.get(f"/sessions/{session.pk}/reservations/").status_code == 405
