"""Publishing events: after commit, serialised once, through the channel layer.

The message on the layer carries the finished frame text, so no process re-encodes it, and
each process hands the same string to every local socket (see ``fanout.py``).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import functools
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


class Encoded(dict):
    """An event's data together with its JSON text, encoded once.

    The event frame and the acting socket's ``ok`` reply (a chat message's payload is
    both) splice the same text instead of encoding the data twice. Not to be changed
    after it is built: the text would no longer match.
    """

    __slots__ = ("json",)

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.json = encode(data)


def with_data(head: dict[str, Any], data: dict[str, Any]) -> str:
    """``encode(head | {"data": data})``, reusing ``data``'s text when it has one."""
    if isinstance(data, Encoded):
        return f'{encode(head)[:-1]},"data":{data.json}}}'
    return encode({**head, "data": data})


def event_frame(topic: str, type: str, data: dict[str, Any], id: int | None = None) -> str:
    frame: dict[str, Any] = {"op": "event", "topic": topic, "type": type}
    if id is not None:
        frame["id"] = id
    return with_data(frame, data)


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


# Batches handed to the home loop and not yet sent. Past this many the committing thread
# waits for its batch (back-pressure, e.g. while Redis is slow) instead of queueing more.
MAX_BATCHES_IN_FLIGHT = 500

Frame = tuple[str, str, int | None]  # (topic, frame text, durable id or None)


def start_sends(frames: list[Frame]) -> concurrent.futures.Future | None:
    """Start handing committed events to the layer, in this order, in one go.

    This is the committed events' path (``CommitOrder``), the hot path of every chat
    message: one hand-off to the event loop for all the events of a transaction (a chat
    message publishes two), and one round trip to Redis when they share a shard
    (``_send_batch``). From a worker thread while the process's event loop runs, the thread
    does not wait for the send: the order is already fixed (batches start on the loop in
    the order they were handed over), and a failure is reported from the loop. Returns a
    future only when the caller must wait (no running home loop, or too many batches
    queued).
    """
    layer = get_channel_layer()
    if layer is None or not frames:
        return None
    batch = [(topic, layer_message(topic, text, id)) for topic, text, id in frames]
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is not None:
        _spawn_batch(layer, batch)
        return None
    home = _running_home_loop()
    if home is None:
        async_to_sync(_send_batch)(layer, batch)
        return None
    if len(_in_flight) >= MAX_BATCHES_IN_FLIGHT:
        return asyncio.run_coroutine_threadsafe(_send_batch(layer, batch), home)
    home.call_soon_threadsafe(_spawn_batch, layer, batch)
    return None


def _spawn_batch(layer: Any, batch: list[tuple[str, dict[str, Any]]]) -> None:
    """On the loop's thread: send ``batch`` as a task, reporting a failure when it ends."""
    task = asyncio.get_running_loop().create_task(_send_batch(layer, batch))
    _in_flight.add(task)
    task.add_done_callback(functools.partial(_batch_done, batch[0][0]))


def _batch_done(topic: str, task: asyncio.Task) -> None:
    _in_flight.discard(task)
    if not task.cancelled() and task.exception() is not None:
        publish_failed(topic, task.exception())


async def _send_batch(layer: Any, batch: list[tuple[str, dict[str, Any]]]) -> None:
    """``group_send`` each (group, message) of ``batch`` in order.

    On the Redis pub/sub layer, the PUBLISHes of groups on one shard (with one Redis host,
    all) go in one pipeline: one connection checkout and one round trip instead of one per
    event. That reaches into ``channels_redis.pubsub`` 4.3 (pinned in pyproject.toml: the
    shard, its lock and its client); any other layer, or a layer shaped otherwise, gets one
    ``group_send`` per message.
    """
    shard_of = getattr(layer, "_get_layer", None)
    if len(batch) > 1 and shard_of is not None:
        try:
            loop_layer = shard_of()
            channels = [loop_layer._get_group_channel_name(group) for group, _ in batch]
            shards = {id(loop_layer._get_shard(name)) for name in channels}
            shard = loop_layer._get_shard(channels[0]) if len(shards) == 1 else None
            shard_lock, ensure_redis = shard._lock, shard._ensure_redis
        except AttributeError:
            shard = None
        if shard is not None:
            payloads = [layer.serialize(message) for _, message in batch]
            async with shard_lock:  # the shard's publishes keep their order
                ensure_redis()
                pipeline = shard._redis.pipeline(transaction=False)
                for name, payload in zip(channels, payloads, strict=True):
                    pipeline.publish(name, payload)
                await pipeline.execute()
            return
    for group, message in batch:
        await layer.group_send(group, message)


