"""The sign-in sheet marked offline and synced later (issue 21): each mark carries the time
it was made; replays change nothing, the latest mark wins, forged times are refused or
brought back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions import services
from sessions.models import Registration
from tests.sessions.conftest import make_session
from tests.sessions.test_claims_attendance import start_soon

pytestmark = pytest.mark.django_db


@pytest.fixture
def course_session(trainer, coordinator, space):
    """A session its ``trainer`` takes attendance of."""
    return make_session(coordinator, space, trainers=[trainer], capacity=5)


def url(session) -> str:
    return f"/api/v1/sessions/{session.pk}/attendance/"


def test_offline_marks_replayed_and_out_of_order(
    course_session, trainer, coordinator, learner, api_client_for, published
):
    session = course_session
    reg = services.registration_register(actor=learner, session=session)
    start_soon(session)
    client = api_client_for(trainer)
    now = timezone.now()
    made = now - timedelta(minutes=3)
    mark = {"registration": reg.pk, "attendance": "present", "marked_at": made.isoformat()}
    first = client.post(url(session), mark, format="json")
    assert first.status_code == 200 and first.json()["attendance"] == "present"
    events = len(published(f"{session.topic}.attendance"))
    # The same mark sent again (the sync was cut before its answer): nothing changes.
    again = client.post(url(session), dict(mark, client_id="x"), format="json")
    assert again.status_code == 200 and again.json()["attendance"] == "present"
    assert len(published(f"{session.topic}.attendance")) == events
    # A co-trainer marked "late" online a minute ago; an older offline mark arriving after
    # it does not undo it, and the answer says what the sheet holds.
    services.attendance_mark(actor=coordinator, registration=reg, attendance="late")
    older = client.post(
        url(session),
        {"registration": reg.pk, "attendance": "absent", "marked_at": made.isoformat()},
        format="json",
    )
    assert older.status_code == 200 and older.json()["attendance"] == "late"
    # A mark dated in the future is taken as made now: it wins over older ones only.
    future = client.post(
        url(session),
        {
            "registration": reg.pk,
            "attendance": "excused",
            "marked_at": (now + timedelta(days=2)).isoformat(),
        },
        format="json",
    )
    assert future.json()["attendance"] == "excused"
    reg.refresh_from_db()
    assert reg.attendance_marked_at <= timezone.now()


def test_offline_mark_before_the_sheet_opened_is_refused(
    course_session, trainer, learner, api_client_for
):
    session = course_session
    reg = services.registration_register(actor=learner, session=session)
    start_soon(session)
    forged = session.starts_at - timedelta(hours=2)
    response = api_client_for(trainer).post(
        url(session),
        {"registration": reg.pk, "attendance": "present", "marked_at": forged.isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert Registration.objects.get(pk=reg.pk).attendance == ""
