"""The benchmark's own topic kind, loaded only by servers started with ``LYCEUM_BENCH=1``.

``bench.ticker.<key>``: any signed-in user may subscribe; the ``publish`` action sends its
data back out as a ``tick`` event through the real path (``publish`` -> on commit ->
channel layer -> per-process fan-out -> every socket).
"""

from __future__ import annotations

from typing import Any

from hub import realtime
from hub.realtime.registry import is_anonymous


@realtime.topic("bench.ticker")
class TickerTopic(realtime.Topic):
    """A topic that only benchmarks use."""

    def authorize(self, user: Any, key: str) -> bool:
        return not is_anonymous(user)

    @realtime.action("publish")
    def publish(self, user: Any, key: str, data: dict[str, Any]) -> dict[str, Any]:
        realtime.publish(f"bench.ticker.{key}", "tick", data)
        return {"published": True}