def publish(topic: str, type: str, data: dict[str, Any], *, id: int | None = None) -> None:
    """Publish an event to ``topic`` once the current transaction commits.

    ``id`` marks a durable event (the row's primary key, increasing per topic): late
    subscribers get it from the topic's backlog. Ephemeral events leave it ``None``.
    Nothing is sent if the transaction rolls back. The events of one topic reach the layer
    in the order their transactions committed (see ``CommitOrder``).
    """
    slot = _commit_order.reserve(topic, event_frame(topic, type, data, id), id)
    pending = _pending_callback()
    if pending is not None:
        pending.slots.append(slot)  # the transaction's other events go out with it
        return
    transaction.on_commit(_OnCommit([slot]), robust=True)


def _pending_callback() -> _OnCommit | None:
    """The current transaction's events callback, if the last on-commit callback is one
    registered under the same savepoints (so it is dropped exactly when this event must be:
    on the rollback of the transaction or of that savepoint)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block or not connection.run_on_commit:
        return None
    savepoints, callback, _robust = connection.run_on_commit[-1]
    if isinstance(callback, _OnCommit) and savepoints == set(connection.savepoint_ids):
        return callback
    return None


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

    def committed(self, slots: list[_Slot]) -> None:
        """The transaction that reserved ``slots`` committed: send what may leave now."""
        started: list[_Slot] = []
        with self._lock:
            for slot in slots:
                self._settle_locked(slot, COMMITTED, started)
            future = self._start(started)
        self._finish(started, future)
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
            started: list[_Slot] = []
            try:
                while self._rollbacks:
                    self._settle_locked(self._rollbacks.popleft(), DONE, started)
                future = self._start(started)
            finally:
                self._lock.release()
            self._finish(started, future)

    def _settle_locked(
        self,
        slot: _Slot,
        state: str,
        started: list[_Slot],
    ) -> None:
        """Mark ``slot``; add to ``started`` whatever may leave now, in its line's order."""
        if slot.state != PENDING:
            return
        slot.state = state
        line = self._lines.get(slot.topic)
        if line is None or slot not in line:
            # Dropped from a stale line: nothing is ahead of it any more.
            if state == COMMITTED:
                slot.state = DONE
                started.append(slot)
            return
        stale = time.monotonic() - self.STALE_SECONDS
        while line and (line[0].state != PENDING or line[0].reserved_at < stale):
            head = line.popleft()
            if head.state == PENDING:
                logger.warning("an event of %s waited too long for its commit", head.topic)
            elif head.state == COMMITTED:
                head.state = DONE
                started.append(head)
        if not line:
            del self._lines[slot.topic]

    @staticmethod
    def _start(started: list[_Slot]) -> concurrent.futures.Future | None:
        """Start sending, under the lock: the layer gets the events in this order."""
        if not started:
            return None
        try:
            return start_sends([(slot.topic, slot.text, slot.id) for slot in started])
        except Exception as exc:
            publish_failed(started[0].topic, exc)
            return None

    @staticmethod
    def _finish(started: list[_Slot], future: concurrent.futures.Future | None) -> None:
        """Wait, outside the lock, for a send that must be waited for."""
        try:
            _wait(future)
        except Exception as exc:
            # The data is committed and durable events replay from the backlog: a layer
            # outage must not turn a successful write into an error for the user.
            publish_failed(started[0].topic, exc)

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
            for slot in callback.slots:
                _commit_order.rolled_back(slot)


class _OnCommit:
    """The on-commit callback of a transaction's published events (in publishing order);
    its finalizer notices a rollback."""

    __slots__ = ("__weakref__", "slots")

    def __init__(self, slots: list[_Slot]) -> None:
        self.slots = slots
        # Runs when Django drops the callback: after it ran (then a no-op), or on rollback.
        weakref.finalize(self, _rolled_back, slots)

    def __call__(self) -> None:
        _commit_order.committed(self.slots)


def _rolled_back(slots: list[_Slot]) -> None:
    for slot in slots:
        _commit_order.rolled_back(slot)


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
