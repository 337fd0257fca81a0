"""Values sent from outside, bounded to what the database and the date arithmetic hold:
integer ids (query strings, form fields, topic keys) and datetimes.

``str.isdigit()`` is not the check to use: it accepts ``"²"`` and other Unicode digits that
``int()`` then refuses (a 500), and it has no upper bound, so twenty digits reach the
database and overflow its column. Every place that reads an id from a string uses
``parse_id`` (or ``query_id`` in an API view).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
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


# A date a person schedules something on lies in these years. Outside them (year 1, year
# 9999) shifting by a reminder's hours or converting to a time zone overflows `datetime`.
EARLIEST_DATETIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_DATETIME = datetime(2100, 1, 1, tzinfo=UTC)


def validate_datetime_in_range(value: datetime) -> None:
    """Refuse a datetime before 1970 or from 2100 on (a naive one is read as UTC); a
    validator for DRF serializer fields and Django form fields alike."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        inside = EARLIEST_DATETIME <= aware < LATEST_DATETIME
    except OverflowError:
        inside = False
    if not inside:
        raise DjangoValidationError(
            _("Give a date between %(first)s and %(last)s.")
            % {"first": EARLIEST_DATETIME.year, "last": LATEST_DATETIME.year - 1},
            code="out_of_range",
        )
