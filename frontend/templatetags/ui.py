"""The design system's template tags: icons, avatars, counters and the one date filter.

{% load ui %}
{% icon "bell" %}                       decorative icon (aria-hidden)
{% icon "bell" label=_("Notifications") %}  icon + a label for assistive tech only
{% avatar user %} {% avatar user "lg" %}    uploaded picture, or initials on a colour
{% counter n label %}                    a badge, hidden at 0 (``hidden`` attribute)
{{ value|when }}                         the one date/time format (docs/INTERFACE.md)
{{ value|when:"date" }} {{ value|when:"time" }} {{ value|when:"relative" }}
{{ value|when:session.time_zone }}       names the viewer's zone when it differs
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django import template
from django.templatetags.static import static
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from hub.dates import STYLES, format_when, same_zone, zone_label

register = template.Library()
log = logging.getLogger(__name__)

ICON_DIR = Path(__file__).resolve().parent.parent / "static" / "icons"
_ICON_NAME = re.compile(r"^[a-z0-9-]{1,40}$")


@functools.cache
def icon_exists(name: str) -> bool:
    """The icon was copied from the set (frontend/vendor/copy_icons.py)."""
    if not _ICON_NAME.match(name):
        return False
    if (ICON_DIR / f"{name}.svg").exists():
        return True
    log.warning("unknown icon %r: add it to frontend/vendor/copy_icons.py", name)
    return False


@register.simple_tag
def icon(name: str, label: str = "") -> SafeString:
    """An icon in the text colour, drawn from the sprite (cached once by the browser). With
    ``label``, a visually hidden text names it: an icon-only control always has a label for
    assistive tech."""
    name = str(name)
    if not icon_exists(name):
        return mark_safe("")
    svg = format_html(
        # Stroke and fill come from the .icon rule (lyceum.css): less markup per icon.
        '<svg class="icon" aria-hidden="true" focusable="false"><use href="{}#{}"></use></svg>',
        static("icons/sprite.svg"),
        name,
    )
    if label:
        return format_html('{}<span class="sr-only">{}</span>', svg, label)
    return svg


# -- avatars ---------------------------------------------------------------------------------
# Background hues for initials, each with white text at 4.5:1 or more.
AVATAR_COLOURS = ("#1f5f8b", "#6b3fa0", "#0f7560", "#a3461a", "#8a2c5a", "#3c5a14", "#555f6d")
AVATAR_SIZES = {"sm": 28, "md": 40, "lg": 96}


def initials(name: str) -> str:
    """``"Lina Martin"`` -> ``"LM"``; one letter for a single word; ``"?"`` for nothing."""
    words = [w for w in re.split(r"[\s._-]+", name or "") if w]
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def avatar_colour(key: str) -> str:
    digest = hashlib.sha256(key.encode()).digest()
    return AVATAR_COLOURS[digest[0] % len(AVATAR_COLOURS)]


@register.inclusion_tag("frontend/components/_avatar.html")
def avatar(user: Any, size: str = "md", decorative: bool = True) -> dict[str, Any]:
    """The person's uploaded picture, else their initials on a colour of their own.

    Decorative by default (the name is written next to it); ``decorative=False`` gives the
    picture the person's name as its text alternative.
    """
    size = size if size in AVATAR_SIZES else "md"
    name = getattr(user, "name", "") or str(user or "")
    picture = getattr(user, "avatar", None)
    return {
        "name": name,
        "url": picture.url if picture else "",
        "initials": initials(name),
        "colour": avatar_colour(f"{getattr(user, 'pk', '')}:{name}"),
        "size": size,
        "pixels": AVATAR_SIZES[size],
        "decorative": decorative,
    }


@register.inclusion_tag("frontend/components/_counter.html")
def counter(value: Any, label: str = "", element_id: str = "") -> dict[str, Any]:
    """A count badge, ``hidden`` at 0 so nothing shows when there is nothing to count."""
    try:
        number = max(0, int(value or 0))
    except (TypeError, ValueError):
        number = 0
    return {"n": number, "label": label, "id": element_id}


# -- the date/time policy: hub/dates.py formats, this filter wraps it in <time> ------------
@register.filter(is_safe=True)
def when(value: Any, arg: str = "") -> SafeString | str:
    """``<time>`` with the one format of the date policy.

    ``arg`` is a style (``date``, ``time``, ``relative``; ``datetime`` by default) or the
    event's own time zone: when that differs from the viewer's, the viewer's zone is named
    ("14:00 (New York time)") so nobody wonders which clock the time is on.
    """
    if not isinstance(value, date):
        return ""
    style, event_zone = (arg, "") if arg in STYLES or arg == "relative" else ("datetime", arg)
    text = format_when(value, style)
    if event_zone and isinstance(value, datetime):
        viewer = timezone.get_current_timezone_name()
        if not same_zone(event_zone, viewer):
            text = gettext("%(time)s (%(zone)s time)") % {
                "time": text,
                "zone": zone_label(viewer),
            }
    iso = value.isoformat()
    title = format_when(value, "datetime") if style == "relative" else ""
    if style == "relative":
        return format_html(
            '<time datetime="{}" title="{}" data-relative>{}</time>', iso, title, text
        )
    return format_html('<time datetime="{}">{}</time>', iso, text)
