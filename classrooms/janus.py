"""Live-class media on Janus WebRTC Servers (VideoRoom plugin): the SFU behind ``MediaBackend``.

Janus forwards RTP packets and never decodes them, so a class is as big as the network and
Janus's packet loop allow, not one encoder per subscriber as with the built-in relay. The
Lyceum server drives Janus over its WebSocket API (one socket and one Janus session per
server process and Janus server, events pushed); browsers reach Janus only for media (ICE,
DTLS-SRTP), the signalling stays on ``/ws/`` exactly as with the relay.

Mapping
=======
- a media room (``<class id>`` or ``<class id>-<n>`` for breakout room n) is a VideoRoom room
  numbered ``class id * 100 + n``, created on first use and destroyed when the class ends;
- a participant's publication is a publisher handle whose feed id is their user id (a new
  publication replaces the old one: the old handle is detached, or kicked if another process
  holds it);
- a subscription is a subscriber handle. Janus makes the offer for subscriptions, so
  ``subscribe`` returns an :class:`~classrooms.media.Answer` of ``type="offer"`` and the
  client answers with ``media.answer`` (``answer()`` here); publications keep the client's
  offer and the server's answer.

Several Janus servers (``LYCEUM_JANUS_URLS``): a room is placed on the least-loaded server
that answers (participants in its rooms, from VideoRoom's ``list``) and stays there: the
placement is kept in the cache (Redis in services mode), so every server process sends the
room's people to the same Janus. When a Janus dies (its socket closes), the rooms placed on
it are forgotten and ``media.unpublished`` is announced for their publishers; the pages
publish again (``classrooms/static/classrooms/liveclass_media.js`` reconciles on it), which
places the room on a live Janus, and subscribe again on the new ``media.published`` events.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import re
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.utils.translation import gettext as _

from classrooms.media import SOURCES, Answer, Publication, check_offer, media_limits

logger = logging.getLogger(__name__)

PLUGIN = "janus.plugin.videoroom"
# VideoRoom error codes we act on.
ROOM_EXISTS = 427
NO_SUCH_ROOM = 426
ID_EXISTS = 436
NO_SUCH_FEED = 428


_tasks: set[asyncio.Future] = set()


def _spawn(coroutine: Any) -> None:
    """Run ``coroutine`` in the background, keeping a reference until it is done."""
    task = asyncio.ensure_future(coroutine)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


class JanusError(Exception):
    """Janus refused a request (``code`` is Janus's or VideoRoom's error code)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class JanusUnavailable(Exception):
    """No Janus server answers."""


def janus_settings() -> dict[str, Any]:
    conf = getattr(settings, "LYCEUM_JANUS", {})
    return {
        "urls": list(conf.get("URLS", [])),
        "capacity": int(conf.get("CAPACITY", 100)),
        "timeout": float(conf.get("TIMEOUT", 10)),
        "publishers": int(conf.get("PUBLISHERS", 100)),
        "last_n": int(conf.get("LAST_N", 0)),
    }


