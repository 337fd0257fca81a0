"""Sessions become completed after their last part ends: a job queued for that time, the
sweep as the safety net; live, on the pages, and closed to registration changes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from sessions import services
from sessions.models import Registration, Session, SessionEvent
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db


def url(session: Session, rest: str = "") -> str:
    return f"/api/v1/sessions/{session.pk}/{rest}"


def status_of(session: Session) -> str:
    return Session.objects.values_list("status", flat=True).get(pk=session.pk)


def completion_jobs(session: Session) -> list[Any]:
    return [
        job.run_after
        for job in DBTaskResult.objects.filter(task_path__endswith="tasks.complete_session")
        if job.args_kwargs["args"] == [session.pk]
    ]


def test_the_job_is_queued_for_the_last_parts_end(coordinator, space, commit):
    session = make_session(coordinator, space)
    commit()
    assert completion_jobs(session) == [session.ends_at]
    start = session.ends_at + timedelta(days=1)
    services.part_add(
        actor=coordinator, session=session, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    commit()
    assert completion_jobs(session)[-1] == start + timedelta(hours=2)


def test_completed_exactly_at_the_last_parts_end_once_and_live(
    coordinator, space, learner, clock, published
):
    session = make_session(coordinator, space, starts_at=clock.now + timedelta(days=1))
    start = session.ends_at + timedelta(days=1)
    services.part_add(
        actor=coordinator, session=session, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    services.registration_register(actor=learner, session=session)
    clock.now = session.ends_at  # the first day is over, the second part is not
    assert services.session_complete(session_id=session.pk) is False
    assert services.sweep()["completed"] == 0
    clock.now = start + timedelta(hours=2) - timedelta(seconds=1)
    assert services.session_complete(session_id=session.pk) is False
    assert status_of(session) == "scheduled"
    clock.advance(seconds=1)
    seen = len(published(session.topic))
    assert services.session_complete(session_id=session.pk) is True
    assert services.session_complete(session_id=session.pk) is False  # once
    assert status_of(session) == "completed"
    events = {e.type: e for e in published(session.topic)[seen:]}
    assert events["session.changed"].data["status"] == "completed"
    assert events["session.completed"].id is not None  # durable: replayed after a reconnect
    assert "session.seats" in events
    assert SessionEvent.objects.filter(session=session, type="session.completed").count() == 1


def test_the_queued_job_completes_a_session_that_has_ended(coordinator, space, learner, run_tasks):
    start = timezone.now() - timedelta(hours=4)
    session = make_session(coordinator, space, starts_at=start, ends_at=start + timedelta(hours=3))
    run_tasks()
    assert status_of(session) == "completed"


def test_the_sweep_completes_what_no_job_did_and_spares_cancelled_ones(coordinator, space, clock):
    ended = make_session(coordinator, space, starts_at=clock.now + timedelta(days=1))
    called_off = make_session(coordinator, space, starts_at=clock.now + timedelta(days=1))
    services.session_cancel(actor=coordinator, session=called_off)
    later = make_session(coordinator, space, starts_at=clock.now + timedelta(days=3))
    clock.now = ended.ends_at + timedelta(minutes=5)
    assert services.sweep()["completed"] == 1
    assert services.sweep()["completed"] == 0
    assert (status_of(ended), status_of(called_off), status_of(later)) == (
        "completed",
        "cancelled",
        "scheduled",
    )


def test_sweep_command_run_here_reports_completions(coordinator, space, capsys):
    start = timezone.now() - timedelta(hours=4)
    session = make_session(coordinator, space, starts_at=start, ends_at=start + timedelta(hours=1))
    call_command("sessions_sweep", "--now")
    assert "'completed': 1" in capsys.readouterr().out
    assert status_of(session) == "completed"


# -- a completed session refuses registration changes ----------------------------------------
@pytest.fixture
def over(coordinator, space, trainer, crowd, clock) -> Session:
    """Ended and completed: crowd0 confirmed, crowd1 waiting, crowd2 awaiting approval."""
    session = make_session(
        coordinator,
        space,
        capacity=1,
        trainers=[trainer],
        approval="coordinator",
        starts_at=clock.now + timedelta(days=1),
    )
    for person in crowd[:2]:
        services.registration_register(actor=coordinator, session=session, user=person)
    services.registration_register(actor=crowd[2], session=session)
    clock.now = session.ends_at
    assert services.session_complete(session_id=session.pk)
    return session


def snapshot(session: Session) -> tuple[Any, ...]:
    return (
        list(
            session.registrations.order_by("pk").values_list("pk", "status", "position", "revision")
        ),
        SessionEvent.objects.filter(session=session).count(),
    )


def test_completed_session_refuses_registration_changes(
    over, coordinator, learner, crowd, space, api_client_for
):
    regs = {r.user_id: r for r in over.registrations.all()}
    other = make_session(coordinator, space, starts_at=over.ends_at + timedelta(days=2))
    before = snapshot(over)
    coordinate = api_client_for(coordinator)
    attempts = [
        (api_client_for(learner), "register/", {}),
        (coordinate, "register/", {"user": learner.pk}),
        (api_client_for(crowd[0]), "cancel/", {}),
        (api_client_for(crowd[1]), "cancel/", {}),
        (coordinate, f"registrations/{regs[crowd[0].pk].pk}/remove/", {}),
        (coordinate, f"registrations/{regs[crowd[2].pk].pk}/approve/", {}),
        (coordinate, f"registrations/{regs[crowd[0].pk].pk}/move/", {"to": other.pk}),
        (coordinate, f"registrations/{regs[crowd[1].pk].pk}/shift/", {"by": 0}),
        (coordinate, "waitlist/reorder/", {"ids": [regs[crowd[1].pk].pk]}),
    ]
    for client, rest, data in attempts:
        reply = client.post(url(over, rest), data, format="json")
        assert reply.status_code == 400, (rest, reply.status_code, reply.content)
        assert "over" in str(reply.json()["error"]["details"]), rest
    assert snapshot(over) == before
    assert not other.registrations.exists()
    # Nor can the session itself change.
    reply = coordinate.patch(url(over), {"capacity": 5}, format="json")
    assert reply.status_code == 400
    assert Session.objects.get(pk=over.pk).capacity == 1


def test_attendance_can_still_be_taken_after_completion(over, trainer, crowd):
    seat = Registration.objects.get(session=over, user=crowd[0])
    services.attendance_mark(actor=trainer, registration=seat, attendance="present")
    seat.refresh_from_db()
    assert seat.attendance == "present"


def test_pages_show_a_completed_session(over, client, crowd, coordinator, clock):
    client.force_login(crowd[0])
    page = client.get(f"/sessions/{over.pk}/").content.decode()
    assert 'data-testid="session-status" id="session-status">Completed<' in page
    assert 'id="session-over">This session is over.' in page  # shown, not hidden
    assert 'data-testid="cancel-mine"' not in page and 'data-testid="register"' not in page
    assert f'data-testid="completed-{over.pk}"' in client.get("/sessions/").content.decode()
    day = timezone.localtime(over.starts_at).date().isoformat()
    agenda = client.get(f"/calendars/?view=list&date={day}").content.decode()
    assert 'data-testid="agenda-completed"' in agenda
    client.force_login(coordinator)
    manage = client.get(f"/sessions/{over.pk}/").content.decode()
    assert "Completed" in manage
    # No remove / move / approve / reorder buttons on the record of a completed session.
    assert f'action="/sessions/{over.pk}/registrations/' not in manage


def test_agenda_api_says_completed(over, crowd, api_client_for):
    day = timezone.localtime(over.starts_at).date()
    reply = api_client_for(crowd[0]).get(
        "/api/v1/calendars/agenda/",
        {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()},
    )
    assert reply.status_code == 200
    assert [item["status"] for item in reply.json()] == ["completed"]
