"""Logging filters named in ``settings.LOGGING``."""

from __future__ import annotations

import logging


class ClientErrorsInOneLine(logging.Filter):
    """Drop the traceback of a 4xx response's log record; keep the warning line.

    Django logs a view's ``PermissionDenied`` (403) with the exception attached: a routine
    refusal -- a learner opening a trainer's page -- filled the log with a traceback that
    points at no bug. Server errors (5xx) keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
