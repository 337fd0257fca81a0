"""Publishing events: after commit, serialised once, through the channel layer.

The message on the layer carries the finished frame text, so no process re-encodes it, and
each process hands the same string to every local socket (see ``fanout.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

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
    """Hand one finished frame to the channel layer, from any thread."""
    layer = get_channel_layer()
    if layer is None:
        return
    _send_message(layer, topic, layer_message(topic, text, id))


def _send_message(layer: Any, group: str, message: dict[str, Any]) -> None:
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
    elif home is not None:
        future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), home)
        future.result(timeout=10)
    else:
        async_to_sync(layer.group_send)(group, message)


def publish(topic: str, type: str, data: dict[str, Any], *, id: int | None = None) -> None:
    """Publish an event to ``topic`` once the current transaction commits.

    ``id`` marks a durable event (the row's primary key, increasing per topic): late
    subscribers get it from the topic's backlog. Ephemeral events leave it ``None``.
    Nothing is sent if the transaction rolls back.
    """
    text = event_frame(topic, type, data, id)
    transaction.on_commit(lambda: _deliver(topic, text, id), robust=True)


def _deliver(topic: str, text: str, id: int | None) -> None:
    try:
        send_to_layer(topic, text, id)
    except Exception:
        # The data is committed and durable events replay from the backlog: a layer
        # outage must not turn a successful write into an error for the user.
        logger.exception("could not publish to %s", topic)


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
        except Exception:
            logger.exception("could not revoke %s for user %s", topic, user_id)

    transaction.on_commit(send, robust=True)
