"""Integer ids and counts sent from outside: query strings, form fields, topic keys.

``str.isdigit()`` is not the check to use: it accepts ``"²"`` and other Unicode digits that
``int()`` then refuses (a 500), and it has no upper bound, so twenty digits reach the
database and overflow its column. Every place that reads an id from a string uses
``parse_id`` (or ``query_id`` in an API view).
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

# Primary keys are BigAutoField (settings.DEFAULT_AUTO_FIELD): a signed 64-bit integer on
# both PostgreSQL and SQLite.
BIGINT_MAX = 2**63 - 1
# An IntegerField / PositiveIntegerField column: a signed 32-bit integer on PostgreSQL.
INT_MAX = 2**31 - 1

_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(value: Any, *, maximum: int = BIGINT_MAX) -> int | None:
    """The non-negative integer that ``value`` spells in ASCII digits, or ``None``.

    ``None`` for anything else: an empty string, a sign, spaces, ``"²"``, ``"1.0"``, a
    number above ``maximum`` (by default the largest primary key). An ``int`` passes
    through when it is in range (a bool is not an id).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= maximum else None
    if not isinstance(value, str) or not _ASCII_DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if number <= maximum else None


def query_id(
    request: Any, name: str, *, required: bool = False, maximum: int = BIGINT_MAX
) -> int | None:
    """``?<name>=<id>`` of an API request: ``None`` when absent (unless ``required``), a
    400 that names the parameter when it is not a whole number in range."""
    raw = request.GET.get(name)
    if raw in (None, ""):
        if required:
            raise ValidationError({name: [_("This parameter is required.")]})
        return None
    value = parse_id(raw, maximum=maximum)
    if value is None:
        raise ValidationError({name: [_("Give a whole number (digits 0-9 only).")]})
    return value
