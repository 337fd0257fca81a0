"""iCalendar (RFC 5545) output of sessions, built with the icalendar library.

A calendar is a list of :class:`FeedEntry` (a session as one audience sees it). Each entry
becomes one VEVENT, or one per dated part for a multi-part session, with a UID that never
changes (``session-<id>@<host>``, ``session-<id>-part-<part id>@<host>``), a SEQUENCE
that rises on every change its reader sees (the session's sequence plus, for an attendee,
their registration's revision: a promotion or their own cancellation), a STATUS
(cancelled sessions and registrations stay in feeds as CANCELLED so calendar apps remove
them), times in the session's time zone with its VTIMEZONE, and a
VALARM from the session's reminder setting.

Cheap regeneration: an entry's VEVENT text depends only on its :func:`entry_fingerprint`,
so the text is kept in a bounded in-process cache under that fingerprint (a feed whose
sessions did not change is joined from cached blocks, and the blocks are shared between
feeds), in services mode also in the shared cache (a server process that just started
reads what the others built), and the ETag of a calendar is derived from its
fingerprints without building it.
"""

from __future__ import annotations

import hashlib
import html
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event, vCalAddress

from sessions.models import RegistrationStatus, Session, SessionKind, SessionPart, SessionStatus
from sessions.services import session_url

PRODID = "-//Lyceum//Calendars//EN"
# Bump when the VEVENT layout changes: cached blocks and ETags of the old layout then lapse.
LAYOUT_VERSION = 3
# Calendar apps poll a subscription about this often (REFRESH-INTERVAL, X-PUBLISHED-TTL).
REFRESH_INTERVAL = timedelta(hours=1)
_END = b"END:VCALENDAR\r\n"


class Status:
    """VEVENT STATUS values."""

    CONFIRMED = "CONFIRMED"
    TENTATIVE = "TENTATIVE"
    CANCELLED = "CANCELLED"


class FeedSession(NamedTuple):
    """The columns of a session a feed reads, as a plain row.

    Feeds load thousands of sessions: rows of plain values cost a fraction of model
    instances to build and to garbage-collect. Single sessions may pass the model itself.
    """

    id: int
    space_id: int
    course_id: int | None
    created_by_id: int | None
    kind: str
    title: str
    description_html: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    location: str
    join_url: str
    status: str
    sequence: int
    reminder_hours: int

    @property
    def pk(self) -> int:
        return self.id


FEED_SESSION_FIELDS = FeedSession._fields


