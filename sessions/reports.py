"""CSV exports of a session: the sign-in sheet (attendance) and its no-shows."""

from __future__ import annotations

import csv
import io
from typing import Any

from sessions.models import Attendance, Session
from sessions.selectors import attendance_sheet

CSV_HEADER = ["learner", "username", "email", "session", "starts_at", "attendance", "marked_at"]


def _cell(value: Any) -> str:
    """Spreadsheet-safe text: a leading = + - @ would run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def attendance_csv(*, session: Session, no_shows: bool = False) -> str:
    """Every confirmed attendee with their mark; ``no_shows``: only the absent and unmarked
    (excused people told the trainer, late ones came)."""
    rows = attendance_sheet(session=session)
    if no_shows:
        rows = rows.filter(attendance__in=[Attendance.ABSENT, ""])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    r.user.name,
                    r.user.username,
                    r.user.email,
                    session.title,
                    session.starts_at.isoformat(),
                    r.attendance or "unmarked",
                    r.attendance_marked_at.isoformat() if r.attendance_marked_at else "",
                )
            ]
        )
    return out.getvalue()


def csv_filename(session: Session, no_shows: bool) -> str:
    return f"session-{session.pk}-{'no-shows' if no_shows else 'attendance'}.csv"
