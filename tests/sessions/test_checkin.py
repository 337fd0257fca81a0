"""Self check-in: the trainer shows a code (and its QR code) per date; learners with a
confirmed seat check in from their phone within the window; the sign-in sheet fills in
live; nobody else can check in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from sessions import services
from sessions.models import CheckIn
from sessions.selectors import checkin_code
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def seated(clock, coordinator, space, trainer, learner):
    start = clock.now + timedelta(days=1)
    session = make_session(
        coordinator, space, starts_at=start, ends_at=start + timedelta(hours=3), trainers=[trainer]
    )
    registration = services.registration_register(actor=learner, session=session)
    return session, registration


def test_check_in_opens_15_minutes_before_and_closes_at_the_end(clock, seated, learner):
    session, registration = seated
    code = checkin_code(session=session)
    clock.now = session.starts_at - timedelta(minutes=16)
    with pytest.raises(ValidationError):
        services.checkin(actor=learner, session=session, code=code)
    clock.now = session.starts_at - timedelta(minutes=15)
    services.checkin(actor=learner, session=session, code=code.lower())  # typed in lower case
    registration.refresh_from_db()
    assert registration.attendance == "present"
    assert registration.attendance_marked_by == learner
    # Again: nothing more.
    services.checkin(actor=learner, session=session, code=code)
    assert CheckIn.objects.filter(registration=registration).count() == 1
    clock.now = session.ends_at
    CheckIn.objects.all().delete()
    with pytest.raises(ValidationError):
        services.checkin(actor=learner, session=session, code=code)


def test_late_check_in_and_a_parts_own_code(clock, seated, coordinator, learner):
    session, registration = seated
    part = services.part_add(
        actor=coordinator,
        session=session,
        starts_at=session.starts_at + timedelta(days=1),
        ends_at=session.ends_at + timedelta(days=1),
    )
    clock.now = session.starts_at + timedelta(minutes=20)
    # The part's code is not today's.
    with pytest.raises(ValidationError):
        services.checkin(
            actor=learner, session=session, code=checkin_code(session=session, part=part)
        )
    services.checkin(actor=learner, session=session, code=checkin_code(session=session))
    registration.refresh_from_db()
    assert registration.attendance == "late"
    clock.now = part.starts_at
    check_in = services.checkin(
        actor=learner, session=session, code=checkin_code(session=session, part=part)
    )
    assert check_in.part == part


def test_nobody_else_checks_in(clock, seated, learner2, outsider, trainer, space, coordinator):
    session, _registration = seated
    code = checkin_code(session=session)
    with pytest.raises(PermissionDenied):
        services.checkin(actor=learner2, session=session, code=code)  # no seat
    with pytest.raises(PermissionDenied):
        services.checkin(actor=trainer, session=session, code=code)
    services.registration_register(actor=learner2, session=session)
    clock.now = session.starts_at
    with pytest.raises(ValidationError):
        services.checkin(actor=learner2, session=session, code="AAAAAA")  # wrong code
    other = make_session(coordinator, space, starts_at=session.starts_at, ends_at=session.ends_at)
    with pytest.raises(ValidationError):  # another session's code
        services.checkin(actor=learner2, session=session, code=checkin_code(session=other))
    assert not CheckIn.objects.exists()


def test_pages_rest_qr_and_the_live_sheet(
    clock, client, api_client_for, seated, learner, learner2, trainer, published
):
    session, registration = seated
    code = checkin_code(session=session)
    client.force_login(trainer)
    shown = client.get(f"/sessions/{session.pk}/checkin/show/")
    assert shown.status_code == 200 and code in shown.content.decode()
    qr = client.get(f"/sessions/{session.pk}/checkin/qr.svg")
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
    assert qr.content.startswith(b"<?xml") and b"<svg" in qr.content
    codes = api_client_for(trainer).get(f"/api/v1/sessions/{session.pk}/checkin/codes/").json()
    assert codes[0]["code"] == code and codes[0]["url"].endswith(f"?code={code}")
    # Learners see neither the codes nor the QR code.
    client.force_login(learner)
    assert client.get(f"/sessions/{session.pk}/checkin/qr.svg").status_code in (403, 404)
    assert (
        api_client_for(learner).get(f"/api/v1/sessions/{session.pk}/checkin/codes/").status_code
        == 404
    )
    # The QR code's page: a GET changes nothing, the POST checks in.
    clock.now = session.starts_at
    page = client.get(f"/sessions/{session.pk}/checkin/?code={code}")
    assert page.status_code == 200 and code in page.content.decode()
    assert not CheckIn.objects.exists()
    client.post(f"/sessions/{session.pk}/checkin/", {"code": code})
    assert CheckIn.objects.filter(registration=registration).exists()
    [marked] = published(f"{session.topic}.attendance")
    assert marked.type == "attendance.marked" and marked.data["attendance"] == "present"
    # REST: someone without a seat is refused with nothing changed.
    refused = api_client_for(learner2).post(
        f"/api/v1/sessions/{session.pk}/checkin/", {"code": code}, format="json"
    )
    assert refused.status_code == 403
    assert (
        api_client_for(learner)
        .post(f"/api/v1/sessions/{session.pk}/checkin/", {"code": ""}, format="json")
        .status_code
        == 400
    )
