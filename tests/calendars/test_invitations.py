"""A confirmed seat brings its calendar invitation by e-mail (a promotion too), once;
the seat given up cancels it."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from sessions import services
from tests.calendars.conftest import calendar_parts
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db


def _invitations(mailoutbox, email):
    return [m for m in mailoutbox if email in m.to and m.attachments]


def test_confirmed_and_promoted_learners_get_the_ics_once(
    coordinator, space, learner, learner2, run_tasks, mailoutbox
):
    learner.email, learner2.email = "ada@example.org", "bob@example.org"
    learner.save(update_fields=["email"])
    learner2.save(update_fields=["email"])
    session = make_session(coordinator, space, capacity=1, title="First aid")
    services.registration_register(actor=learner, session=session)
    services.registration_register(actor=learner2, session=session)  # waitlisted
    run_tasks()  # the notices; their commit queues the invitations
    run_tasks()
    [invite] = _invitations(mailoutbox, "ada@example.org")
    assert not _invitations(mailoutbox, "bob@example.org")
    [(method, content, part)] = calendar_parts(invite)
    assert method == "REQUEST" and part.get_filename().endswith(".ics")
    [event] = Calendar.from_ical(content).walk("VEVENT")
    assert str(event["UID"]).startswith(f"session-{session.pk}@")
    assert str(event["STATUS"]) == "CONFIRMED"

    services.registration_cancel(
        actor=learner, registration=session.registrations.get(user=learner)
    )  # learner2 is promoted
    run_tasks()
    run_tasks()
    run_tasks()  # one more run sends nothing more
    assert len(_invitations(mailoutbox, "bob@example.org")) == 1
    # Ada gave her seat up: her invitation is cancelled (once), nothing else.
    methods = [calendar_parts(m)[0][0] for m in _invitations(mailoutbox, "ada@example.org")]
    assert methods == ["REQUEST", "CANCEL"]


def test_no_invitation_when_the_seat_is_gone_by_the_time_the_job_runs(
    coordinator, space, learner, mailoutbox
):
    from calendars.services import invitation_send

    learner.email = "ada@example.org"
    learner.save(update_fields=["email"])
    session = make_session(coordinator, space, capacity=1)
    registration = services.registration_register(actor=learner, session=session)
    services.registration_cancel(actor=learner, registration=registration)
    assert invitation_send(registration_id=registration.pk) is False
    assert invitation_send(registration_id=987654) is False
    assert not _invitations(mailoutbox, "ada@example.org")
