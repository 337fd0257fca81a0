"""The back-office cannot change sessions or registrations behind the services' back
(row lock, renumbering, promotion, notices, SEQUENCE): it shows them read-only and points
to the coordinator pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from hub.accounts.models import User
from sessions.models import Registration, Session
from sessions.services import registration_register
from tests.sessions.conftest import make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    root = User.objects.create_superuser(username="root", email="root@example.org", password="x")
    client.force_login(root)
    return client


def session_row(session: Session) -> tuple[Any, ...]:
    return Session.objects.values_list(
        "status", "capacity", "starts_at", "ends_at", "title", "sequence"
    ).get(pk=session.pk)


def registration_rows(session: Session) -> list[tuple[Any, ...]]:
    return list(
        session.registrations.order_by("pk").values_list("pk", "status", "position", "revision")
    )


def test_session_change_form_shows_but_cannot_change(staff, coordinator, space, crowd):
    session = make_session(coordinator, space, capacity=1)
    for person in crowd[:3]:
        registration_register(actor=person, session=session)
    before, registrations = session_row(session), registration_rows(session)
    change = reverse("admin:training_sessions_session_change", args=[session.pk])
    page = staff.get(change)
    assert page.status_code == 200
    html = page.content.decode()
    for field in ("status", "capacity", "starts_at", "ends_at", "title"):
        assert f'name="{field}' not in html, field
    assert 'name="registrations-0-status"' not in html
    assert 'name="registrations-0-position"' not in html
    assert f'href="/sessions/{session.pk}/"' in html  # the coordinator page to use instead
    reply = staff.post(
        change,
        {
            "status": "completed",
            "capacity": "9",
            "starts_at_0": "2030-01-01",
            "starts_at_1": "09:00",
            "ends_at_0": "2030-01-01",
            "ends_at_1": "08:00",
            "title": "Renamed behind the services' back",
        },
    )
    assert reply.status_code == 403
    assert session_row(session) == before
    assert registration_rows(session) == registrations
    delete = reverse("admin:training_sessions_session_delete", args=[session.pk])
    assert staff.post(delete, {"post": "yes"}).status_code == 403
    assert Session.objects.filter(pk=session.pk).exists()
    assert staff.get(reverse("admin:training_sessions_session_add")).status_code == 403


def test_registration_change_form_cannot_change_status_or_position(
    staff, coordinator, space, crowd
):
    session = make_session(coordinator, space, capacity=1)
    regs = [registration_register(actor=person, session=session) for person in crowd[:3]]
    before = registration_rows(session)
    change = reverse("admin:training_sessions_registration_change", args=[regs[2].pk])
    page = staff.get(change)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="status"' not in html and 'name="position"' not in html
    assert f'href="/sessions/{session.pk}/"' in html
    reply = staff.post(
        change,
        {
            "session": session.pk,
            "user": crowd[2].pk,
            "status": "confirmed",
            "position": "",
        },
    )
    assert reply.status_code == 403
    assert registration_rows(session) == before
    assert Registration.objects.filter(session=session, status="confirmed").count() == 1