class FeedLiveClass(NamedTuple):
    """A scheduled live class (classrooms) as a feed shows it: the same columns as a
    session, so one builder writes both; its UID and page are its own."""

    id: int
    space_id: int
    course_id: int | None
    created_by_id: int | None
    kind: str
    title: str
    description_html: str
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    location: str
    join_url: str
    status: str
    sequence: int
    reminder_hours: int

    @property
    def pk(self) -> int:
        return self.id


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One session as one audience sees it.

    ``registration_status`` is the viewer's registration (None: a trainer, a coordinator,
    a public feed). ``show_join_link``: the join link of a virtual class is given only to
    those the session page gives it to (confirmed attendees, the session's managers).
    ``public``: a feed anyone may fetch, so no personal e-mail address is disclosed.
    ``organizer`` (first trainer, else the scheduling coordinator) and ``parts`` are loaded
    in bulk by the selectors, never per session. ``revision``: the viewer's own
    registration revision (``Registration.revision``), 0 for those without one.
    """

    session: Session | FeedSession | FeedLiveClass
    registration_status: str | None = None
    show_join_link: bool = False
    public: bool = False
    organizer: Any | None = None
    parts: tuple[SessionPart, ...] = ()
    revision: int = 0

    @property
    def sequence(self) -> int:
        """SEQUENCE: rises with a change of the session and with the viewer's own status
        (both counters only grow), so calendar apps apply every update they are sent."""
        return self.session.sequence + self.revision

    @property
    def status(self) -> str:
        if self.session.status == SessionStatus.CANCELLED:
            return Status.CANCELLED
        if self.registration_status is None or self.registration_status == (
            RegistrationStatus.CONFIRMED
        ):
            return Status.CONFIRMED
        if self.registration_status == RegistrationStatus.CANCELLED:
            return Status.CANCELLED
        # Waitlisted, pending approval, a seat offered but not yet claimed.
        return Status.TENTATIVE


@dataclass(frozen=True, slots=True)
class DueEntry:
    """A due date of the feed's owner (a learning path, a course, an activity: paths/due.py)
    as a point in time: a VEVENT at the due instant (DTEND = DTSTART), in UTC, TRANSPARENT
    (a deadline does not make one busy), UID ``due-<kind>-<id>@<host>`` that never changes.
    Completed items leave the feed, so calendar apps drop them."""

    kind: str
    id: int
    title: str
    context: str
    due_at: datetime
    url: str  # absolute
    overdue: bool


def due_uid(kind: str, item_id: int) -> str:
    return f"due-{kind}-{item_id}@{uid_domain()}"


def _due_summary(entry: DueEntry) -> str:
    if entry.kind == "path":
        return _("Due: learning path %(title)s") % {"title": entry.title}
    if entry.kind == "enrolment":
        return _("Due: course %(title)s") % {"title": entry.title}
    return _("Due: %(title)s (%(course)s)") % {"title": entry.title, "course": entry.context}


def due_events(entry: DueEntry, *, stamp: datetime | None = None) -> list[Event]:
    event = Event()
    event.add("uid", due_uid(entry.kind, entry.id))
    event.add("dtstamp", stamp or datetime.now(UTC))
    # A subscription is read whole at each poll: a moved due date is the same UID at a new
    # time (the feed's ETag changes with it).
    event.add("sequence", 0)
    event.add("summary", _due_summary(entry))
    at = entry.due_at.astimezone(UTC).replace(second=0, microsecond=0)
    event.add("dtstart", at)
    event.add("dtend", at)
    event.add("status", Status.CONFIRMED)
    event.add("transp", "TRANSPARENT")
    event.add("categories", ["DUE"])
    event.add("url", entry.url)
    event.add("description", entry.url)
    if not entry.overdue:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", _due_summary(entry))
        alarm.add("trigger", timedelta(days=-1))
        event.add_component(alarm)
    return [event]


# -- identities and addresses -----------------------------------------------------------------
def uid_domain() -> str:
    """The right-hand side of every UID: the site's host name, stable across requests."""
    return urlsplit(settings.SITE_URL).hostname or "lyceum"


def session_uid(session_id: int, part_id: int | None = None) -> str:
    if part_id is None:
        return f"session-{session_id}@{uid_domain()}"
    return f"session-{session_id}-part-{part_id}@{uid_domain()}"


def event_uid(session: Session | FeedSession | FeedLiveClass, part_id: int | None = None) -> str:
    """The UID of a session's (or part's) event, or of a live class's."""
    if isinstance(session, FeedLiveClass):
        return f"liveclass-{session.id}@{uid_domain()}"
    return session_uid(session.pk, part_id)


def session_page_url(session: Session | FeedSession | FeedLiveClass) -> str:
    if isinstance(session, FeedLiveClass):
        return settings.SITE_URL + reverse("liveclass", args=[session.id])
    return settings.SITE_URL + session_url(session)  # type: ignore[arg-type]  # reads .pk only


def _organizer_identity(entry: FeedEntry) -> tuple[str, str] | None:
    person = entry.organizer
    if person is None:
        return None
    if entry.public:
        # A public feed names the organiser but gives the platform's address, not theirs.
        return person.name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return person.name, person.email


def _location(entry: FeedEntry, part_location: str = "") -> str:
    session = entry.session
    if session.kind == SessionKind.VIRTUAL and session.join_url and not part_location:
        return session.join_url if entry.show_join_link else session_page_url(session)
    return part_location or session.location


def _description(entry: FeedEntry) -> str:
    """Plain text: the session's description, then its page (and join link if given)."""
    session = entry.session
    # Text out of HTML that hub.sanitize already cleaned when it was stored; the result is
    # never rendered as HTML. strip_tags, not sanitize.plain: a quarter of the cost, and a
    # cold feed of a thousand sessions calls it a thousand times.
    text = html.unescape(strip_tags(session.description_html)).strip()
    lines = [text] if text else []
    if session.kind == SessionKind.VIRTUAL and session.join_url and entry.show_join_link:
        lines.append(_("Join: %(url)s") % {"url": session.join_url})
    lines.append(session_page_url(session))
    return "\n\n".join(lines)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # Services validate time zones; a zone dropped from tzdata since falls back to UTC.
        return ZoneInfo("UTC")


def _is_utc(name: str) -> bool:
    return _zone(name).key in {"UTC", "Etc/UTC", "Etc/GMT", "GMT"}


# -- fingerprints -------------------------------------------------------------------------------
def entry_fingerprint(entry: FeedEntry | DueEntry) -> str:
    """A digest of everything that shapes the entry's VEVENT text (DTSTAMP aside)."""
    if isinstance(entry, DueEntry):
        material_due = (LAYOUT_VERSION, settings.SITE_URL, translation.get_language(), entry)
        return hashlib.blake2b(repr(material_due).encode(), digest_size=16).hexdigest()
    session = entry.session
    organizer = _organizer_identity(entry)
    material = (
        LAYOUT_VERSION,
        settings.SITE_URL,
        translation.get_language(),
        entry.status,
        entry.show_join_link,
        entry.public,
        event_uid(session),
        entry.sequence,
        session.kind,
        session.title,
        session.description_html,
        session.starts_at,
        session.ends_at,
        session.time_zone,
        session.location,
        session.join_url,
        session.reminder_hours,
        organizer,
        [(p.pk, p.starts_at, p.ends_at, p.location) for p in entry.parts],
    )
    return hashlib.blake2b(repr(material).encode(), digest_size=16).hexdigest()


def calendar_etag(name: str, fingerprints: Iterable[str]) -> str:
    digest = hashlib.blake2b(f"{LAYOUT_VERSION}:{name}".encode(), digest_size=16)
    for fingerprint in fingerprints:
        digest.update(fingerprint.encode())
    return f'"{digest.hexdigest()}"'


# -- building ---------------------------------------------------------------------------------
def entry_events(entry: FeedEntry, *, stamp: datetime | None = None) -> list[Event]:
    """The VEVENTs of an entry: the session's own dates, then one per dated part."""
    if isinstance(entry, DueEntry):
        return due_events(entry, stamp=stamp)
    session = entry.session
    # UTC-like zones are written as UTC times ("...Z"), which need no VTIMEZONE.
    zone = UTC if _is_utc(session.time_zone) else _zone(session.time_zone)
    stamp = stamp or datetime.now(UTC)
    parts = entry.parts
    dates = [(None, session.starts_at, session.ends_at, "")]
    dates += [(p.pk, p.starts_at, p.ends_at, p.location) for p in parts]
    description = _description(entry)
    organizer = _organizer_identity(entry)
    url = session_page_url(session)
    events = []
    for index, (part_id, starts_at, ends_at, part_location) in enumerate(dates, start=1):
        event = Event()
        event.add("uid", event_uid(session, part_id))
        event.add("dtstamp", stamp)
        event.add("sequence", entry.sequence)
        summary = session.title
        if len(dates) > 1:
            summary = _("%(title)s (part %(n)s of %(count)s)") % {
                "title": session.title,
                "n": index,
                "count": len(dates),
            }
        event.add("summary", summary)
        event.add("dtstart", starts_at.astimezone(zone))
        event.add("dtend", ends_at.astimezone(zone))
        event.add("status", entry.status)
        if entry.status == Status.CANCELLED:
            event.add("transp", "TRANSPARENT")
        location = _location(entry, part_location)
        if location:
            event.add("location", location)
        event.add("url", url)
        event.add("description", description)
        if organizer is not None and organizer[1]:
            address = vCalAddress(f"mailto:{organizer[1]}")
            address.params["CN"] = organizer[0]
            event.add("organizer", address)
        if session.reminder_hours and entry.status != Status.CANCELLED:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", _("Reminder: %(title)s") % {"title": session.title})
            alarm.add("trigger", timedelta(hours=-session.reminder_hours))
            event.add_component(alarm)
        events.append(event)
    return events


class _BlockCache:
    """A bounded LRU of VEVENT text by entry fingerprint, shared by the threads of a process.

    In-process on purpose: a large feed would otherwise push thousands of entries through
    the shared cache (evicting, in the embedded mode's local-memory cache, other apps'
    rate-limit counters); each server process warms its own copy on the first request.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._blocks: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            block = self._blocks.get(key)
            if block is not None:
                self._blocks.move_to_end(key)
            return block

    def put(self, key: str, block: bytes) -> None:
        with self._lock:
            self._blocks[key] = block
            self._blocks.move_to_end(key)
            while len(self._blocks) > self.max_entries:
                self._blocks.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._blocks.clear()


# ~0.5 KB a block: at most ~10 MB per process.
blocks = _BlockCache(max_entries=20_000)


SHARED_KEY = "calendars:vevent:{}"
SHARED_TIMEOUT = 7 * 24 * 3600


def entry_blocks(entries: Sequence[FeedEntry], fingerprints: Sequence[str]) -> list[bytes]:
    """The VEVENT text of each entry: from this process's cache, else (services mode) from
    the shared cache that other server processes filled, else built and shared."""
    found = {fp: blocks.get(fp) for fp in fingerprints}
    missing = [fp for fp, block in found.items() if block is None]
    # Services mode only: the embedded mode's local-memory cache holds 300 entries, which a
    # single feed would churn (evicting other apps' counters) for no other process's gain.
    shared = settings.SERVICES_MODE
    if missing and shared:
        hits = cache.get_many([SHARED_KEY.format(fp) for fp in missing])
        for fp in missing:
            block = hits.get(SHARED_KEY.format(fp))
            if block is not None:
                found[fp] = block
                blocks.put(fp, block)
    built: dict[str, bytes] = {}
    out = []
    for entry, fp in zip(entries, fingerprints, strict=True):
        block = found[fp]
        if block is None:
            block = b"".join(event.to_ical() for event in entry_events(entry))
            found[fp] = built[fp] = block
            blocks.put(fp, block)
        out.append(block)
    if built and shared:
        cache.set_many({SHARED_KEY.format(fp): b for fp, b in built.items()}, SHARED_TIMEOUT)
    return out


# -- time zones ---------------------------------------------------------------------------------
def _offset_text(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def _transitions(zone: ZoneInfo, first_year: int, last_year: int) -> list[tuple[datetime, Any]]:
    """The UTC instants in [first_year, last_year] when ``zone``'s offset or name changes,
    each with a time in the new regime. Scanned a day at a time, then bisected to the
    minute (transitions fall on whole minutes)."""
    found: list[tuple[datetime, Any]] = []
    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)

    def regime(at: datetime) -> tuple[Any, Any, Any]:
        local = at.astimezone(zone)
        return local.utcoffset(), local.dst(), local.tzname()

    before = regime(moment)
    step = timedelta(days=1)
    while moment < end:
        after_moment = moment + step
        after = regime(after_moment)
        if after != before:
            low, high = moment, after_moment
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                middle = middle.replace(second=0, microsecond=0)
                if middle <= low:
                    break
                if regime(middle) == before:
                    low = middle
                else:
                    high = middle
            found.append((high, high.astimezone(zone)))
            before = after
        moment = after_moment
    return found


@lru_cache(maxsize=256)
def vtimezone_block(tzid: str, first_year: int, last_year: int) -> bytes:
    """The VTIMEZONE of a zone for the years its events fall in (tz data does not change
    while a process runs).

    One observance per transition, each a plain DTSTART (no RDATE lists, no open-ended
    RRULE): vobject (and so dateutil-based servers) reads only the first date of an RDATE
    list, and a rule extrapolated from today's law would be wrong for a year the law
    changes. icalendar's own builder stops at 2037 by default; here the definition covers
    the year before the first event to the year after the last one.
    """
    zone = _zone(tzid)
    first_year, last_year = first_year - 1, last_year + 1
    start = datetime(first_year, 1, 1, tzinfo=UTC).astimezone(zone)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]

    def observance(local: datetime, offset_from: timedelta) -> None:
        kind = "DAYLIGHT" if local.dst() else "STANDARD"
        onset = (local.replace(tzinfo=None) - local.utcoffset() + offset_from).strftime(
            "%Y%m%dT%H%M%S"
        )
        lines.extend(
            [
                f"BEGIN:{kind}",
                f"DTSTART:{onset}",
                f"TZNAME:{local.tzname() or tzid}",
                f"TZOFFSETFROM:{_offset_text(offset_from)}",
                f"TZOFFSETTO:{_offset_text(local.utcoffset())}",
                f"END:{kind}",
            ]
        )

    # The regime in force at the start of the range, then every change within it.
    observance(start, start.utcoffset())
    previous = start.utcoffset()
    for _instant, local in _transitions(zone, first_year, last_year):
        observance(local, previous)
        previous = local.utcoffset()
    lines.append("END:VTIMEZONE")
    return ("\r\n".join(lines) + "\r\n").encode()


def entry_dates(entry: FeedEntry) -> list[tuple[datetime, datetime]]:
    """The (start, end) of every VEVENT of the entry."""
    dates = [(entry.session.starts_at, entry.session.ends_at)]
    return dates + [(p.starts_at, p.ends_at) for p in entry.parts]


def timezone_blocks(entries: Iterable[FeedEntry]) -> list[bytes]:
    """The VTIMEZONEs a calendar of ``entries`` needs, each covering its events' years."""
    years: dict[str, tuple[int, int]] = {}
    for entry in entries:
        if isinstance(entry, DueEntry) or _is_utc(entry.session.time_zone):
            continue
        zone = _zone(entry.session.time_zone)
        for starts_at, ends_at in entry_dates(entry):
            low, high = starts_at.astimezone(zone).year, ends_at.astimezone(zone).year
            known = years.get(zone.key)
            if known:
                low, high = min(low, known[0]), max(high, known[1])
            years[zone.key] = (low, high)
    return [vtimezone_block(tzid, *years[tzid]) for tzid in sorted(years)]


def _header(name: str, *, feed: bool, method: str = "PUBLISH") -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    if name:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
    if feed:
        calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT1H")
    text = calendar.to_ical()
    return text[: -len(_END)] if text.endswith(_END) else text


def content_type(method: str) -> str:
    """The media type of a calendar whose METHOD is ``method`` (RFC 5545 section 3.7.2:
    the ``method`` parameter must be there and match)."""
    return f"text/calendar; charset=utf-8; method={method}"


@dataclass(frozen=True, slots=True)
class RenderedCalendar:
    etag: str
    entries: Sequence[FeedEntry]
    fingerprints: Sequence[str]
    name: str
    feed: bool

    @property
    def content_type(self) -> str:
        return content_type("PUBLISH")

    def body(self) -> bytes:
        """The calendar text: header, the VTIMEZONEs in use, the VEVENTs."""
        chunks = [_header(self.name, feed=self.feed)]
        chunks += timezone_blocks(self.entries)
        chunks += entry_blocks(self.entries, self.fingerprints)
        chunks.append(_END)
        return b"".join(chunks)


def prepare_calendar(
    entries: Sequence[FeedEntry], *, name: str, feed: bool = False
) -> RenderedCalendar:
    """Fingerprint the entries and derive the ETag; :meth:`RenderedCalendar.body` builds."""
    fingerprints = [entry_fingerprint(entry) for entry in entries]
    return RenderedCalendar(
        etag=calendar_etag(name, fingerprints),
        entries=entries,
        fingerprints=fingerprints,
        name=name,
        feed=feed,
    )


# -- iTIP (RFC 5546): invitations that calendar apps update and cancel ------------------------
class Method:
    """The iTIP methods Lyceum sends (the organiser's side)."""

    PUBLISH = "PUBLISH"
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


class PartStat:
    NEEDS_ACTION = "NEEDS-ACTION"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


@dataclass(frozen=True, slots=True)
class Attendee:
    """The one attendee an invitation is addressed to."""

    name: str
    email: str
    partstat: str = PartStat.NEEDS_ACTION


@dataclass(frozen=True, slots=True)
class DatedEvent:
    """One VEVENT as the attendee was last sent it (``snapshot``), to cancel it if it goes
    (a removed part) and to say what changed."""

    uid: str
    starts_at: datetime
    ends_at: datetime
    location: str
    summary: str

    def as_json(self) -> dict[str, str]:
        return {
            "uid": self.uid,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "location": self.location,
            "summary": self.summary,
        }

    @classmethod
    def from_json(cls, data: dict[str, str]) -> DatedEvent:
        return cls(
            uid=data["uid"],
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]),
            location=data.get("location", ""),
            summary=data.get("summary", ""),
        )


