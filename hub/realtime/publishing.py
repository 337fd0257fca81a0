"""Publishing events: after commit, serialised once, through the channel layer.

The message on the layer carries the finished frame text, so no process re-encodes it, and
each process hands the same string to every local socket (see ``fanout.py``).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from hub.outages import is_outage, warn_once

logger = logging.getLogger(__name__)

FANOUT_MESSAGE_TYPE = "lyceum.fanout"
REVOKE_MESSAGE_TYPE = "lyceum.revoke"


def encode(frame: dict[str, Any]) -> str:
    """The one JSON encoding of every frame the gateway sends."""
    return json.dumps(frame, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


def event_frame(topic: str, type: str, data: dict[str, Any], id: int | None = None) -> str:
    frame: dict[str, Any] = {"op": "event", "topic": topic, "type": type}
    if id is not None:
        frame["id"] = id
    frame["data"] = data
    return encode(frame)


def layer_message(topic: str, text: str, id: int | None) -> dict[str, Any]:
    return {"type": FANOUT_MESSAGE_TYPE, "topic": topic, "id": id, "text": text}


# The event loop that serves sockets in this process (daphne's, or a test's). Sync code in
# other threads hands its sends to that loop, because the in-memory layer is not thread-safe.
_home_loop: asyncio.AbstractEventLoop | None = None
_home_lock = threading.Lock()


def set_home_loop(loop: asyncio.AbstractEventLoop) -> None:
    global _home_loop
    with _home_lock:
        _home_loop = loop


def _running_home_loop() -> asyncio.AbstractEventLoop | None:
    loop = _home_loop
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


_in_flight: set[asyncio.Task] = set()


def send_to_layer(topic: str, text: str, id: int | None) -> None:
    """Hand one finished frame to the channel layer, from any thread, and wait for it."""
    _wait(start_send(topic, text, id))


def start_send(topic: str, text: str, id: int | None) -> concurrent.futures.Future | None:
    """Start handing one frame to the layer; the future (if any) says when it is done.

    Sends started one after the other reach the layer in that order (they queue on one
    event loop), so callers that must keep an order start them in it.
    """
    layer = get_channel_layer()
    if layer is None:
        return None
    return _start_message(layer, topic, layer_message(topic, text, id))


def _wait(future: concurrent.futures.Future | None) -> None:
    if future is not None:
        future.result(timeout=10)


def _send_message(layer: Any, group: str, message: dict[str, Any]) -> None:
    """``group_send`` from any thread, waiting for it."""
    _wait(_start_message(layer, group, message))


def _start_message(
    layer: Any, group: str, message: dict[str, Any]
) -> concurrent.futures.Future | None:
    """``group_send`` from any thread: on this thread's loop, the home loop, or a new one."""
    home = _running_home_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:
        # Called on an event loop's thread (an on-commit callback of async code): schedule,
        # keeping a reference until it is done (the loop itself holds only a weak one).
        task = running.create_task(layer.group_send(group, message))
        _in_flight.add(task)
        task.add_done_callback(_in_flight.discard)
        return None
    if home is not None:
        return asyncio.run_coroutine_threadsafe(layer.group_send(group, message), home)
    async_to_sync(layer.group_send)(group, message)
    return None


def publish(topic: str, type: str, data: dict[str, Any], *, id: int | None = None) -> None:
    """Publish an event to ``topic`` once the current transaction commits.

    ``id`` marks a durable event (the row's primary key, increasing per topic): late
    subscribers get it from the topic's backlog. Ephemeral events leave it ``None``.
    Nothing is sent if the transaction rolls back. The events of one topic reach the layer
    in the order their transactions committed (see ``CommitOrder``).
    """
    slot = _commit_order.reserve(topic, event_frame(topic, type, data, id), id)
    transaction.on_commit(_OnCommit(slot), robust=True)


