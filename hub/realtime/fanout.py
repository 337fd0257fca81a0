"""Per-process fan-out: one channel-layer subscription per topic per process.

The Channels default is one layer channel per socket and one group membership per socket
and topic, so an event is copied, decoded and dispatched once per socket. Here each event
loop (one per daphne process) owns a single layer channel that joins a topic's group when
its first local socket subscribes; an arriving message, whose ``text`` is the finished
frame, is handed as that same string to every local subscriber.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import weakref
from collections.abc import Iterable
from typing import Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from hub.outages import is_outage, recovered, warn_once
from hub.realtime.errors import GatewayError
from hub.realtime.publishing import (
    FANOUT_MESSAGE_TYPE,
    REVOKE_MESSAGE_TYPE,
    SOCKETS_GROUP,
    set_home_loop,
)
from hub.realtime.writers import OutgoingFrame

logger = logging.getLogger(__name__)


HEARTBEAT_MESSAGE_TYPE = "lyceum.heartbeat"


class Subscriber(Protocol):
    def deliver(self, topic: str, frame: OutgoingFrame) -> None: ...

    def revoke(self, topic: str, user_id: int) -> None: ...

    def layer_lost(self) -> None: ...


class Fanout:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.subscribers: dict[str, set[Subscriber]] = {}
        self._started = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self._watch: asyncio.Task | None = None
        # The layer is believed down (a heartbeat failed or did not come back).
        self.down = False
        self._heard = 0  # the last heartbeat that came back
        self._failed_at = float("-inf")  # when the layer last refused to start

    async def start(self) -> None:
        async with self._started:
            if self._task is not None:
                return
            if time.monotonic() - self._failed_at < 1.0:
                # The layer refused a moment ago: every try leaves a queue behind in the
                # pub/sub layer, so retries from many sockets are held to one a second.
                raise GatewayError("unavailable", "live updates are unavailable, retry")
            try:
                self.channel = await self.layer.new_channel("fanout.")
                # disconnect_user (issue 16): one group for every process, joined once.
                await self.layer.group_add(SOCKETS_GROUP, self.channel)
            except Exception:
                self._failed_at = time.monotonic()
                raise
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._receive_forever())
            interval = settings.LYCEUM_REALTIME.get("LAYER_CHECK_SECONDS", 0)
            if interval:
                self._watch = loop.create_task(self._watch_forever(interval))
            set_home_loop(loop)

    def listening(self, topic: str) -> bool:
        """Does this process already receive ``topic`` from the layer (a local socket is
        subscribed)? Then subscribing another socket costs no layer call."""
        return self._task is not None and topic in self.subscribers

    async def add(self, topic: str, subscriber: Subscriber) -> None:
        await self.start()
        local = self.subscribers.get(topic)
        if local is None:
            # Listed only once the layer took it: a failed group_add is tried again next time.
            await self.layer.group_add(topic, self.channel)
            local = self.subscribers.setdefault(topic, set())
        local.add(subscriber)

    def list_socket(self, subscriber: Subscriber) -> None:
        """List a socket for ``disconnect_user`` (the process joined its group at start)."""
        self.subscribers.setdefault(SOCKETS_GROUP, set()).add(subscriber)

    def discard_socket(self, subscriber: Subscriber) -> None:
        local = self.subscribers.get(SOCKETS_GROUP)
        if local is not None:
            local.discard(subscriber)

    async def discard(self, topic: str, subscriber: Subscriber) -> None:
        local = self.subscribers.get(topic)
        if local is None:
            return
        local.discard(subscriber)
        if not local:
            del self.subscribers[topic]
            try:
                await self.layer.group_discard(topic, self.channel)
            except Exception as exc:
                if not is_outage(exc):
                    raise
                # Nothing to undo: a message still arriving for it finds no local socket.
                warn_once("channel layer", "the channel layer (Redis) is unreachable")

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
            if kind == HEARTBEAT_MESSAGE_TYPE:
                self._heard = max(self._heard, message.get("n", 0))
            elif kind == FANOUT_MESSAGE_TYPE:
                self.dispatch(message["topic"], message["text"], message.get("id"))
            elif kind == REVOKE_MESSAGE_TYPE:
                self.revoke(message["topic"], message["user_id"])

    async def _watch_forever(self, interval: float) -> None:
        """Send this process a heartbeat through the layer every ``interval`` seconds.

        The pub/sub layer reconnects to Redis by itself and never reports an outage to its
        readers: events published meanwhile are simply never delivered. So a heartbeat that
        cannot be sent, or does not come back within ``LAYER_TIMEOUT_SECONDS``, means live
        delivery has a hole: every local socket with subscriptions is closed with
        ``CLOSE_UNAVAILABLE``, and its client reconnects and resumes with ``since`` (from
        the database) once the layer is back. Nothing durable is lost; live events of a
        blip shorter than the interval may go unnoticed (docs/OPERATIONS.md).
        """
        timeout = settings.LYCEUM_REALTIME.get("LAYER_TIMEOUT_SECONDS", 10 * interval)
        last_heard_at = time.monotonic()
        for n in itertools.count(1):
            await asyncio.sleep(interval)
            if self._heard > 0 and self._heard >= n - 2:
                last_heard_at = time.monotonic()  # a recent heartbeat came back
                if self.down:
                    self.down = False
                    recovered("channel layer")
            try:
                await asyncio.wait_for(
                    self.layer.send(self.channel, {"type": HEARTBEAT_MESSAGE_TYPE, "n": n}),
                    timeout,
                )
                failed = time.monotonic() - last_heard_at > timeout
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_outage(exc) and not isinstance(exc, TimeoutError):
                    logger.exception("channel-layer heartbeat failed")
                failed = True
            if failed and not self.down:
                self.layer_lost()

    def layer_lost(self) -> None:
        """Live delivery through the layer broke: close every subscribed local socket."""
        self.down = True
        warn_once(
            "channel layer",
            "the channel layer (Redis) is unreachable: closing %d sockets' subscriptions so "
            "that their clients resume from the database when it is back",
            len({s for subs in self.subscribers.values() for s in subs}),
        )
        for subscriber in {s for subs in self.subscribers.values() for s in subs}:
            try:
                subscriber.layer_lost()
            except Exception:
                logger.exception("closing a socket after the layer was lost failed")


_fanouts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Fanout] = weakref.WeakKeyDictionary()


def get_fanout() -> Fanout:
    """The fan-out of the running event loop (one per process under daphne)."""
    loop = asyncio.get_running_loop()
    fanout = _fanouts.get(loop)
    if fanout is None:
        fanout = _fanouts[loop] = Fanout()
    return fanout