def snapshot(entry: FeedEntry) -> list[DatedEvent]:
    """The dated events of an entry (UID, times, place) as an attendee's calendar holds them."""
    session = entry.session
    dates = [(None, session.starts_at, session.ends_at, "")]
    dates += [(p.pk, p.starts_at, p.ends_at, p.location) for p in entry.parts]
    return [
        DatedEvent(
            uid=event_uid(session, part_id),
            starts_at=starts_at,
            ends_at=ends_at,
            location=_location(entry, part_location),
            summary=session.title,
        )
        for part_id, starts_at, ends_at, part_location in dates
    ]


def _attendee_address(attendee: Attendee) -> vCalAddress:
    address = vCalAddress(f"mailto:{attendee.email}")
    address.params["CN"] = attendee.name
    address.params["ROLE"] = "REQ-PARTICIPANT"
    address.params["PARTSTAT"] = attendee.partstat
    address.params["RSVP"] = "TRUE" if attendee.partstat == PartStat.NEEDS_ACTION else "FALSE"
    return address


def _organizer_address(entry: FeedEntry) -> vCalAddress:
    """iTIP requires an ORGANIZER: the entry's, else the platform's own address."""
    identity = _organizer_identity(entry)
    if identity is None or not identity[1]:
        identity = ("Lyceum", parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "noreply@lyceum")
    address = vCalAddress(f"mailto:{identity[1]}")
    address.params["CN"] = identity[0]
    return address


