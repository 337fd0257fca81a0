"""Waiting for a page's live connection in browser tests.

A page's topics are live-only for most events (progress, overdue, a new cycle: no backlog
to replay), so a test that makes the server publish one must first know the page follows
the topic. ``connected`` is not enough: the socket opens, then the client sends each
``sub`` and the server answers it; an event published in between reaches nobody, and
under load the test misses it. The client keeps its unanswered requests in
``realtime.pending``: once the socket is open and that map is empty, every subscription the
page asked for is answered.
"""

from __future__ import annotations

from typing import Any

SUBSCRIBED = (
    "() => window.Lyceum && window.Lyceum.realtime.connected === true"
    " && window.Lyceum.realtime.pending.size === 0"
)


def subscribed(page: Any) -> None:
    """Wait until ``page``'s socket is open and its subscriptions are answered: from then
    on an event published on one of its topics reaches it."""
    page.wait_for_function(SUBSCRIBED)
