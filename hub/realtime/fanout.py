"""Per-process fan-out: one channel-layer subscription per topic per process.

The Channels default is one layer channel per socket and one group membership per socket
and topic, so an event is copied, decoded and dispatched once per socket. Here each event
loop (one per daphne process) owns a single layer channel that joins a topic's group when
its first local socket subscribes; an arriving message, whose ``text`` is the finished
frame, is handed as that same string to every local subscriber.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Iterable
from typing import Protocol

from channels.layers import get_channel_layer

from hub.realtime.publishing import FANOUT_MESSAGE_TYPE, REVOKE_MESSAGE_TYPE, set_home_loop
from hub.realtime.writers import OutgoingFrame

logger = logging.getLogger(__name__)


class Subscriber(Protocol):
    def deliver(self, topic: str, frame: OutgoingFrame) -> None: ...

    def revoke(self, topic: str, user_id: int) -> None: ...


class Fanout:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.subscribers: dict[str, set[Subscriber]] = {}
        self._started = asyncio.Lock()
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        async with self._started:
            if self._task is not None:
                return
            self.channel = await self.layer.new_channel("fanout.")
            self._task = asyncio.get_running_loop().create_task(self._receive_forever())
            set_home_loop(asyncio.get_running_loop())

    async def add(self, topic: str, subscriber: Subscriber) -> None:
        await self.start()
        local = self.subscribers.get(topic)
        if local is None:
            local = self.subscribers[topic] = set()
            await self.layer.group_add(topic, self.channel)
        local.add(subscriber)

    async def discard(self, topic: str, subscriber: Subscriber) -> None:
        local = self.subscribers.get(topic)
        if local is None:
            return
        local.discard(subscriber)
        if not local:
            del self.subscribers[topic]
            await self.layer.group_discard(topic, self.channel)

    async def discard_all(self, topics: Iterable[str], subscriber: Subscriber) -> None:
        for topic in list(topics):
            await self.discard(topic, subscriber)

    def dispatch(self, topic: str, text: str, id: int | None) -> None:
        subscribers = self.subscribers.get(topic)
        if not subscribers:
            return
        frame = OutgoingFrame(text, id)  # encoded and framed once, for every local socket
        for subscriber in tuple(subscribers):
            try:
                subscriber.deliver(topic, frame)
            except Exception:
                logger.exception("delivery to a socket failed")

    def revoke(self, topic: str, user_id: int) -> None:
        for subscriber in tuple(self.subscribers.get(topic, ())):
            try:
                subscriber.revoke(topic, user_id)
            except Exception:
                logger.exception("revoking a subscription failed")

    async def _receive_forever(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A layer hiccup (Redis restart): the layer reconnects; back off briefly.
                logger.exception("fan-out receive failed")
                await asyncio.sleep(0.5)
                continue
            kind = message.get("type")
            if kind == FANOUT_MESSAGE_TYPE:
                self.dispatch(message["topic"], message["text"], message.get("id"))
            elif kind == REVOKE_MESSAGE_TYPE:
                self.revoke(message["topic"], message["user_id"])


_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Fanout] = weakref.WeakKeyDictionary()


def get_fanout() -> Fanout:
    """The fan-out of the running event loop (one per process under daphne)."""
    loop = asyncio.get_running_loop()
    fanout = _fanouts.get(loop)
    if fanout is None:
        fanout = _fanouts[loop] = Fanout()
    return fanout