class _Slot:
    __slots__ = ("id", "reserved_at", "state", "text", "topic")

    def __init__(self, topic: str, text: str, id: int | None) -> None:
        self.topic, self.text, self.id = topic, text, id
        self.state = PENDING
        self.reserved_at = time.monotonic()


PENDING, COMMITTED, DONE = "pending", "committed", "done"


class CommitOrder:
    """Sends each topic's events to the layer in the order their transactions committed.

    Writers of a topic take turns from id to commit (``hold_topic_order``), but each hands
    its event to the layer after its commit, on its own thread: a writer held up between
    its commit and its send (the GIL, a busy CPU) would be overtaken by the next writer,
    and a client could see event 16 before 15 (and, reconnecting in between with
    ``since=16``, never get 15). So ``publish`` takes a place in the topic's line while the
    transaction still holds the topic's turn, and an event leaves only when everything
    ahead of it in its topic's line has left or was rolled back.

    Django has no rollback hook: a rolled-back transaction drops its on-commit callbacks,
    and a finalizer on the callback gives up its place. A place held longer than
    ``STALE_SECONDS`` (a transaction that never ends) stops holding up the line.
    This orders the writers of one process. Writers in two processes can still swap their
    sends within the moment between a commit and its send: a subscriber then gets the
    earlier event a moment late (it is never lost unless the client reconnects, with a
    ``since`` past it, within that moment).
    """

    STALE_SECONDS = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: dict[str, collections.deque[_Slot]] = {}
        # Rollbacks noticed by finalizers, settled by whoever holds or next takes the lock.
        self._rollbacks: collections.deque[_Slot] = collections.deque()

    def reserve(self, topic: str, text: str, id: int | None) -> _Slot:
        slot = _Slot(topic, text, id)
        with self._lock:
            self._lines.setdefault(topic, collections.deque()).append(slot)
        self._settle_rollbacks()
        return slot

    def committed(self, slot: _Slot) -> None:
        started: list[tuple[_Slot, concurrent.futures.Future | None]] = []
        with self._lock:
            self._settle_locked(slot, COMMITTED, started)
        self._finish(started)
        self._settle_rollbacks()

    def rolled_back(self, slot: _Slot) -> None:
        """Give up ``slot``'s place. Never waits for the lock: this runs from a finalizer,
        which the garbage collector may call on any thread at any allocation, including
        one that holds the lock already (an exception's traceback makes a cycle while a
        send fails under it); waiting there would deadlock the thread."""
        if slot.state != PENDING:
            return
        self._rollbacks.append(slot)
        self._settle_rollbacks()

    def _settle_rollbacks(self) -> None:
        """Settle the queued rollbacks, if the lock is free; its holder calls this again
        after releasing it, so none is left behind."""
        while self._rollbacks:
            if not self._lock.acquire(blocking=False):
                return
            started: list[tuple[_Slot, concurrent.futures.Future | None]] = []
            try:
                while self._rollbacks:
                    self._settle_locked(self._rollbacks.popleft(), DONE, started)
            finally:
                self._lock.release()
            self._finish(started)

    def _settle_locked(
        self,
        slot: _Slot,
        state: str,
        started: list[tuple[_Slot, concurrent.futures.Future | None]],
    ) -> None:
        if slot.state != PENDING:
            return
        slot.state = state
        line = self._lines.get(slot.topic)
        if line is None or slot not in line:
            # Dropped from a stale line: nothing is ahead of it any more.
            if state == COMMITTED:
                started.append((slot, self._start(slot)))
            return
        stale = time.monotonic() - self.STALE_SECONDS
        while line and (line[0].state != PENDING or line[0].reserved_at < stale):
            head = line.popleft()
            if head.state == PENDING:
                logger.warning("an event of %s waited too long for its commit", head.topic)
            elif head.state == COMMITTED:
                # Started under the lock: the layer gets them in this order.
                started.append((head, self._start(head)))
        if not line:
            del self._lines[slot.topic]

    @staticmethod
    def _finish(started: list[tuple[_Slot, concurrent.futures.Future | None]]) -> None:
        for sent, future in started:  # waited for outside the lock
            try:
                _wait(future)
            except Exception as exc:
                # The data is committed and durable events replay from the backlog: a layer
                # outage must not turn a successful write into an error for the user.
                publish_failed(sent.topic, exc)

    @staticmethod
    def _start(slot: _Slot) -> concurrent.futures.Future | None:
        slot.state = DONE
        try:
            return start_send(slot.topic, slot.text, slot.id)
        except Exception as exc:
            publish_failed(slot.topic, exc)
            return None

    def waiting(self) -> int:
        """Events reserved and not yet sent or dropped (for tests and diagnostics)."""
        with self._lock:
            return sum(len(line) for line in self._lines.values())