# -- one WebSocket to one Janus ---------------------------------------------------------------
class JanusSession:
    """A Janus session over one WebSocket: transactions, keepalives, events by handle."""

    def __init__(self, url: str, *, on_closed: Callable[[JanusSession], Any] | None = None) -> None:
        self.url = url
        self.ws: Any = None
        self.session_id: int | None = None
        self.pending: dict[str, asyncio.Future] = {}
        self.handlers: dict[int, Callable[[dict[str, Any]], Any]] = {}
        self.tasks: list[asyncio.Task] = []
        self.closed = asyncio.Event()
        self.on_closed = on_closed
        self._ids = itertools.count(1)

    async def connect(self, timeout: float) -> None:  # noqa: ASYNC109
        import websockets

        self.ws = await asyncio.wait_for(
            websockets.connect(
                self.url, subprotocols=["janus-protocol"], max_size=2**22, proxy=None
            ),
            timeout,
        )
        self.tasks.append(asyncio.ensure_future(self._read()))
        created = await self.request({"janus": "create"}, timeout=timeout, session=False)
        self.session_id = int(created["data"]["id"])
        self.tasks.append(asyncio.ensure_future(self._keepalive()))

    @property
    def alive(self) -> bool:
        return self.session_id is not None and not self.closed.is_set()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        self._closed()

    def _closed(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for future in self.pending.values():
            if not future.done():
                future.set_exception(JanusUnavailable(self.url))
        self.pending.clear()
        if self.on_closed is not None:
            result = self.on_closed(self)
            if asyncio.iscoroutine(result):
                _spawn(result)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                self._dispatch(message)
        except Exception as exc:
            logger.warning("janus %s: connection lost (%s)", self.url, exc)
        finally:
            self._closed()

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("janus")
        future = self.pending.get(str(message.get("transaction")))
        if future is not None and kind != "ack":
            self.pending.pop(str(message.get("transaction")), None)
            if not future.done():
                future.set_result(message)
            return
        if future is not None and kind == "ack" and getattr(future, "ack_ends", False):
            self.pending.pop(str(message.get("transaction")), None)
            if not future.done():
                future.set_result(message)
            return
        if future is None and kind != "ack":
            handler = self.handlers.get(int(message.get("sender") or 0))
            if handler is not None:
                try:
                    result = handler(message)
                    if asyncio.iscoroutine(result):
                        _spawn(result)
                except Exception:
                    logger.exception("janus event handler failed")

    async def _keepalive(self) -> None:
        # Janus reclaims a session after 60 s of silence (session_timeout).
        while not self.closed.is_set():
            await asyncio.sleep(20)
            with contextlib.suppress(Exception):
                await self.request({"janus": "keepalive"}, ack_ends=True)

    async def request(
        self,
        body: dict[str, Any],
        *,
        handle: int | None = None,
        timeout: float = 10,  # noqa: ASYNC109
        session: bool = True,
        ack_ends: bool = False,
    ) -> dict[str, Any]:
        """Send ``body``; the reply (``success``, or a plugin's ``event`` for async requests)."""
        if self.closed.is_set():
            raise JanusUnavailable(self.url)
        transaction = f"t{next(self._ids)}"
        message = {**body, "transaction": transaction}
        if session:
            message["session_id"] = self.session_id
        if handle is not None:
            message["handle_id"] = handle
        future = asyncio.get_running_loop().create_future()
        future.ack_ends = ack_ends  # type: ignore[attr-defined]
        self.pending[transaction] = future
        try:
            await self.ws.send(json.dumps(message))
            reply = await asyncio.wait_for(future, timeout)
        except (TimeoutError, OSError) as exc:
            self.pending.pop(transaction, None)
            raise JanusUnavailable(f"{self.url}: {exc!r}") from exc
        except Exception as exc:
            self.pending.pop(transaction, None)
            if isinstance(exc, JanusUnavailable):
                raise
            raise JanusUnavailable(f"{self.url}: {exc!r}") from exc
        if reply.get("janus") == "error":
            error = reply.get("error") or {}
            raise JanusError(int(error.get("code", 0)), str(error.get("reason", "")))
        data = (reply.get("plugindata") or {}).get("data") or {}
        if "error_code" in data:
            raise JanusError(int(data["error_code"]), str(data.get("error", "")))
        return reply

    async def attach(self, on_event: Callable[[dict[str, Any]], Any] | None = None) -> int:
        reply = await self.request({"janus": "attach", "plugin": PLUGIN})
        handle = int(reply["data"]["id"])
        if on_event is not None:
            self.handlers[handle] = on_event
        return handle

    async def detach(self, handle: int) -> None:
        self.handlers.pop(handle, None)
        with contextlib.suppress(JanusError, JanusUnavailable):
            await self.request({"janus": "detach"}, handle=handle, timeout=5)

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            payload["jsep"] = jsep
        return await self.request(payload, handle=handle, timeout=janus_settings()["timeout"])


# -- the backend ------------------------------------------------------------------------------
@dataclass(eq=False)
class _Handle:
    """One of this process's Janus handles: a publication or a subscription."""

    id: str  # the connection id the client knows
    server: str
    handle: int
    room: str
    participant: int
    publisher: int | None = None  # None: the participant's publication
    sources: dict[str, str] = field(default_factory=dict)  # mid -> source
    paused: bool = False  # a subscription whose camera Janus does not send now (last N)


@dataclass(eq=False)
class _Room:
    key: str
    server: str
    number: int
    published: dict[int, Publication] = field(default_factory=dict)
    sources: dict[int, dict[str, str]] = field(default_factory=dict)  # feed -> {mid: source}
    speakers: list[int] = field(default_factory=list)  # who talked last, most recent first


def janus_room_number(room: str) -> int:
    """``"12"`` -> 1200, ``"12-3"`` -> 1203 (breakout rooms are rooms of their own)."""
    class_id, _sep, number = room.partition("-")
    return int(class_id) * 100 + (int(number) if number else 0)


class JanusBackend:
    """``MediaBackend`` on one or several Janus servers (``LYCEUM_JANUS_URLS``).

    Lives on the server process's event loop, as the relay does.
    """

    def __init__(self, urls: list[str] | None = None) -> None:
        self.urls = urls if urls is not None else janus_settings()["urls"]
        if not self.urls:
            raise ImproperlyConfiguredJanus("LYCEUM_JANUS_URLS is empty")
        self.sessions: dict[str, JanusSession] = {}
        self.dead: set[str] = set()
        self.rooms: dict[str, _Room] = {}
        self.handles: dict[str, _Handle] = {}
        self.on_unpublished: Callable[[str, int], Any] | None = None
        # Told when someone starts or stops talking (room, participant, talking).
        self.on_speaking: Callable[[str, int, bool], Any] | None = None
        self.speaking: dict[tuple[str, int], bool] = {}
        self._connecting: dict[str, asyncio.Future] = {}
        # One at a time per key: a room is created once (two first publishers at once
        # would each make a room and one publication would land in the forgotten one), a
        # participant publishes once at a time (a page may send two offers in a row).
        self._locks: collections.defaultdict[Any, asyncio.Lock] = collections.defaultdict(
            asyncio.Lock
        )

    # -- capacity -----------------------------------------------------------------------------
    @staticmethod
    def capacity() -> int:
        """Participants per class on Janus (``LYCEUM_JANUS_CAPACITY``, docs/LIVECLASS.md)."""
        return janus_settings()["capacity"]

    # -- servers and placement ----------------------------------------------------------------
    async def _session(self, url: str) -> JanusSession:
        session = self.sessions.get(url)
        if session is not None and session.alive:
            return session
        pending = self._connecting.get(url)
        if pending is not None:
            return await asyncio.shield(pending)
        future = asyncio.get_running_loop().create_future()
        self._connecting[url] = future
        try:
            session = JanusSession(url, on_closed=self._server_lost)
            await session.connect(timeout=janus_settings()["timeout"])
        except Exception as exc:
            self.dead.add(url)
            error = JanusUnavailable(f"{url}: {exc!r}")
            future.set_exception(error)
            future.exception()  # retrieved: nobody else may be waiting
            raise error from exc
        finally:
            self._connecting.pop(url, None)
        self.dead.discard(url)
        self.sessions[url] = session
        future.set_result(session)
        return session

    async def _load(self, url: str) -> int:
        """Participants in the server's rooms (VideoRoom ``list``)."""
        session = await self._session(url)
        reply = await session.message(await self._control(session), {"request": "list"})
        rooms = reply["plugindata"]["data"].get("list", [])
        return sum(int(r.get("num_participants", 0)) for r in rooms)

    async def _control(self, session: JanusSession) -> int:
        """A handle for room management on ``session`` (one per session)."""
        handle = getattr(session, "control", None)
        if handle is None:
            handle = await session.attach()
            session.control = handle  # type: ignore[attr-defined]
        return handle

    async def _place(self, room: str) -> str:
        """The server of ``room``: where it was placed, or the least-loaded live one."""
        key = f"lyceum:janus:room:{room}"
        placed = await cache.aget(key)
        if placed in self.urls and placed not in self.dead:
            try:
                await self._session(placed)
                return str(placed)
            except JanusUnavailable:
                pass
        loads: list[tuple[int, int, str]] = []
        for index, url in enumerate(self.urls):
            try:
                loads.append((await self._load(url), index, url))
            except (JanusUnavailable, JanusError):
                continue
        if not loads:
            raise JanusUnavailable("no Janus server answers")
        chosen = min(loads)[2]
        if placed is not None:
            await cache.adelete(key)
        # The first process to place the room wins; the others follow it.
        if not await cache.aadd(key, chosen, timeout=24 * 3600):
            agreed = await cache.aget(key)
            if agreed in self.urls and agreed not in self.dead:
                chosen = str(agreed)
        return chosen

    async def placement(self, room: str) -> str | None:
        """The Janus URL ``room`` is on now (None: not placed)."""
        return await cache.aget(f"lyceum:janus:room:{room}")

    async def _room(self, room: str) -> _Room:
        state = self.rooms.get(room)
        if state is not None and state.server not in self.dead:
            return state
        async with self._locks["room", room]:
            state = self.rooms.get(room)
            if state is not None and state.server not in self.dead:
                return state
            return await self._create_room(room)

    async def _create_room(self, room: str) -> _Room:
        server = await self._place(room)
        state = _Room(key=room, server=server, number=janus_room_number(room))
        session = await self._session(server)
        limits = media_limits()
        # A class recording while its Janus died goes on recording on the next one.
        recording = await cache.aget(_recording_key(room))
        extra = {"rec_dir": recording["dir"], "record": True} if recording else {}
        try:
            await session.message(
                await self._control(session),
                {
                    **extra,
                    "request": "create",
                    "room": state.number,
                    "description": f"lyceum {room}",
                    "publishers": janus_settings()["publishers"],
                    "bitrate": limits["bitrate"],
                    "bitrate_cap": True,
                    "fir_freq": 5,
                    "audiocodec": "opus",
                    "videocodec": "vp8,h264",
                    "notify_joining": False,
                    # Active speaker: Janus reads the audio-level header extension (no
                    # decoding) and says who talks; the pages mark their tile.
                    "audiolevel_event": True,
                    "audio_active_packets": 50,
                    "audio_level_average": 40,
                },
            )
        except JanusError as exc:
            if exc.code != ROOM_EXISTS:
                raise
        self.rooms[room] = state
        return state

    async def _server_lost(self, session: JanusSession) -> None:
        """A Janus went away: its rooms move (their publishers are told to publish again)."""
        url = session.url
        if self.sessions.get(url) is session:
            del self.sessions[url]
        self.dead.add(url)
        for room in [r for r in self.rooms.values() if r.server == url]:
            del self.rooms[room.key]
            with contextlib.suppress(Exception):
                await cache.adelete(f"lyceum:janus:room:{room.key}")
            for handle in [h for h in self.handles.values() if h.room == room.key]:
                self.handles.pop(handle.id, None)
            for participant in list(room.published):
                await self._announce(room.key, participant)
        # Try again later: a restarted Janus takes new rooms.
        asyncio.get_running_loop().call_later(5, self.dead.discard, url)

    async def _announce(self, room: str, participant: int) -> None:
        if self.on_unpublished is not None:
            result = self.on_unpublished(room, participant)
            if asyncio.iscoroutine(result):
                await result

    def _connection(self, state: _Room, handle: int, participant: int, publisher: int | None):
        entry = _Handle(
            id=uuid.uuid4().hex[:16],
            server=state.server,
            handle=handle,
            room=state.key,
            participant=participant,
            publisher=publisher,
        )
        self.handles[entry.id] = entry
        return entry

    async def _drop(self, entry: _Handle) -> None:
        if self.handles.pop(entry.id, None) is None:
            return
        session = self.sessions.get(entry.server)
        if session is not None and session.alive:
            await session.detach(entry.handle)

    # -- the interface ------------------------------------------------------------------------
    async def publish(self, *, room: str, participant: int, offer: str) -> Answer:
        check_offer(offer, max_video=2)
        async with self._locks["publish", room, participant]:
            return await self._publish(room=room, participant=participant, offer=offer)

    async def _publish(self, *, room: str, participant: int, offer: str) -> Answer:
        lines = check_offer(offer, max_video=2)
        sources_by_mid: dict[str, str] = {}
        videos = 0
        for mid, kind in lines:
            if kind == "audio":
                sources_by_mid[mid] = "audio"
            else:
                sources_by_mid[mid] = "video" if videos == 0 else "screen"
                videos += 1
        try:
            state = await self._room(room)
            session = await self._session(state.server)
        except JanusUnavailable as exc:
            raise ObjectDoesNotExist("no media server answers") from exc
        # The earlier publication goes first: Janus has one feed per id.
        for old in [
            h
            for h in self.handles.values()
            if h.room == room and h.participant == participant and h.publisher is None
        ]:
            await self._drop(old)
        handle = await session.attach(self._publisher_event(room, participant))
        entry = self._connection(state, handle, participant, None)
        entry.sources = sources_by_mid
        body = {
            "request": "joinandconfigure",
            "ptype": "publisher",
            "room": state.number,
            "id": participant,
            "display": str(participant),
            "audio": True,
            "video": True,
        }
        jsep = {"type": "offer", "sdp": offer}
        try:
            reply = await self._join_publisher(session, state, entry, body, jsep)
        except (JanusError, JanusUnavailable) as exc:
            await self._drop(entry)
            raise ValidationError(_("The offer could not be answered.")) from exc
        answer = (reply.get("jsep") or {}).get("sdp")
        if not answer:
            await self._drop(entry)
            raise ValidationError(_("The offer could not be answered."))
        state.published[participant] = Publication(
            participant=participant,
            sources=[s for s in SOURCES if s in sources_by_mid.values()],
            audio="audio" in sources_by_mid.values(),
            video="video" in sources_by_mid.values(),
        )
        state.sources[participant] = sources_by_mid
        await self._apply_last_n(room)
        return Answer(connection=entry.id, sdp=answer, tracks=sources_by_mid)

    async def _join_publisher(
        self,
        session: JanusSession,
        state: _Room,
        entry: _Handle,
        body: dict[str, Any],
        jsep: dict[str, Any],
    ) -> dict[str, Any]:
        """Join as the participant's feed. Their previous publication may still be leaving
        Janus (a detach completes asynchronously) or belong to another server process: it
        is kicked and the join tried again on a fresh handle (Janus has already taken the
        offer on the refused one)."""
        participant = entry.participant
        for attempt in range(30):
            try:
                return await session.message(entry.handle, body, jsep)
            except JanusError as exc:
                if exc.code != ID_EXISTS or attempt == 29:
                    raise
            if attempt == 0:
                with contextlib.suppress(JanusError):
                    await session.message(
                        await self._control(session),
                        {"request": "kick", "room": state.number, "id": participant},
                    )
            await session.detach(entry.handle)
            entry.handle = await session.attach(self._publisher_event(state.key, participant))
            await asyncio.sleep(0.1)
        raise JanusError(ID_EXISTS, "still publishing")  # not reached

    def _publisher_event(self, room: str, participant: int) -> Callable[[dict[str, Any]], Any]:
        async def on_event(message: dict[str, Any]) -> None:
            data = (message.get("plugindata") or {}).get("data") or {}
            if data.get("videoroom") in {"talking", "stopped-talking"}:
                # Every publisher handle of the room hears it: tell the room once per change.
                talking = data["videoroom"] == "talking"
                key = (room, int(data.get("id") or 0))
                if self.speaking.get(key, False) != talking:
                    self.speaking[key] = talking
                    state = self.rooms.get(room)
                    if talking and state is not None:
                        state.speakers = [key[1]] + [p for p in state.speakers if p != key[1]]
                        await self._apply_last_n(room)
                    if self.on_speaking is not None:
                        result = self.on_speaking(room, key[1], talking)
                        if asyncio.iscoroutine(result):
                            await result
                return
            # The browser went away (ICE/DTLS down): the publication ends, as with the relay.
            if message.get("janus") in {"hangup", "detached"}:
                entry = next(
                    (
                        h
                        for h in self.handles.values()
                        if h.handle == message.get("sender") and h.publisher is None
                    ),
                    None,
                )
                if entry is None:
                    return
                await self._drop(entry)
                if any(
                    h.room == room and h.participant == participant and h.publisher is None
                    for h in self.handles.values()
                ):
                    return  # a newer publication of theirs goes on
                state = self.rooms.get(room)
                if state is not None and state.published.pop(participant, None) is not None:
                    await self._announce(room, participant)

        return on_event

    async def sync(self, *, room: str) -> None:
        """Learn the room's publishers from Janus (those that published through another
        server process), keeping what this process knows of their state."""
        state = self.rooms.get(room)
        if state is None:
            placed = await self.placement(room)
            if placed is None:
                return
            try:
                state = await self._room(room)
            except (JanusUnavailable, JanusError):
                return
        try:
            session = await self._session(state.server)
            reply = await session.message(
                await self._control(session), {"request": "listparticipants", "room": state.number}
            )
        except (JanusError, JanusUnavailable):
            return
        publishing = {
            int(p["id"])
            for p in reply["plugindata"]["data"].get("participants", [])
            if p.get("publisher")
        }
        # Janus lists a publisher once its media is up: this process's own publications
        # still connecting stay.
        own = {
            h.participant for h in self.handles.values() if h.room == room and h.publisher is None
        }
        for gone in set(state.published) - publishing - own:
            del state.published[gone]
        for feed in publishing - set(state.published):
            state.published[feed] = Publication(participant=feed, sources=["audio", "video"])

    async def subscribe(self, *, room: str, participant: int, publisher: int, offer: str) -> Answer:
        if offer:
            check_offer(offer, max_video=2)
        if publisher == participant:
            raise ObjectDoesNotExist("nothing to subscribe to")
        state = self.rooms.get(room)
        if state is None or publisher not in state.published:
            await self.sync(room=room)
            state = self.rooms.get(room)
        if state is None or publisher not in state.published:
            raise ObjectDoesNotExist("nothing published by this participant")
        for old in [
            h
            for h in self.handles.values()
            if h.room == room and h.participant == participant and h.publisher == publisher
        ]:
            await self._drop(old)
        try:
            session = await self._session(state.server)
            handle = await session.attach()
        except JanusUnavailable as exc:
            raise ObjectDoesNotExist("no media server answers") from exc
        entry = self._connection(state, handle, participant, publisher)
        join = {
            "request": "join",
            "ptype": "subscriber",
            "room": state.number,
            "streams": [{"feed": publisher}],
            "use_msid": False,
        }
        try:
            # A publication still connecting is "no such feed" to Janus: give it a moment.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while True:
                try:
                    reply = await session.message(handle, join)
                    break
                except JanusError as exc:
                    if exc.code != NO_SUCH_FEED or loop.time() > deadline:
                        raise
                    if publisher not in state.published:
                        raise
                    await asyncio.sleep(0.1)
        except (JanusError, JanusUnavailable) as exc:
            await self._drop(entry)
            if isinstance(exc, JanusError) and exc.code in {NO_SUCH_FEED, NO_SUCH_ROOM}:
                raise ObjectDoesNotExist("nothing published by this participant") from exc
            raise ValidationError(_("The offer could not be answered.")) from exc
        data = reply["plugindata"]["data"]
        published = state.sources.get(publisher) or {}
        tracks: dict[str, str] = {}
        videos = 0
        for stream in data.get("streams", []):
            if not stream.get("active", True) or stream.get("type") not in {"audio", "video"}:
                continue
            source = published.get(str(stream.get("feed_mid")))
            if source is None:
                source = (
                    "audio" if stream["type"] == "audio" else ("video", "screen")[min(videos, 1)]
                )
            if stream["type"] == "video":
                videos += 1
            tracks[str(stream["mid"])] = source
        entry.sources = tracks
        if publisher not in self._forwarded(state):
            await self._pause(entry, True)
        sdp = (reply.get("jsep") or {}).get("sdp")
        if not sdp:
            await self._drop(entry)
            raise ObjectDoesNotExist("nothing published by this participant")
        return Answer(connection=entry.id, sdp=sdp, type="offer", tracks=tracks)

    # -- last N: in a big room, only the cameras of the last N speakers are forwarded ------
    def _forwarded(self, state: _Room) -> set[int]:
        """The publishers whose camera goes out now (everyone's, when LAST_N is 0 or the
        room has no more publishers than that): the last to talk, then the first to
        publish."""
        last_n = janus_settings()["last_n"]
        publishing = list(state.published)
        if last_n <= 0 or len(publishing) <= last_n:
            return set(publishing)
        ordered = [p for p in state.speakers if p in state.published]
        ordered += [p for p in publishing if p not in ordered]
        return set(ordered[:last_n])

    async def _pause(self, entry: _Handle, paused: bool) -> None:
        mids = [mid for mid, source in entry.sources.items() if source == "video"]
        session = self.sessions.get(entry.server)
        if not mids or session is None or entry.paused == paused:
            return
        entry.paused = paused
        with contextlib.suppress(JanusError, JanusUnavailable):
            await session.message(
                entry.handle,
                {"request": "configure", "streams": [{"mid": m, "send": not paused} for m in mids]},
            )

    async def _apply_last_n(self, room: str) -> None:
        state = self.rooms.get(room)
        if state is None:
            return
        forwarded = self._forwarded(state)
        for entry in [h for h in self.handles.values() if h.room == room and h.publisher]:
            await self._pause(entry, entry.publisher not in forwarded)

    async def set_layer(
        self, *, room: str, participant: int, connection: str, substream: int
    ) -> None:
        """Simulcast: the layer (0 smallest .. 2 largest) one of the participant's
        subscriptions receives; a publisher that sends one layer is unaffected."""
        entry = self.handles.get(connection)
        if entry is None or entry.participant != participant or entry.room != room:
            raise ObjectDoesNotExist("no such connection")
        if entry.publisher is None:
            raise ValidationError(_("Only a subscription has layers."))
        mids = [mid for mid, source in entry.sources.items() if source != "audio"]
        session = self.sessions.get(entry.server)
        if session is None or not session.alive:
            raise ObjectDoesNotExist("the media server went away")
        try:
            await session.message(
                entry.handle,
                {
                    "request": "configure",
                    "streams": [{"mid": m, "substream": substream} for m in mids],
                },
            )
        except JanusError as exc:
            raise ValidationError(_("The layer could not be chosen.")) from exc
        except JanusUnavailable as exc:
            raise ObjectDoesNotExist("the media server went away") from exc

    async def answer(self, *, room: str, participant: int, connection: str, sdp: str) -> None:
        """The client's answer to a subscription's offer (``media.answer``)."""
        entry = self.handles.get(connection)
        if entry is None or entry.participant != participant or entry.room != room:
            raise ObjectDoesNotExist("no such connection")
        if entry.publisher is None:
            raise ValidationError(_("Only a subscription is answered."))
        session = self.sessions.get(entry.server)
        if session is None or not session.alive:
            raise ObjectDoesNotExist("the media server went away")
        try:
            await session.message(
                entry.handle, {"request": "start"}, {"type": "answer", "sdp": sdp}
            )
        except JanusError as exc:
            raise ValidationError(_("The answer was not accepted.")) from exc
        except JanusUnavailable as exc:
            raise ObjectDoesNotExist("the media server went away") from exc

    async def add_ice(
        self, *, room: str, participant: int, connection: str, candidate: dict[str, Any] | None
    ) -> None:
        entry = self.handles.get(connection)
        if entry is None or entry.participant != participant or entry.room != room:
            raise ObjectDoesNotExist("no such connection")
        session = self.sessions.get(entry.server)
        if session is None or not session.alive:
            raise ObjectDoesNotExist("the media server went away")
        if candidate is None:
            body: dict[str, Any] = {"janus": "trickle", "candidate": {"completed": True}}
        else:
            text = str(candidate["candidate"]).removeprefix("a=")
            if not text.startswith("candidate:") or len(text.split()) < 8:
                raise ValidationError(_("The ICE candidate is not valid."))
            ice: dict[str, Any] = {"candidate": text}
            if candidate.get("sdpMid") is not None:
                ice["sdpMid"] = candidate["sdpMid"]
            ice["sdpMLineIndex"] = candidate.get("sdpMLineIndex") or 0
            body = {"janus": "trickle", "candidate": ice}
        try:
            await session.request(body, handle=entry.handle, ack_ends=True)
        except JanusError as exc:
            raise ValidationError(_("The ICE candidate is not valid.")) from exc
        except JanusUnavailable as exc:
            raise ObjectDoesNotExist("the media server went away") from exc

    def set_state(
        self,
        *,
        room: str,
        participant: int,
        audio: bool | None = None,
        video: bool | None = None,
        screen: bool | None = None,
    ) -> Publication | None:
        state = self.rooms.get(room)
        publication = state.published.get(participant) if state else None
        if publication is None:
            return None
        return publication.toggle(audio=audio, video=video, screen=screen)

    async def leave(self, *, room: str, participant: int) -> bool:
        """Close the participant's handles; True if they were publishing."""
        state = self.rooms.get(room)
        if state is None:
            return False
        was_publishing = state.published.pop(participant, None) is not None
        state.sources.pop(participant, None)
        mine = [h for h in self.handles.values() if h.room == room and h.participant == participant]
        if was_publishing and not any(h.publisher is None for h in mine):
            # Published through another server process: Janus ends it.
            with contextlib.suppress(JanusError, JanusUnavailable):
                session = await self._session(state.server)
                await session.message(
                    await self._control(session),
                    {"request": "kick", "room": state.number, "id": participant},
                )
        for entry in mine:
            await self._drop(entry)
        for entry in [
            h for h in self.handles.values() if h.room == room and h.publisher == participant
        ]:
            await self._drop(entry)
        await self._apply_last_n(room)
        return was_publishing

    async def unpublish(self, *, room: str, participant: int) -> bool:
        """End the participant's publication only (a webinar's speaker back to watching)."""
        state = self.rooms.get(room)
        if state is None:
            return False
        was_publishing = state.published.pop(participant, None) is not None
        state.sources.pop(participant, None)
        own = [
            h
            for h in self.handles.values()
            if h.room == room and h.participant == participant and h.publisher is None
        ]
        if was_publishing and not own:
            with contextlib.suppress(JanusError, JanusUnavailable):
                session = await self._session(state.server)
                await session.message(
                    await self._control(session),
                    {"request": "kick", "room": state.number, "id": participant},
                )
        for entry in own + [
            h for h in self.handles.values() if h.room == room and h.publisher == participant
        ]:
            await self._drop(entry)
        await self._apply_last_n(room)
        return was_publishing

    async def close_room(self, *, room: str) -> Path | None:
        path = await self.stop_recording(room=room)
        state = self.rooms.pop(room, None)
        for entry in [h for h in self.handles.values() if h.room == room]:
            await self._drop(entry)
        if state is not None:
            with contextlib.suppress(JanusError, JanusUnavailable):
                session = await self._session(state.server)
                await session.message(
                    await self._control(session), {"request": "destroy", "room": state.number}
                )
        await cache.adelete(f"lyceum:janus:room:{room}")
        return path

    async def start_recording(self, *, room: str, participant: int, path: Path) -> None:
        """Record the room (every publisher: cameras, microphones, shared screens, now and
        whoever publishes later, through any server process) for ``path``.

        Janus writes the RTP it receives (``.mjr``, no decoding, one file per track with its
        start time in the name) into a folder next to ``path``, which must be the same
        folder on the Janus host (one host, or shared storage). ``participant`` (the trainer
        who started it) is not needed: the whole room is recorded."""
        key = _recording_key(room)
        if await cache.aget(key):
            return  # already recording: turning it on twice changes nothing
        folder = path.parent / f"{path.stem}-tracks"
        folder.mkdir(parents=True, exist_ok=True)
        await cache.aset(
            key, {"path": str(path), "dir": str(folder), "since": time.time()}, timeout=None
        )
        await self._room_recording(room, folder, on=True)

    async def _room_recording(self, room: str, folder: Path | None, *, on: bool) -> None:
        try:
            state = await self._room(room)
            session = await self._session(state.server)
            control = await self._control(session)
            if folder is not None:
                await session.message(
                    control, {"request": "edit", "room": state.number, "new_rec_dir": str(folder)}
                )
            await session.message(
                control, {"request": "enable_recording", "room": state.number, "record": on}
            )
        except (JanusUnavailable, JanusError):
            logger.warning("room %s: Janus would not %s recording", room, "start" if on else "stop")

    async def stop_recording(self, *, room: str) -> Path | None:
        """Stop recording; the composed file (VP8 and Opus in WebM), or None."""
        tracks = await self.stop_recording_tracks(room=room)
        if tracks is None:
            return None
        return await asyncio.to_thread(compose_recording, *tracks)

    async def stop_recording_tracks(self, *, room: str) -> tuple[Path, Path] | None:
        """Stop recording without composing: ``(folder of Janus's tracks, target path)``
        for ``compose_recording`` (the background job ``classrooms.tasks.compose_recording``
        does it), or None when the room was not recording."""
        key = _recording_key(room)
        recording = await cache.aget(key)
        if not recording:
            return None
        await cache.adelete(key)
        if room in self.rooms:
            await self._room_recording(room, None, on=False)
        return Path(recording["dir"]), Path(recording["path"])

    def publications(self, *, room: str) -> list[Publication]:
        state = self.rooms.get(room)
        return list(state.published.values()) if state else []

    async def close(self) -> None:
        """Close every session (tests, shutdown)."""
        for session in list(self.sessions.values()):
            session.on_closed = None
            await session.close()
        self.sessions.clear()


def _recording_key(room: str) -> str:
    return f"lyceum:janus:recording:{room}"


# ``videoroom-<room>-user-<id>-<start, microseconds>-<audio|video|data>-<m-line>.mjr``
_TRACK_NAME = re.compile(r"videoroom-\d+-user-(\d+)-(\d+)-(audio|video)-(\d+)\.mjr$")


def compose_recording(folder: Path, path: Path) -> Path | None:
    """Janus's recordings of a room (one ``.mjr`` per track and publication, in ``folder``)
    -> one WebM at ``path``: every track post-processed by ``janus-pp-rec`` (Debian's
    janus-tools), then composed by ffmpeg (``classrooms.composer``): the cameras and shared
    screens side by side, the microphones mixed, each at the time it was published. Writes
    ``<path>.json`` with the recording's start (Unix time of its first track). None if
    nothing usable was recorded; the raw files are deleted either way."""
    from classrooms.composer import Track, compose

    found = []
    for source in sorted(folder.glob("*.mjr")):
        match = _TRACK_NAME.search(source.name)
        if match is None:
            source.unlink(missing_ok=True)
            continue
        user, start, kind, mline = match.groups()
        found.append((int(start), int(user), kind, int(mline), source))
    tracks: list[Track] = []
    cameras: dict[int, int] = {}  # user -> start of their last camera (microseconds)
    for start, user, kind, _mline, source in sorted(found, key=lambda f: (f[0], f[3])):
        target = source.with_suffix(".webm" if kind == "video" else ".opus")
        try:
            subprocess.run(
                ["janus-pp-rec", "-d", "2", str(source), str(target)],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (OSError, subprocess.SubprocessError):
            logger.warning("could not post-process %s", source, exc_info=True)
        source.unlink(missing_ok=True)
        if not target.exists() or target.stat().st_size == 0:
            target.unlink(missing_ok=True)
            continue
        if kind == "video":
            # One publication's tracks start within microseconds of each other: its first
            # video is the camera, a second one the shared screen.
            if start - cameras.get(user, -(10**12)) < 1_000_000:
                kind = "screen"
            else:
                cameras[user] = start
        tracks.append(Track(file=target, kind=kind, owner=user, start=start / 1_000_000))
    try:
        return compose(tracks, path)
    finally:
        for track in tracks:
            track.file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()


class ImproperlyConfiguredJanus(Exception):
    """``LYCEUM_MEDIA_BACKEND`` names Janus but no server URL is set."""