def _itip_calendar(event: Event, *, method: str, zones: list[bytes]) -> bytes:
    text = event.to_ical()
    return b"".join([_header("", feed=False, method=method), *zones, text, _END])


def itip_messages(
    entry: FeedEntry,
    *,
    method: str,
    attendee: Attendee,
    removed: Sequence[DatedEvent] = (),
    stamp: datetime | None = None,
) -> list[tuple[str, str, bytes]]:
    """The iTIP calendars of an entry for one attendee: ``(uid, method, text)`` each.

    One calendar per UID (RFC 5546 section 3.2: an iTIP object carries one UID), so a
    multi-part session sends one calendar per part. ``REQUEST`` invites or updates (the
    entry's SEQUENCE), ``CANCEL`` removes every event of the entry; ``removed`` are events
    the attendee was sent that the session no longer has (a part taken out), cancelled in
    the same message whatever the method.
    """
    stamp = stamp or datetime.now(UTC)
    zones = timezone_blocks([entry])
    organizer = _organizer_address(entry)
    out: list[tuple[str, str, bytes]] = []
    for event in entry_events(entry, stamp=stamp):
        if "ORGANIZER" in event:
            del event["ORGANIZER"]
        event.add("organizer", organizer)
        event.add("attendee", _attendee_address(attendee))
        if method == Method.CANCEL:
            event.pop("STATUS", None)
            event.add("status", Status.CANCELLED)
            event.subcomponents = []  # no alarm for an event that is gone
        out.append((str(event["UID"]), method, _itip_calendar(event, method=method, zones=zones)))
    for gone in removed:
        event = Event()
        event.add("uid", gone.uid)
        event.add("dtstamp", stamp)
        event.add("sequence", entry.sequence)
        event.add("summary", gone.summary)
        event.add("dtstart", gone.starts_at.astimezone(UTC))
        event.add("dtend", gone.ends_at.astimezone(UTC))
        event.add("status", Status.CANCELLED)
        event.add("organizer", organizer)
        event.add("attendee", _attendee_address(attendee))
        out.append((gone.uid, Method.CANCEL, _itip_calendar(event, method=Method.CANCEL, zones=[])))
    return out