def publish_failed(topic: str, exc: BaseException) -> None:
    """An event could not reach the layer. Durable events reach subscribers from the
    backlog: the gateway closes sockets whose layer failed (``Fanout.layer_lost``) and
    their clients resume with ``since``. Said once per outage, not once per event."""
    if is_outage(exc):
        warn_once(
            "channel layer",
            "could not publish to the channel layer (Redis unreachable): live events wait; "
            "subscribers resume from the database when it is back (first: %s)",
            topic,
        )
    else:
        logger.error("could not publish to %s", topic, exc_info=exc)


_commit_order = CommitOrder()


def forget_publications(callbacks: Iterable[Callable[[], Any]]) -> None:
    """Give up the places of these on-commit callbacks' events, as a rollback would.

    For tests, whose transaction never commits: the set-up's events leave the line unsent.
    """
    for callback in callbacks:
        if isinstance(callback, _OnCommit):
            _commit_order.rolled_back(callback.slot)


class _OnCommit:
    """The on-commit callback of one published event; its finalizer notices a rollback."""

    __slots__ = ("__weakref__", "slot")

    def __init__(self, slot: _Slot) -> None:
        self.slot = slot
        # Runs when Django drops the callback: after it ran (then a no-op), or on rollback.
        weakref.finalize(self, _commit_order.rolled_back, slot)

    def __call__(self) -> None:
        _commit_order.committed(self.slot)


async def apublish(topic: str, type: str, data: dict[str, Any], *, id: int | None = None) -> None:
    """Publish from async code (ephemeral events: typing, presence, hands)."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(topic, layer_message(topic, event_frame(topic, type, data, id), id))


def revoke(topic: str, *, user_id: int) -> None:
    """End ``user_id``'s subscriptions to ``topic`` on every process, after commit.

    For a service that takes away someone's right to a topic (removed from a conversation,
    unenrolled): their open sockets stop receiving it at once and get an ``unsubscribed``
    event; a new ``sub`` is checked against ``authorize`` as usual.
    """

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        message = {"type": REVOKE_MESSAGE_TYPE, "topic": topic, "user_id": user_id}
        try:
            _send_message(layer, topic, message)
        except Exception as exc:
            if is_outage(exc):
                # Every socket under a failed layer is closed anyway; a new sub is checked.
                warn_once("channel layer", "could not revoke %s: the layer is unreachable", topic)
            else:
                logger.exception("could not revoke %s for user %s", topic, user_id)

    transaction.on_commit(send, robust=True)


# -- identity and access (issue 16) ---------------------------------------------------------
SOCKETS_GROUP = "hub.sockets"


def sockets_group(user_id: int) -> str:
    """The layer group every process's fan-out joins once: ``disconnect_user`` messages."""
    return SOCKETS_GROUP


def disconnect_user(*, user_id: int) -> None:
    """Close every open socket of ``user_id`` on every process, after commit (deactivation,
    erasure, "sign out everywhere"). Each socket is closed with ``CLOSE_UNAUTHENTICATED``:
    the browser client asks for a new login instead of reconnecting. The message goes to one
    group that every process is in (no group membership per socket or per person: a storm of
    connections costs the layer nothing more); rare, so each process checks its own sockets."""
    revoke(SOCKETS_GROUP, user_id=user_id)
