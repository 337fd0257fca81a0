"""The WebSocket gateway at ``/ws/``: one socket per tab, every live feature a topic.

A plain ASGI application rather than a Channels consumer: a consumer takes a channel-layer
channel per socket (one Redis subscription each with the pub/sub layer), which the
process-wide fan-out (``fanout.py``) makes unnecessary.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, connections
from django.http import Http404
from rest_framework.exceptions import APIException, Throttled
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError

from hub import shutdown
from hub.outages import is_outage, is_overload, warn_once
from hub.realtime import presence
from hub.realtime.admission import Overloaded, Ticket, admission
from hub.realtime.errors import GatewayError
from hub.realtime.fanout import get_fanout
from hub.realtime.publishing import apublish, encode, sockets_group, with_data
from hub.realtime.registry import (
    ActionSpec,
    Event,
    Topic,
    TopicName,
    get_topic,
    is_anonymous,
    parse_topic,
)
from hub.realtime.writers import (
    CLOSE_RESTARTING,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNAVAILABLE,
    OutgoingFrame,
    SocketWriter,
    writer_for,
)

logger = logging.getLogger(__name__)


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second."""

    def __init__(self, burst: float, rate: float) -> None:
        self.capacity = burst
        self.tokens = float(burst)
        self.rate = rate
        self.updated = time.monotonic()

    def level(self) -> float:
        """Tokens available now (negative while a charge is being paid back)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return self.tokens

    def take(self, cost: float = 1) -> bool:
        """Spend ``cost`` tokens if there are that many; False (nothing spent) if not."""
        if self.level() >= cost:
            self.tokens -= cost
            return True
        return False

    def seconds_until(self, cost: float) -> float:
        """How long until ``cost`` tokens are there (0 if they are now)."""
        missing = cost - self.level()
        return max(0.0, missing / self.rate) if self.rate > 0 else float("inf")

    def charge(self, cost: float) -> None:
        """Spend ``cost`` tokens after the fact (what a replay sent), going into debt."""
        self.level()
        self.tokens -= cost


# What each op spends from the socket's budget, in units of one ``act`` (ACT_BURST, ACT_RATE):
# a subscription reads from the database (authorize, maybe presence), a ping or an unsub
# does next to nothing. A replay also spends bytes from the replay budget (``_subscribe``).
OP_COSTS = {"ping": 0.25, "unsub": 0.25, "sub": 1.0, "act": 1.0}

# The widest integer a database column holds (BIGINT). Larger numbers anywhere in a frame
# are refused at the door: SQLite cannot even bind them ("Python int too large").
MAX_INT = 2**63 - 1
# How deeply a frame may nest: no protocol frame needs more than a few levels.
MAX_DEPTH = 32


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_frame(raw: str | bytes) -> tuple[dict[str, Any], str | None]:
    """The frame as a dict and what is out of range in it (None: nothing), or a
    ``bad_frame`` ``GatewayError``: not JSON, not an object, nested too deeply.

    The checks are iterative (a frame of 60,000 ``[`` must not raise ``RecursionError``
    anywhere down the line), and run once here for every op and every action's data. An
    out-of-range number is reported, not raised, so that the error frame carries the ref.
    """
    try:
        frame = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise GatewayError("bad_frame", f"frames may nest at most {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError):
        raise GatewayError("bad_frame", "frame is not valid JSON") from None
    if not isinstance(frame, dict):
        raise GatewayError("bad_frame", "frame must be a JSON object")
    problem = None
    stack: list[tuple[Any, int]] = [(frame, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise GatewayError("bad_frame", f"frames may nest at most {MAX_DEPTH} levels")
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -MAX_INT - 1 <= value <= MAX_INT:
                problem = "numbers must fit in 64 bits"
        elif isinstance(value, float) and not math.isfinite(value):
            problem = "numbers must be finite"
    return frame, problem


@dataclass(slots=True)
class Subscription:
    topic: Topic
    name: TopicName
    ready: bool = False
    # Live events that arrived while the backlog was being read and sent.
    pending: list[OutgoingFrame] = field(default_factory=list)
    # Ids replayed from the backlog: the same event arriving live is not sent twice.
    replayed: set[int] = field(default_factory=set)
    present: bool = False
    revoked: bool = False


def error_frame(
    ref: Any, code: str, message: str, details: Any = None, retry_after: float | None = None
) -> str:
    frame: dict[str, Any] = {"op": "error", "ref": ref, "code": code, "message": message}
    if details is not None:
        frame["details"] = details
    if retry_after is not None:
        frame["retry_after"] = round(retry_after, 1)
    return encode(frame)


def _drf_details(exc: APIException) -> Any:
    return exc.detail if isinstance(exc.detail, dict | list) else str(exc.detail)


class Connection:
    """One socket's state: its user, subscriptions, limits and writer."""

    def __init__(self, scope: dict[str, Any], send: Any) -> None:
        conf = settings.LYCEUM_REALTIME
        self.scope = scope
        self.send = send
        self.user = scope.get("user")
        self.id = uuid.uuid4().hex[:12]
        self.subscriptions: dict[str, Subscription] = {}
        # Every op spends from this budget (OP_COSTS); a replay also from the bytes one.
        self.bucket = TokenBucket(conf["ACT_BURST"], conf["ACT_RATE"])
        self.replay_budget = TokenBucket(conf["REPLAY_BURST_BYTES"], conf["REPLAY_RATE_BYTES"])
        self.max_frame = conf["MAX_FRAME_BYTES"]
        self.max_subscriptions = conf["MAX_SUBSCRIPTIONS"]
        self.backlog_limit = conf["BACKLOG_LIMIT"]
        self.writer: SocketWriter | None = None
        self.fanout = get_fanout()
        self._tasks: set[asyncio.Task] = set()
        self._sockets_group: str | None = None  # hub.sockets.<user id>: disconnect_user
        # A graceful stop closes a socket only between two frames (hub/shutdown.py).
        self._busy = False
        self._restart_requested = False

    # -- life cycle ------------------------------------------------------------------------
    async def run(self, receive: Any) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        await self.send({"type": "websocket.accept"})
        if is_anonymous(self.user):
            # Accept, then close with a code the browser client understands (log in again)
            # rather than a bare 403 on the handshake that looks like a network failure.
            await self.send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
            return
        self.writer = writer_for(self.send)
        try:
            if not shutdown.socket_opened(self):  # the process is stopping: go elsewhere
                await self.writer.close(CLOSE_RESTARTING)
                return
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    self._busy = True
                    try:
                        await self.handle(message.get("text"), message.get("bytes"))
                    finally:
                        self._busy = False
                    if self._restart_requested:  # its frame is done: now it may go
                        await self.writer.close(CLOSE_RESTARTING)
                elif kind == "websocket.disconnect":
                    break
                if self.writer.closed:
                    break
        finally:
            await self.cleanup()

    def close_for_restart(self) -> None:
        """The process is stopping: close with ``CLOSE_RESTARTING`` (the client reconnects
        to another process and resumes), after the frame being handled, if any."""
        self._restart_requested = True
        if self._busy or self.writer is None or self.writer.closed:
            return
        task = asyncio.get_running_loop().create_task(self.writer.close(CLOSE_RESTARTING))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _join_sockets_group(self) -> None:
        """Listen for ``disconnect_user`` once the socket subscribes to anything (the
        fan-out is started then; joining costs no layer call, so a connection storm is not
        slowed). A socket with no subscription receives nothing to be cut off from."""
        if self._sockets_group is None:
            self._sockets_group = sockets_group(self.user.pk)
            self.fanout.list_socket(self)

    async def cleanup(self) -> None:
        shutdown.socket_closed(self)
        if self.writer is not None:
            self.writer.stop()
        group = self._sockets_group
        if group is not None:
            self._sockets_group = None
            self.fanout.discard_socket(self)
        for name in list(self.subscriptions):
            await self._drop(name)

    # -- frames ----------------------------------------------------------------------------
    def write(self, text: str) -> None:
        assert self.writer is not None
        self.writer.write(OutgoingFrame(text))

    def reply(self, ref: Any, data: dict[str, Any] | None = None) -> None:
        self.write(with_data({"op": "ok", "ref": ref}, data or {}))

    async def handle(self, text: str | None, data: bytes | None) -> None:
        ref = None
        try:
            raw = text if text is not None else data
            if raw is None:
                raise GatewayError("bad_frame", "empty frame")
            size = len(raw.encode()) if isinstance(raw, str) else len(raw)
            if size > self.max_frame:
                raise GatewayError("too_large", f"frames are limited to {self.max_frame} bytes")
            frame, out_of_range = parse_frame(raw)
            ref = frame.get("ref")
            if not isinstance(ref, str | int) or isinstance(ref, bool):
                ref = None
            op = frame.get("op")
            handler = self.OPS.get(op) if isinstance(op, str) else None
            if handler is None:
                raise GatewayError("bad_frame", "op must be one of sub, unsub, act, ping")
            if not self.bucket.take(OP_COSTS[op]):
                raise GatewayError(
                    "rate_limited",
                    "too many requests on this connection, slow down",
                    retry_after=max(0.1, self.bucket.seconds_until(OP_COSTS[op])),
                )
            if out_of_range:
                raise GatewayError("invalid", out_of_range)
            await handler(self, ref, frame)
        except GatewayError as exc:
            self.write(error_frame(ref, exc.code, exc.message, exc.details, exc.retry_after))
        except Exception as exc:
            if is_overload(exc):
                # The database pool had no connection to lend within its timeout: busy, not
                # broken. The client comes back when the queue has drained.
                warn_once("database pool", "the database pool is exhausted: %s", exc)
                busy = Overloaded(admission().retry_after())
                self.write(error_frame(ref, busy.code, busy.message, None, busy.retry_after))
                return
            if is_outage(exc):
                # Redis is down: one warning per outage, and a code the client retries on.
                warn_once("channel layer", "the channel layer (Redis) is unreachable: %s", exc)
                self.write(
                    error_frame(
                        ref, "unavailable", "live updates are unavailable, retry", retry_after=2
                    )
                )
                return
            logger.exception("gateway failed on a frame")
            self.write(error_frame(ref, "internal", "the server failed on this frame"))

    async def op_ping(self, ref: Any, frame: dict[str, Any]) -> None:
        self.reply(ref, {"pong": True})

    async def op_sub(self, ref: Any, frame: dict[str, Any]) -> None:
        name = parse_topic(frame.get("topic"))
        since = frame.get("since")
        if since is not None and (
            not isinstance(since, int) or isinstance(since, bool) or not 0 <= since <= MAX_INT
        ):
            raise GatewayError("invalid", "since must be a non-negative 64-bit integer")
        if since is not None and self.replay_budget.level() <= 0:
            # Refused before anything changes: an existing subscription stays as it was.
            raise GatewayError(
                "rate_limited", "too much replayed on this connection, try again in a moment"
            )
        # Subscribing again (to replay from another ``since``) keeps this socket's presence:
        # nobody else should see it leave and come back.
        kept_presence = name.text in self.subscriptions and await self._drop(
            name.text, keep_presence=True
        )
        try:
            await self._subscribe(ref, name, since)
        except BaseException:
            if kept_presence and name.text not in self.subscriptions:
                await self._leave_presence(name.text, get_topic(name.kind))
            raise

    async def _subscribe(self, ref: Any, name: TopicName, since: int | None) -> None:
        if len(self.subscriptions) >= self.max_subscriptions:
            raise GatewayError(
                "rate_limited", f"at most {self.max_subscriptions} subscriptions per connection"
            )
        topic = get_topic(name.kind)
        # The database work of a subscription (the permission check, the backlog, the
        # presence payload) runs on the database thread pool (PostgreSQL), as actions do, and
        # in one trip there when this process already listens to the topic: a crowd
        # reconnecting after a restart (1,000 sockets, docs/PERFORMANCE.md) queued three
        # times per `sub`, on the process's one sync thread at first (a median 11 s for an
        # `ok`), and each trip is a hand-off and a connection check besides.
        listening = self.fanout.listening(name.text)
        # A topic new to the process is checked before it listens: a refused one never
        # reaches the layer.
        if not listening and not await on_database_thread(topic.authorize, refusable=True)(
            self.user, name.key
        ):
            raise GatewayError("forbidden", "you may not subscribe to this topic")
        sub = Subscription(topic=topic, name=name)
        self.subscriptions[name.text] = sub
        # Listen before reading the backlog, so nothing falls between the two. Until the
        # subscription is ready (permission checked) live events are only held, unsent.
        try:
            await self.fanout.add(name.text, self)
            self._join_sockets_group()
        except BaseException:
            self.subscriptions.pop(name.text, None)  # the layer refused it: not subscribed
            raise
        try:
            allowed, events, payload = await on_database_thread(
                self._read_for_subscription, refusable=listening
            )(topic, name.key, since, check=listening)
        except BaseException:
            await self._drop(name.text)  # not half-subscribed, buffering forever
            raise
        if not allowed:
            await self._drop(name.text)
            raise GatewayError("forbidden", "you may not subscribe to this topic")
        truncated = False
        if events is not None:
            truncated = len(events) > self.backlog_limit
            replayed_bytes = 0
            for event in events[: self.backlog_limit]:
                replayed_bytes += self._write_event(name.text, event)
                if event.id is not None:
                    sub.replayed.add(event.id)
            # Paid after the fact (one replay may overdraw): the next replay waits until
            # the budget is back above zero, so a socket replays at most the burst plus
            # the refill rate (plus one backlog) however often it re-subscribes.
            self.replay_budget.charge(replayed_bytes)
        for frame_out in sub.pending:
            if frame_out.id is None or frame_out.id not in sub.replayed:
                self.writer.write(frame_out)
        sub.pending.clear()
        sub.ready = True
        data: dict[str, Any] = {"topic": name.text, "truncated": truncated}
        if payload is not None:
            try:
                data["present"] = await self._join_presence(sub, payload)
            except BaseException:
                await self._drop(name.text)  # answered with an error: not subscribed
                raise
        self.reply(ref, data)

    def _read_for_subscription(
        self, topic: Topic, key: str, since: int | None, *, check: bool
    ) -> tuple[bool, list[Event] | None, dict[str, Any] | None]:
        """On a database thread: whether the user may subscribe (when ``check``), what they
        missed since ``since`` and their presence payload, in one trip."""
        if check and not topic.authorize(self.user, key):
            return False, None, None
        events = None
        if since is not None:
            events = topic.backlog(self.user, key, since, self.backlog_limit + 1)
        payload = topic.presence_payload(self.user) if topic.presence else None
        return True, events, payload

    async def op_unsub(self, ref: Any, frame: dict[str, Any]) -> None:
        name = parse_topic(frame.get("topic"))
        if name.text not in self.subscriptions:
            raise GatewayError("not_found", "not subscribed to this topic")
        await self._drop(name.text)
        self.reply(ref, {"topic": name.text})

    async def op_act(self, ref: Any, frame: dict[str, Any]) -> None:
        name = parse_topic(frame.get("topic"))
        topic = get_topic(name.kind)
        action_name = frame.get("action")
        spec = topic.actions.get(action_name) if isinstance(action_name, str) else None
        if spec is None:
            raise GatewayError("not_found", "unknown action for this topic")
        data = frame.get("data", {})
        if not isinstance(data, dict):
            raise GatewayError("invalid", "data must be a JSON object")
        subscribed = name.text in self.subscriptions
        if inspect.iscoroutinefunction(spec.method):
            if not subscribed and not await database_sync_to_async(topic.authorize)(
                self.user, name.key
            ):
                raise GatewayError("forbidden", "you may not act on this topic")
            # An async action without a serializer validates its own data: no thread
            # hand-off at all on its path (the live games' answers, 500 in a second).
            validated = (
                data
                if spec.serializer is None
                else await database_sync_to_async(self._validate)(spec, data)
            )
            result = await self._guard_async(spec.method(topic, self.user, name.key, validated))
        else:
            result = await on_database_thread(self._run_action, refusable=True)(
                topic, name, spec, data, subscribed
            )
        self.reply(ref, result if isinstance(result, dict) else {"result": result})

    OPS = {"ping": op_ping, "sub": op_sub, "unsub": op_unsub, "act": op_act}

    # -- actions (worker thread) -----------------------------------------------------------
    def _validate(self, spec: ActionSpec, data: dict[str, Any]) -> dict[str, Any]:
        if spec.serializer is None:
            return data
        serializer = spec.serializer(data=data, context={"user": self.user})
        if not serializer.is_valid():
            raise GatewayError("invalid", "the data is not valid", serializer.errors)
        return dict(serializer.validated_data)

    def _run_action(
        self,
        topic: Topic,
        name: TopicName,
        spec: ActionSpec,
        data: dict[str, Any],
        subscribed: bool,
    ) -> Any:
        try:
            if not subscribed and not topic.authorize(self.user, name.key):
                raise GatewayError("forbidden", "you may not act on this topic")
            validated = self._validate(spec, data)
            return spec.method(topic, self.user, name.key, validated)
        except Exception as exc:
            raise self._translate(exc) from exc

    async def _guard_async(self, coroutine: Any) -> Any:
        try:
            return await coroutine
        except Exception as exc:
            raise self._translate(exc) from exc

    @staticmethod
    def _translate(exc: Exception) -> Exception:
        """Map the exceptions services raise to the protocol's error codes."""
        if isinstance(exc, GatewayError):
            return exc
        if isinstance(exc, PermissionDenied | DRFPermissionDenied):
            return GatewayError("forbidden", str(exc) or "not allowed")
        if isinstance(exc, ObjectDoesNotExist | Http404):
            return GatewayError("not_found", "no such object")
        if isinstance(exc, DjangoValidationError):
            return GatewayError("invalid", "the data is not valid", exc.messages)
        if isinstance(exc, DRFValidationError):
            return GatewayError("invalid", "the data is not valid", _drf_details(exc))
        if isinstance(exc, IntegrityError):
            return GatewayError("conflict", "this conflicts with the current state")
        if isinstance(exc, DataError):
            # A value the column cannot hold (PostgreSQL: "integer out of range").
            return GatewayError("invalid", "a value is out of range")
        if isinstance(exc, Throttled):
            return GatewayError("rate_limited", str(exc.detail))
        if isinstance(exc, APIException) and exc.status_code == 409:
            # A service's conflict (409 on REST, e.g. classrooms.services.Conflict).
            return GatewayError("conflict", str(exc.detail))
        if isinstance(exc, APIException):
            return GatewayError("invalid", str(exc.detail))
        return exc

    # -- delivery (called by the fan-out, on the event loop) -------------------------------
    def deliver(self, topic: str, frame: OutgoingFrame) -> None:
        sub = self.subscriptions.get(topic)
        if sub is None or self.writer is None:
            return
        if not sub.ready:
            if not sub.revoked:
                sub.pending.append(frame)
            return
        if frame.id is not None and frame.id in sub.replayed:
            return
        self.writer.write(frame)

    def revoke(self, topic: str, user_id: int) -> None:
        """The user lost their right to ``topic``: stop now, tell the client, tidy up."""
        if self.user is None or self.user.pk != user_id:
            return
        if topic == self._sockets_group:
            # disconnect_user: the person was deactivated or signed out everywhere.
            if self.writer is not None and not self.writer.closed:
                for sub in self.subscriptions.values():
                    sub.ready = False
                    sub.pending.clear()
                task = asyncio.get_running_loop().create_task(
                    self.writer.close(CLOSE_UNAUTHENTICATED)
                )
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return
        sub = self.subscriptions.get(topic)
        if sub is None or self.writer is None:
            return
        sub.ready = False  # nothing more is written for it from here
        sub.revoked = True
        sub.pending.clear()
        self.write(encode({"op": "event", "topic": topic, "type": "unsubscribed", "data": {}}))
        task = asyncio.get_running_loop().create_task(self._drop(topic))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def layer_lost(self) -> None:
        """The channel layer failed: live events may have been missed. Close the socket
        with ``CLOSE_UNAVAILABLE``; the client reconnects and resumes with ``since``."""
        if self.writer is None or self.writer.closed:
            return
        if not self.subscriptions:
            # Only in its person's sockets group (disconnect_user): nothing to resume.
            return
        for sub in self.subscriptions.values():
            sub.ready = False  # nothing more is written for them
            sub.pending.clear()
        task = asyncio.get_running_loop().create_task(self.writer.close(CLOSE_UNAVAILABLE))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _write_event(self, topic: str, event: Event) -> int:
        """Write one replayed event; returns its size (characters of the frame)."""
        frame = {"op": "event", "topic": topic, "type": event.type}
        if event.id is not None:
            frame["id"] = event.id
        frame["data"] = event.data
        text = encode(frame)
        self.write(text)
        return len(text)

    # -- presence ---------------------------------------------------------------------------
    async def _join_presence(
        self, sub: Subscription, payload: dict[str, Any]
    ) -> list[dict[str, Any]]:
        store = presence.store()
        first = await store.join(sub.name.text, self.user.pk, self.id, payload)
        sub.present = True
        if first:
            await apublish(sub.name.text, "presence.joined", payload)
        return await store.present(sub.name.text)

    async def _drop(self, topic: str, *, keep_presence: bool = False) -> bool:
        """End this socket's subscription to ``topic``; True if its presence was kept."""
        sub = self.subscriptions.pop(topic, None)
        if sub is None:
            return False
        await self.fanout.discard(topic, self)
        if sub.present and keep_presence:
            return True
        if sub.present:
            await self._leave_presence(topic, sub.topic)
        return False

    async def _leave_presence(self, topic: str, kind: Topic) -> None:
        try:
            if await presence.store().leave(topic, self.user.pk, self.id):
                await apublish(topic, "presence.left", {"id": self.user.pk})
                if type(kind).presence_left is not Topic.presence_left:  # most topics: no hook
                    await on_database_thread(kind.presence_left)(self.user, parse_topic(topic).key)
        except Exception as exc:
            if is_outage(exc):  # its entry expires with the TTL
                warn_once("presence", "presence (Redis) is unreachable: %s", exc)
                return
            logger.exception("presence leave failed for %s", topic)


def on_database_thread(function: Any, *, refusable: bool = False) -> Any:
    """``function`` as a coroutine run on a worker thread, for sync code of the gateway.

    On PostgreSQL, not thread-sensitive: by default every sync call of the process shares a
    single thread, so one socket's action would wait for every other's database round trips,
    and one busy chat (its order lock) stalls the process (docs/PERFORMANCE.md, Chat).
    Actions share no thread state (hub/sanitize.py keeps its parsers per thread); each pool
    thread has its own connection. SQLite writes one at a time anyway (its in-memory test
    database locks across threads).

    Every call passes the process's admission gate (hub/realtime/admission.py); a
    ``refusable`` one (a client's ``sub`` or ``act``, which it can send again) is refused
    with ``overloaded`` when the queue is full or it waited too long to start. The rest
    (presence leaving, token look-ups) is counted but always runs.
    """

    def gated(ticket: Ticket, *args: Any, **kwargs: Any) -> Any:
        admission().start(ticket, refusable=refusable)
        return function(*args, **kwargs)

    run = database_sync_to_async(gated, thread_sensitive=connections["default"].vendor == "sqlite")

    async def call(*args: Any, **kwargs: Any) -> Any:
        gate = admission()
        ticket = gate.enter(refusable=refusable)
        try:
            return await run(ticket, *args, **kwargs)
        finally:
            gate.abandon(ticket)  # a no-op once started; frees the place if cancelled before

    return call


class Gateway:
    """ASGI application for ``/ws/``."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        connection = Connection(scope, send)
        try:
            await connection.run(receive)
        except asyncio.CancelledError:
            await connection.cleanup()
            raise
