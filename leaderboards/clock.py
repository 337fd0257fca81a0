"""The duels' clock: one seam so tests drive time-outs with a fake clock.

Call ``clock.now()`` through the module (``from leaderboards import clock``), never import
the function itself, so a test's replacement is seen everywhere.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()
