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
from django.utils import translation
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress

from sessions.models import RegistrationStatus, Session, SessionKind, SessionPart, SessionStatus
from sessions.services import session_url

PRODID = "-//Lyceum//Calendars//EN"
# Bump when the VEVENT layout changes: cached blocks and ETags of the old layout then lapse.
LAYOUT_VERSION = 2
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

    session: Session | FeedSession
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


# -- identities and addresses -----------------------------------------------------------------
def uid_domain() -> str:
    """The right-hand side of every UID: the site's host name, stable across requests."""
    return urlsplit(settings.SITE_URL).hostname or "lyceum"


def session_uid(session_id: int, part_id: int | None = None) -> str:
    if part_id is None:
        return f"session-{session_id}@{uid_domain()}"
    return f"session-{session_id}-part-{part_id}@{uid_domain()}"


def session_page_url(session: Session | FeedSession) -> str:
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
def entry_fingerprint(entry: FeedEntry) -> str:
    """A digest of everything that shapes the entry's VEVENT text (DTSTAMP aside)."""
    session = entry.session
    organizer = _organizer_identity(entry)
    material = (
        LAYOUT_VERSION,
        settings.SITE_URL,
        translation.get_language(),
        entry.status,
        entry.show_join_link,
        entry.public,
        session.pk,
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
        event.add("uid", session_uid(session.pk, part_id))
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


@lru_cache(maxsize=128)
def timezone_block(tzid: str) -> bytes:
    """The VTIMEZONE of a zone (tz data does not change while a process runs)."""
    return Timezone.from_tzid(tzid).to_ical()


def _header(name: str, *, feed: bool) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    if feed:
        calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", "PT1H")
    text = calendar.to_ical()
    return text[: -len(_END)] if text.endswith(_END) else text


@dataclass(frozen=True, slots=True)
class RenderedCalendar:
    etag: str
    entries: Sequence[FeedEntry]
    fingerprints: Sequence[str]
    name: str
    feed: bool

    def body(self) -> bytes:
        """The calendar text: header, the VTIMEZONEs in use, the VEVENTs."""
        tzids = sorted(
            {
                _zone(entry.session.time_zone).key
                for entry in self.entries
                if not _is_utc(entry.session.time_zone)
            }
        )
        chunks = [_header(self.name, feed=self.feed)]
        chunks += [timezone_block(tzid) for tzid in tzids]
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
