"""Every calendar file read by three independent parsers that must agree.

- icalendar (what Lyceum writes with; it resolves TZID through zoneinfo),
- vobject (resolves TZID through the file's own VTIMEZONE, with dateutil, as
  CalDAV servers built on it do),
- recurring-ical-events (what calendar front ends use to expand a calendar).

``read_all(body)`` parses with the three and returns, per UID, what they agree on: the
start and end as UTC instants, STATUS and SEQUENCE. Any disagreement fails the test.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime

import recurring_ical_events
import vobject
from dateutil import tz as dateutil_tz
from icalendar import Calendar


@dataclass(frozen=True)
class Seen:
    uid: str
    start: datetime
    end: datetime
    status: str
    sequence: int


def _utc(value: datetime) -> datetime:
    assert isinstance(value, datetime) and value.tzinfo is not None, value
    return value.astimezone(UTC)


def by_icalendar(body: bytes) -> dict[str, Seen]:
    calendar = Calendar.from_ical(body)
    return {
        str(e["UID"]): Seen(
            str(e["UID"]),
            _utc(e["DTSTART"].dt),
            _utc(e["DTEND"].dt),
            str(e.get("STATUS", "")),
            int(e.get("SEQUENCE", 0)),
        )
        for e in calendar.walk("VEVENT")
    }


def _forget_vobject_zones() -> None:
    """vobject keeps the first VTIMEZONE it ever read for a TZID, process-wide: forget
    them, so each file is read with its own definition (as a client reading that file)."""
    registry = vars(vobject.icalendar)["__tzidMap"]
    utc = registry.get("UTC")
    registry.clear()
    registry["UTC"] = utc


def by_vobject(body: bytes) -> dict[str, Seen]:
    _forget_vobject_zones()
    found = {}
    for calendar in vobject.readComponents(body.decode()):
        for event in calendar.contents.get("vevent", []):
            found[event.uid.value] = Seen(
                event.uid.value,
                _utc(event.dtstart.value),
                _utc(event.dtend.value),
                event.status.value if hasattr(event, "status") else "",
                int(event.sequence.value) if hasattr(event, "sequence") else 0,
            )
    return found


def by_recurring_ical_events(body: bytes) -> dict[str, Seen]:
    calendar = Calendar.from_ical(body)
    found = {}
    for event in recurring_ical_events.of(calendar).between(date(1971, 1, 1), date(2098, 1, 1)):
        found[str(event["UID"])] = Seen(
            str(event["UID"]),
            _utc(event["DTSTART"].dt),
            _utc(event["DTEND"].dt),
            str(event.get("STATUS", "")),
            int(event.get("SEQUENCE", 0)),
        )
    return found


def read_all(body: bytes) -> dict[str, Seen]:
    """What the three parsers agree the file holds (they must agree)."""
    first = by_icalendar(body)
    assert by_vobject(body) == first
    assert by_recurring_ical_events(body) == first
    return first


def by_file_vtimezone(body: bytes, uid: str) -> datetime:
    """The event's start as a client that knows no time-zone database reads it: its TZID
    resolved through the file's own VTIMEZONE (dateutil's reader)."""
    calendar = Calendar.from_ical(body)
    [event] = [e for e in calendar.walk("VEVENT") if str(e["UID"]) == uid]
    tzid = event["DTSTART"].params["TZID"]
    [definition] = [z for z in calendar.walk("VTIMEZONE") if str(z["TZID"]) == tzid]
    zone = dateutil_tz.tzical(io.StringIO(definition.to_ical().decode())).get()
    wall = event["DTSTART"].dt.replace(tzinfo=None)
    return wall.replace(tzinfo=zone).astimezone(UTC)
