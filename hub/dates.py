"""The one date/time policy (docs/INTERFACE.md): every date a person reads is in their own
time zone (the profile's, activated per request by hub.accounts.middleware), in one format
per kind, with day and month names in their language. Templates use the ``when`` filter
(frontend/templatetags/ui.py), scripts ``Lyceum.formatDate`` (frontend/static/js/ui.js);
text written once for a reader (a notification) uses ``format_for``.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import dateformat, timezone
from django.utils.translation import gettext, ngettext

# -- the date/time policy --------------------------------------------------------------------
# One display per kind, in the viewer's zone (hub.accounts.middleware activates it): week
# day, day, month name and year, 24-hour time. The names follow the active language.
STYLES = {
    "datetime": "D j M Y, H:i",
    "date": "D j M Y",
    "time": "H:i",
}
RELATIVE_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def zone_label(zone: str) -> str:
    """``"America/New_York"`` -> ``"New York"``: the place part of a zone's name."""
    return zone.rsplit("/", 1)[-1].replace("_", " ") if zone else ""


def relative(value: datetime, now: datetime | None = None) -> str:
    """``"in 2 h"``, ``"5 min ago"``, ``"now"`` (the JS helper says the same)."""
    now = now or timezone.now()
    seconds = (value - now).total_seconds()
    ahead = seconds >= 0
    seconds = abs(seconds)
    if seconds < 60:
        return gettext("now")
    unit, n = next((u, int(seconds // size)) for u, size in RELATIVE_UNITS if seconds >= size)
    labels = {
        "day": ngettext("%(n)d day", "%(n)d days", n),
        "hour": ngettext("%(n)d h", "%(n)d h", n),
        "minute": ngettext("%(n)d min", "%(n)d min", n),
    }
    amount = labels[unit] % {"n": n}
    return (gettext("in %(amount)s") if ahead else gettext("%(amount)s ago")) % {"amount": amount}


def format_when(value: datetime | date, style: str = "datetime") -> str:
    """The text of ``value`` in ``style``, in the active time zone and language."""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        if style == "relative":
            return relative(value if timezone.is_aware(value) else timezone.make_aware(value))
    elif style in ("time", "relative"):
        style = "date"
    # dateformat writes day and month names in the active language.
    return dateformat.format(value, STYLES.get(style, STYLES["datetime"]))


_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Zulu", "Zulu", "GMT", "Etc/GMT"})


def same_zone(a: str, b: str) -> bool:
    """Two zone names that are one clock (the spellings of UTC count as one)."""
    canon = {z: "UTC" if z in _UTC_NAMES else z for z in (a, b)}
    return canon[a] == canon[b]


def format_for(value: datetime, *, zone: str, style: str = "datetime") -> str:
    """``value`` in ``zone`` with the zone named: "Sat 12 Dec 2026, 14:00 (Paris time)".
    For text stored once and read later (a notification), where no request zone applies."""
    try:
        tz = ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        tz, zone = ZoneInfo("UTC"), "UTC"
    with timezone.override(tz):
        text = format_when(value, style)
    return gettext("%(time)s (%(zone)s time)") % {"time": text, "zone": zone_label(zone)}
