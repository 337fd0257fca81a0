"""Fixtures of the calendar tests: sessions of the test space and a parser of .ics bodies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from icalendar import Calendar, Event

from calendars import ics
from sessions.services import session_create


def make_session(coordinator: Any, space: Any, **fields: Any):
    from django.utils import timezone

    # Whole minutes: iCalendar times have no fractions of a second.
    default_start = (timezone.now() + timedelta(days=7)).replace(second=0, microsecond=0)
    start = fields.pop("starts_at", default_start)
    defaults = {
        "kind": "face_to_face",
        "title": "First aid",
        "starts_at": start,
        "ends_at": start + timedelta(hours=3),
        "capacity": 2,
        "time_zone": "Europe/Paris",
        "location": "Lyon office, room 2",
    }
    defaults.update(fields)
    return session_create(actor=coordinator, space=space, **defaults)


@pytest.fixture(autouse=True)
def _cold_blocks():
    """Every test starts with the VEVENT block cache empty (no test sees another's text)."""
    ics.blocks.clear()
    yield
    ics.blocks.clear()


@pytest.fixture
def training(coordinator, space, trainer):
    """A face-to-face session in a week, two seats, trained by ``trainer``."""
    return make_session(coordinator, space, trainers=[trainer])


def parse(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


def events(body: bytes) -> list[Event]:
    return list(parse(body).walk("VEVENT"))


def event_by_uid(body: bytes, uid: str) -> Event:
    found = [e for e in events(body) if str(e["UID"]) == uid]
    assert len(found) == 1, [str(e["UID"]) for e in events(body)]
    return found[0]


def calendar_parts(message: Any) -> list[tuple[str, bytes, Any]]:
    """(METHOD parameter, calendar text, MIME part) of each ``text/calendar`` part of an
    e-mail, read from the message as sent (its real headers, not Django's attachment list)."""
    import email

    parsed = email.message_from_bytes(message.message().as_bytes())
    found = []
    for part in parsed.walk():
        if part.get_content_type() == "text/calendar":
            found.append((part.get_param("method"), part.get_payload(decode=True), part))
    return found
