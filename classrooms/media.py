"""Live-class media: the interface behind which the WebRTC relay sits, and the built-in one.

The interface (:class:`MediaBackend`)
=====================================
Every participant of a live class *publishes once*: one upstream peer connection carrying
their microphone and camera (and, for a trainer, a second video track: the screen share).
Everyone else *subscribes* to that publisher: one downstream peer connection per
(subscriber, publisher) pair. The client always makes the offer and the server answers,
for publishing and subscribing alike, so the browser code is one shape (create a
connection, add transceivers, offer, apply the answer) and the server never has to
renegotiate: a subscriber offers ``recvonly`` transceivers, the server fills each with the
matching published track and answers. When a publisher changes what they publish they
publish again and everyone re-subscribes on the ``media.published`` event.

Coroutines, all keyed by ``room`` (the live class id, a string) and ``participant`` (a
user id):

``publish(room, participant, offer)`` -> :class:`Answer`
    Replaces any earlier publication of ``participant``. Tracks are told apart by the
    order of the offer's m-lines: the audio line is the microphone, the first video line
    the camera, a second video line the screen share.
``subscribe(room, participant, publisher, offer)`` -> :class:`Answer`
``add_ice(room, participant, connection, candidate)``: a trickled candidate (``None``:
    end of candidates) for one of the participant's connections.
``set_state(room, participant, audio=, video=, screen=)``: what the publisher has on.
``leave(room, participant)``: close every connection of the participant in the room.
``close_room(room)``: the class ended; close everything, finish a recording.
``start_recording(room, participant, path)`` / ``stop_recording(room)`` -> ``Path | None``
``publications(room)`` -> list of :class:`Publication` (who publishes which tracks).

``media_backend()`` returns the process's backend, chosen by the ``LYCEUM_MEDIA_BACKEND``
setting (a dotted path). The default, :class:`AiortcRelay`, is the built-in relay; a larger
deployment points the setting at a class that drives an external SFU (it then returns the
SFU's answers) and nothing else in Lyceum changes.

The built-in relay and scale-out
================================
:class:`AiortcRelay` keeps a process-local registry of rooms. A published track is decoded
by aiortc and forwarded to each subscriber through ``MediaRelay.subscribe(track)`` (one
encoder per subscriber connection, which is what costs CPU; see docs/PERFORMANCE.md, "Live
classes"). The media of a class therefore lives in the server process that holds its
participants' sockets: with N daphne processes the load balancer must route every socket
of one class to the same process (e.g. hash on the class id in the ``/ws/`` URL's query
string), or the deployment uses an external SFU behind this interface.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import contextvars
import hashlib
import hmac
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.sdp import SessionDescription, candidate_from_sdp
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from rest_framework import serializers

from classrooms.composer import read_start, write_start
from classrooms.recorder import ClassRecorder
from hub import events
from hub.params import parse_id
from hub.realtime import apublish

logger = logging.getLogger(__name__)

SOURCES = ("audio", "video", "screen")


# -- what goes through the interface ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Answer:
    """The server's answer to a client's offer, and which connection it belongs to."""

    connection: str
    sdp: str
    type: str = "answer"
    # The source of each m-line the answer sends (subscriptions) or receives (publications),
    # by mid: "audio", "video" or "screen".
    tracks: dict[str, str] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {
            "connection": self.connection,
            "sdp": self.sdp,
            "type": self.type,
            "tracks": self.tracks,
        }


@dataclass(slots=True)
class Publication:
    """What one participant publishes in a room, and what they have switched on."""

    participant: int
    sources: list[str]
    audio: bool = True
    video: bool = True
    screen: bool = False

    def toggle(
        self, *, audio: bool | None = None, video: bool | None = None, screen: bool | None = None
    ) -> Publication:
        """Switch what is given on or off (``None``: unchanged); both backends' ``set_state``."""
        for name, value in (("audio", audio), ("video", video), ("screen", screen)):
            if value is not None:
                setattr(self, name, value)
        return self

    def payload(self) -> dict[str, Any]:
        return {
            "user_id": self.participant,
            "tracks": list(self.sources),
            "state": {"audio": self.audio, "video": self.video, "screen": self.screen},
        }


class MediaBackend(Protocol):
    """What the live class needs from a media server (see the module docstring)."""

    async def publish(self, *, room: str, participant: int, offer: str) -> Answer: ...

    async def subscribe(
        self, *, room: str, participant: int, publisher: int, offer: str
    ) -> Answer: ...

    async def add_ice(
        self, *, room: str, participant: int, connection: str, candidate: dict[str, Any] | None
    ) -> None: ...

    def set_state(
        self,
        *,
        room: str,
        participant: int,
        audio: bool | None = None,
        video: bool | None = None,
        screen: bool | None = None,
    ) -> Publication | None: ...

    async def leave(self, *, room: str, participant: int) -> bool: ...

    async def close_room(self, *, room: str) -> None: ...

    async def start_recording(self, *, room: str, participant: int, path: Path) -> None: ...

    async def stop_recording(self, *, room: str) -> Path | None: ...

    def publications(self, *, room: str) -> list[Publication]: ...


# -- limits -----------------------------------------------------------------------------------
def media_limits() -> dict[str, int]:
    """``LYCEUM_MEDIA_MAX_*`` (hub/settings.py), with the defaults the client also uses."""
    conf = getattr(settings, "LYCEUM_MEDIA", {})
    return {
        "width": int(conf.get("MAX_WIDTH", 640)),
        "height": int(conf.get("MAX_HEIGHT", 360)),
        "fps": int(conf.get("MAX_FPS", 24)),
        "bitrate": int(conf.get("MAX_BITRATE", 600_000)),
        "sdp_bytes": int(conf.get("MAX_SDP_BYTES", 32_000)),
    }


def check_offer(sdp: str, *, max_video: int) -> list[tuple[str, str]]:
    """Parse a client's offer and check what the server can: m-lines, bitrate, frame rate.

    Returns ``[(mid, kind), ...]`` in m-line order. Raises ``ValidationError`` (the gateway
    answers ``invalid``) on anything malformed or beyond the limits.
    """
    limits = media_limits()
    if len(sdp.encode()) > limits["sdp_bytes"]:
        raise ValidationError(_("The session description is too large."))
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception:
        raise ValidationError(_("The session description is not valid SDP.")) from None
    media = parsed.media
    if not media or any(m.kind not in {"audio", "video"} for m in media):
        raise ValidationError(_("Only audio and video tracks are accepted."))
    if sum(m.kind == "audio" for m in media) > 1:
        raise ValidationError(_("At most one audio track."))
    if sum(m.kind == "video" for m in media) > max_video:
        raise ValidationError(_("Too many video tracks."))
    if any(m.rtp.muxId in ("", None) for m in media):
        raise ValidationError(_("Every track needs a media id (a=mid)."))
    for line in sdp.splitlines():
        line = line.strip()
        # b=AS is in kbit/s, b=TIAS in bit/s: both bound what the sender may send.
        if line.startswith("b=AS:") and _int(line[5:]) * 1000 > limits["bitrate"]:
            raise ValidationError(_("The offered bitrate is above the limit."))
        if line.startswith("b=TIAS:") and _int(line[7:]) > limits["bitrate"]:
            raise ValidationError(_("The offered bitrate is above the limit."))
        if line.startswith("a=framerate:") and _float(line[12:]) > limits["fps"]:
            raise ValidationError(_("The offered frame rate is above the limit."))
    return [(str(m.rtp.muxId), m.kind) for m in media]


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValidationError(_("The session description is not valid SDP.")) from None


def _float(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ValidationError(_("The session description is not valid SDP.")) from None


class LimitedVideoTrack(MediaStreamTrack):
    """A published camera or screen, held to the size and frame-rate limits.

    The client constrains what it captures; this is the server's guarantee for clients
    that do not: oversized frames are scaled down, frames above the rate are dropped, so
    every subscriber's encoder works within the limits.
    """

    kind = "video"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.source = source
        limits = media_limits()
        self.max_width, self.max_height = limits["width"], limits["height"]
        self.max_fps = limits["fps"]
        # When the last second's frames were passed on: a rate over a sliding second lets
        # the bursts of network jitter through and still holds a sender to the limit.
        self.recent: collections.deque[float] = collections.deque()
        self.frames = 0  # passed on to the relay: what subscribers and a recording got

    async def recv(self) -> Any:
        while True:
            frame = await self.source.recv()
            now = time.monotonic()
            while self.recent and now - self.recent[0] >= 1.0:
                self.recent.popleft()
            if len(self.recent) >= self.max_fps:
                continue
            self.recent.append(now)
            if frame.width > self.max_width or frame.height > self.max_height:
                scale = min(self.max_width / frame.width, self.max_height / frame.height)
                scaled = frame.reformat(
                    width=max(2, int(frame.width * scale) // 2 * 2),
                    height=max(2, int(frame.height * scale) // 2 * 2),
                )
                scaled.pts, scaled.time_base = frame.pts, frame.time_base
                frame = scaled
            self.frames += 1
            return frame

    def stop(self) -> None:
        super().stop()
        self.source.stop()


# -- the built-in relay -----------------------------------------------------------------------
@dataclass(eq=False)
class _Peer:
    """One server-side peer connection: a publication or a subscription."""

    id: str
    pc: RTCPeerConnection
    participant: int
    publisher: int | None = None  # None: this is the participant's own publication


@dataclass(eq=False)
class _Published:
    peer: _Peer
    publication: Publication
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)  # source -> track
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class _Recording:
    participant: int
    path: Path
    recorder: ClassRecorder | None = None
    started: float = 0.0
    started_at: float = 0.0  # Unix time of the file's time 0 (the playback page's clock)
    fed_by: _Published | None = None  # the publication the recorder takes its tracks from


@dataclass(eq=False)
class _Room:
    key: str
    peers: dict[str, _Peer] = field(default_factory=dict)
    published: dict[int, _Published] = field(default_factory=dict)
    recording: _Recording | None = None


class AiortcRelay:
    """The built-in media server: aiortc peer connections and ``MediaRelay`` in-process.

    Lives on the event loop of the server process (daphne's): call it from that loop only.
    """

    def __init__(self) -> None:
        self.rooms: dict[str, _Room] = {}
        self.relay = MediaRelay()
        # Told when a publication ends without a `media.leave` (the browser went away):
        # the signalling layer broadcasts `media.unpublished` from it.
        self.on_unpublished: Callable[[str, int], Any] | None = None

    # -- helpers ------------------------------------------------------------------------------
    def _room(self, room: str) -> _Room:
        return self.rooms.setdefault(room, _Room(key=room))

    def _forget(self, room: _Room) -> None:
        """Take ``room`` out of the registry, if it is still the one registered under its key.

        A room object outlives its registration in the coroutines that hold it across an
        await; forgetting by key alone would take out the room that replaced it, and every
        publication in that one would vanish (not listed, not subscribable) while its media
        went on.
        """
        if self.rooms.get(room.key) is room:
            del self.rooms[room.key]

    def _configuration(self) -> RTCConfiguration:
        urls = client_settings()["ice_servers"]  # the servers the pages are given too
        # An explicit empty list: aiortc would otherwise ask a public STUN server.
        return RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in urls])

    def _new_peer(self, room: _Room, participant: int, publisher: int | None) -> _Peer:
        peer = _Peer(
            id=uuid.uuid4().hex[:16],
            pc=RTCPeerConnection(self._configuration()),
            participant=participant,
            publisher=publisher,
        )
        room.peers[peer.id] = peer

        @peer.pc.on("connectionstatechange")
        async def on_state() -> None:
            if peer.pc.connectionState in {"failed", "closed"}:
                await self._drop_peer(room, peer)

        return peer

    async def _drop_peer(self, room: _Room, peer: _Peer, *, announce: bool = True) -> None:
        if room.peers.pop(peer.id, None) is None:
            return
        if peer.publisher is None:
            current = room.published.get(peer.participant)
            if current is not None and current.peer is peer:
                del room.published[peer.participant]
                # A recording goes on: its tracks end here, and the participant's next
                # publication feeds the same file (``_start_recorder``).
                for track in current.tracks.values():
                    track.stop()
                if announce and self.on_unpublished is not None:
                    result = self.on_unpublished(room.key, peer.participant)
                    if asyncio.iscoroutine(result):
                        await result
        await peer.pc.close()
        if not room.peers and room.recording is None:
            self._forget(room)

    @staticmethod
    async def _answer(peer: _Peer, offer: str) -> str:
        await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        # aiortc gathers its candidates before it answers: they are in this SDP.
        return peer.pc.localDescription.sdp

    # -- the interface ------------------------------------------------------------------------
    async def publish(self, *, room: str, participant: int, offer: str) -> Answer:
        lines = check_offer(offer, max_video=2)
        sources_by_mid: dict[str, str] = {}
        videos = 0
        for mid, kind in lines:
            if kind == "audio":
                sources_by_mid[mid] = "audio"
            else:
                sources_by_mid[mid] = "video" if videos == 0 else "screen"
                videos += 1
        state = self._room(room)
        previous = state.published.get(participant)
        peer = self._new_peer(state, participant, None)
        publication = Publication(
            participant=participant,
            sources=[s for s in SOURCES if s in sources_by_mid.values()],
            audio="audio" in sources_by_mid.values(),
            video="video" in sources_by_mid.values(),
        )
        published = _Published(peer=peer, publication=publication)
        # The new publication takes the place of an earlier one *before* that is dropped: the
        # room is never empty meanwhile, so it stays registered and this publication lands in
        # the room everyone else looks in (dropping the only peer first took the room out of
        # the registry, and the new publication went into a room nobody could see: never
        # announced nor listed, not subscribable). The replaced one is quietly dropped: the
        # new publication's event supersedes it.
        state.published[participant] = published
        if previous is not None:
            await self._drop_peer(state, previous.peer)

        @peer.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            mid = next(
                (t.mid for t in peer.pc.getTransceivers() if t.receiver.track is track), None
            )
            source = sources_by_mid.get(mid or "", track.kind)
            published.tracks[source] = LimitedVideoTrack(track) if track.kind == "video" else track
            if len(published.tracks) == len(sources_by_mid):
                published.arrived.set()

        try:
            sdp = await self._answer(peer, offer)
        except Exception as exc:
            await self._drop_peer(state, peer)
            raise ValidationError(_("The offer could not be answered.")) from exc
        if self.rooms.get(room) is not state or state.published.get(participant) is not published:
            # The room was closed, or the participant published again, meanwhile.
            await self._drop_peer(state, peer, announce=False)
            raise ObjectDoesNotExist("the room or the publication ended meanwhile")
        if state.recording and state.recording.participant == participant:
            await self._start_recorder(state, state.recording)
        return Answer(connection=peer.id, sdp=sdp, tracks=sources_by_mid)

    async def subscribe(self, *, room: str, participant: int, publisher: int, offer: str) -> Answer:
        check_offer(offer, max_video=2)
        state = self._room(room)
        published = state.published.get(publisher)
        if published is None or publisher == participant:
            raise ObjectDoesNotExist("nothing published by this participant")
        # A subscriber's old connection to the same publisher is replaced.
        for old in [
            p
            for p in state.peers.values()
            if p.participant == participant and p.publisher == publisher
        ]:
            await self._drop_peer(state, old)
        # A publication still connecting has not got its tracks yet: give them a moment.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(published.arrived.wait(), 5)
        if self.rooms.get(room) is not state or state.published.get(publisher) is not published:
            raise ObjectDoesNotExist("the publication ended meanwhile")  # nothing to relay
        peer = self._new_peer(state, participant, publisher)
        try:
            await peer.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            wanted = {"audio": ["audio"], "video": ["video", "screen"]}
            tracks: dict[str, str] = {}
            for transceiver in peer.pc.getTransceivers():
                choices = [s for s in wanted[transceiver.kind] if s in published.tracks]
                if not choices:
                    continue
                source = choices[0]
                wanted[transceiver.kind].remove(source)
                # Unbuffered: a slow subscriber gets the newest frame, not a growing queue.
                transceiver.sender.replaceTrack(
                    self.relay.subscribe(published.tracks[source], buffered=False)
                )
                transceiver.direction = "sendonly"
                tracks[str(transceiver.mid)] = source
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        except Exception as exc:
            await self._drop_peer(state, peer)
            raise ValidationError(_("The offer could not be answered.")) from exc
        return Answer(connection=peer.id, sdp=peer.pc.localDescription.sdp, tracks=tracks)

    async def add_ice(
        self, *, room: str, participant: int, connection: str, candidate: dict[str, Any] | None
    ) -> None:
        state = self.rooms.get(room)
        peer = state.peers.get(connection) if state else None
        if peer is None or peer.participant != participant:
            raise ObjectDoesNotExist("no such connection")
        if candidate is None:
            await peer.pc.addIceCandidate(None)
            return
        text = candidate["candidate"].removeprefix("a=").removeprefix("candidate:")
        try:
            ice = candidate_from_sdp(text)
        except (AssertionError, ValueError, IndexError):
            raise ValidationError(_("The ICE candidate is not valid.")) from None
        ice.sdpMid = candidate.get("sdpMid")
        ice.sdpMLineIndex = candidate.get("sdpMLineIndex")
        if ice.sdpMid is None and ice.sdpMLineIndex is None:
            ice.sdpMLineIndex = 0
        await peer.pc.addIceCandidate(ice)

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
        published = state.published.get(participant) if state else None
        if published is None:
            return None
        return published.publication.toggle(audio=audio, video=video, screen=screen)

    async def leave(self, *, room: str, participant: int) -> bool:
        """Close every connection of ``participant``; True if they were publishing."""
        state = self.rooms.get(room)
        if state is None:
            return False
        was_publishing = participant in state.published
        # The caller announces it (``on_unpublished`` is for publications that just end).
        for peer in [p for p in state.peers.values() if p.participant == participant]:
            await self._drop_peer(state, peer, announce=False)
        # Those who subscribed to the participant lose their source: close them too.
        for peer in [p for p in state.peers.values() if p.publisher == participant]:
            await self._drop_peer(state, peer, announce=False)
        return was_publishing

    async def unpublish(self, *, room: str, participant: int) -> bool:
        """End the participant's publication only (a webinar's speaker back to watching):
        their subscriptions stay, their subscribers' connections to them close."""
        state = self.rooms.get(room)
        published = state.published.get(participant) if state else None
        if state is None or published is None:
            return False
        for peer in [p for p in state.peers.values() if p.publisher == participant]:
            await self._drop_peer(state, peer, announce=False)
        await self._drop_peer(state, published.peer, announce=False)
        return True

    async def close_room(self, *, room: str) -> Path | None:
        """End a room; returns the recording's file if one was running."""
        state = self.rooms.get(room)
        if state is None:
            return None
        path = await self.stop_recording(room=room)
        self._forget(state)
        # Closing a peer lets other coroutines run: one that joined meanwhile is closed too.
        while state.peers:
            await self._drop_peer(state, next(iter(state.peers.values())), announce=False)
        return path

    async def start_recording(self, *, room: str, participant: int, path: Path) -> None:
        """Record ``participant``'s audio and video to ``path`` (now, or once they publish)."""
        state = self._room(room)
        if state.recording is not None:
            return  # already recording: turning it on twice changes nothing
        path.parent.mkdir(parents=True, exist_ok=True)
        state.recording = _Recording(participant=participant, path=path)
        await self._start_recorder(state, state.recording)

    async def stop_recording(self, *, room: str) -> Path | None:
        """Finish the room's recording; its file, or None if nothing was recorded."""
        state = self.rooms.get(room)
        if state is None or state.recording is None:
            return None
        recording, state.recording = state.recording, None
        await self._stop_recorder(recording)
        if not state.peers:
            self._forget(state)
        if recording.path.exists() and recording.path.stat().st_size > 0:
            write_start(recording.path, recording.started_at)
            return recording.path
        return None

    async def _start_recorder(self, state: _Room, recording: _Recording) -> None:
        """Record the participant's publication: a new file, or the same file going on from
        a new publication of theirs (a reconnect must not overwrite what was recorded)."""
        published = state.published.get(recording.participant)
        if published is None or recording.fed_by is published:
            return
        try:
            await asyncio.wait_for(published.arrived.wait(), 5)
        except TimeoutError:
            logger.warning("recording %s: not every track arrived", state.key)
        if state.recording is not recording or recording.fed_by is published:
            return  # stopped, or started from this publication by another caller, meanwhile
        if state.published.get(recording.participant) is not published:
            return  # replaced meanwhile: the new publication starts it
        recording.fed_by = published
        sources = {
            # Video unbuffered (a slow recorder skips frames), audio buffered (see recorder.py).
            source: self.relay.subscribe(published.tracks[source], buffered=source == "audio")
            for source in ("audio", "video")
            if source in published.tracks
        }
        if recording.recorder is not None:
            await recording.recorder.switch(audio=sources.get("audio"), video=sources.get("video"))
            return
        limits = media_limits()
        recorder = ClassRecorder(
            recording.path,
            audio=sources.get("audio"),
            video=sources.get("video"),
            default_size=(limits["width"], limits["height"]),
            bitrate=limits["bitrate"],
        )
        recording.recorder = recorder
        recording.started = time.monotonic()
        recording.started_at = time.time()
        await recorder.start()

    async def _stop_recorder(self, recording: _Recording) -> None:
        recorder, recording.recorder = recording.recorder, None
        if recorder is not None:
            try:
                await recorder.stop()
            except Exception:
                logger.exception("could not finish the recording %s", recording.path)

    def publications(self, *, room: str) -> list[Publication]:
        state = self.rooms.get(room)
        return [p.publication for p in state.published.values()] if state else []


_background: set[asyncio.Task] = set()
_backend: MediaBackend | None = None


def media_backend() -> MediaBackend:
    """The process's media backend (``LYCEUM_MEDIA_BACKEND``), created on first use."""
    global _backend
    if _backend is None:
        path = getattr(settings, "LYCEUM_MEDIA", {}).get("BACKEND", "classrooms.media.AiortcRelay")
        _backend = import_string(path)()
    return _backend


def media_capacity() -> int:
    """Participants a class can hold on the media backend in use (its measured figure)."""
    from classrooms.models import default_liveclass_capacity

    return default_liveclass_capacity()


def reset_media_backend() -> None:
    """Forget the backend and its loop (tests: each event loop gets a fresh relay)."""
    global _backend, _media_loop
    _backend = None
    _media_loop = None


__all__ = [
    "AiortcRelay",
    "Answer",
    "MediaBackend",
    "Publication",
    "check_offer",
    "media_backend",
    "media_limits",
]


# -- signalling: the ``media.*`` actions of ``classrooms.liveclass.<id>`` ---------------------
# The room's topic (classrooms/realtime.py) declares the actions and calls these coroutines.
# They run on the server's event loop, where the peer connections live; database reads go
# through ``database_sync_to_async``.
class OfferSerializer(serializers.Serializer):
    """A client's offer (``media.publish``)."""

    sdp = serializers.CharField(trim_whitespace=False)
    type = serializers.ChoiceField(choices=["offer"], default="offer")

    def validate_sdp(self, value: str) -> str:
        if len(value.encode()) > media_limits()["sdp_bytes"]:
            raise serializers.ValidationError(_("The session description is too large."))
        if not value.startswith("v=0"):
            raise serializers.ValidationError(_("The session description is not valid SDP."))
        return value


class SubscribeSerializer(OfferSerializer):
    """``media.subscribe``: an offer of receive-only tracks for one publisher's media."""

    publisher = serializers.IntegerField(min_value=1)


class IceSerializer(serializers.Serializer):
    """``media.ice``: one trickled candidate, or none (``candidate`` empty: end of them)."""

    connection = serializers.RegexField(r"^[0-9a-f]{16}$")
    candidate = serializers.CharField(max_length=1000, allow_blank=True, trim_whitespace=True)
    sdpMid = serializers.CharField(max_length=32, required=False, allow_null=True)
    sdpMLineIndex = serializers.IntegerField(
        min_value=0, max_value=15, required=False, allow_null=True
    )


class AnswerSerializer(serializers.Serializer):
    """``media.answer``: the client's answer to a subscription the server offered (an SFU
    such as Janus makes the offer for what it sends: ``media.subscribe`` then replies with
    ``type: "offer"``)."""

    connection = serializers.RegexField(r"^[0-9a-f]{16}$")
    sdp = serializers.CharField(trim_whitespace=False)
    type = serializers.ChoiceField(choices=["answer"], default="answer")

    def validate_sdp(self, value: str) -> str:
        return OfferSerializer().validate_sdp(value)


class LayerSerializer(serializers.Serializer):
    """``media.layer``: which simulcast layer a subscription receives (0: the smallest)."""

    connection = serializers.RegexField(r"^[0-9a-f]{16}$")
    substream = serializers.IntegerField(min_value=0, max_value=2)


class ToggleSerializer(serializers.Serializer):
    """``media.toggle``: what the publisher has switched on (any of the three)."""

    audio = serializers.BooleanField(required=False)
    video = serializers.BooleanField(required=False)
    screen = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(_("Say what is switched on or off."))
        return attrs


def room_topic(room: str) -> str:
    """The topic of a media room: the class's (``<id>``) or a breakout room's (``<id>-<n>``)."""
    if "-" in room:
        return f"classrooms.liveclass.{room}.breakout"
    return f"classrooms.liveclass.{room}"


def class_rooms(live_class_id: int) -> list[str]:
    """Every media room a class can have: its own and its possible breakout rooms."""
    from classrooms.services import MAX_BREAKOUT_ROOMS

    return [str(live_class_id)] + [f"{live_class_id}-{n}" for n in range(1, MAX_BREAKOUT_ROOMS + 1)]


def _participant_role(user: Any, room: str) -> str:
    """The user's role in the class if they may use this media room now; else
    PermissionDenied: they must be in the class, and in a breakout room's media only while
    they are placed in it (trainers may visit any); the class's own room is for those not
    placed in a breakout room."""
    from classrooms.models import LiveClass
    from classrooms.selectors import (
        breakout_key,
        can_join_liveclass,
        liveclass_role,
        may_be_in_breakout_room,
        participant_of,
    )

    breakout = breakout_key(room)
    class_id, number = breakout if breakout else (int(room), 0)
    live_class = LiveClass.objects.get(pk=class_id)
    participant = participant_of(user, live_class) if can_join_liveclass(user, live_class) else None
    if participant is None or participant.removed:
        raise PermissionDenied(_("Join the class before sending or receiving media."))
    if number:
        if not may_be_in_breakout_room(participant, live_class, number):
            raise PermissionDenied(_("You are not in this breakout room."))
    elif participant.breakout_room:
        raise PermissionDenied(
            _("You are in breakout room %(room)d.") % {"room": participant.breakout_room}
        )
    role = str(liveclass_role(user, live_class))
    if not number and live_class.webinar and role != "trainer" and not participant.speaker:
        return "watcher"  # a webinar: they receive, they do not publish
    return role


def _recording_wanted(room: str) -> bool:
    from classrooms.models import LiveClass

    class_id = parse_id(room)
    if class_id is None:
        return False  # breakout rooms are not recorded
    return LiveClass.objects.filter(pk=class_id, recording_on=True).exists()


_media_loop: asyncio.AbstractEventLoop | None = None


def _remember_loop() -> MediaBackend:
    global _media_loop
    _media_loop = asyncio.get_running_loop()
    backend = media_backend()
    if hasattr(backend, "on_unpublished") and backend.on_unpublished is None:
        backend.on_unpublished = announce_unpublished
    if hasattr(backend, "on_speaking") and backend.on_speaking is None:
        backend.on_speaking = announce_speaking
    return backend


async def announce_unpublished(room: str, participant: int) -> None:
    await apublish(room_topic(room), "media.unpublished", {"user_id": participant})


async def announce_speaking(room: str, participant: int, talking: bool) -> None:
    """Active speaker (backends that detect it: Janus): ephemeral, for the tiles."""
    await apublish(room_topic(room), "media.speaking", {"user_id": participant, "talking": talking})


def _publication_event(publication: Publication, user: Any) -> dict[str, Any]:
    return {**publication.payload(), "name": getattr(user, "name", "") or str(user)}


async def media_publish(user: Any, room: str, data: dict[str, Any]) -> dict[str, Any]:
    """Answer the user's offer; tell the room who now publishes which tracks."""
    backend = _remember_loop()
    role = await database_sync_to_async(_participant_role)(user, room)
    if role == "watcher":
        raise PermissionDenied(_("In this webinar, wait for a trainer to let you speak."))
    lines = check_offer(data["sdp"], max_video=2)
    if sum(kind == "video" for _mid, kind in lines) > 1 and role != "trainer":
        raise PermissionDenied(_("Only trainers share their screen."))
    answer = await backend.publish(room=room, participant=user.pk, offer=data["sdp"])
    await _sync(backend, room)
    publications = backend.publications(room=room)
    mine = next((p for p in publications if p.participant == user.pk), None)
    if mine is not None:
        await apublish(room_topic(room), "media.published", _publication_event(mine, user))
    if role == "trainer" and await database_sync_to_async(_recording_wanted)(room):
        await start_room_recording(room, trainer_ids=[user.pk])
    return {
        **answer.payload(),
        "publishers": [p.payload() for p in publications if p.participant != user.pk],
        "limits": client_settings()["limits"],
    }


async def media_subscribe(user: Any, room: str, data: dict[str, Any]) -> dict[str, Any]:
    """Answer an offer of receive-only tracks with the publisher's relayed tracks."""
    backend = _remember_loop()
    await database_sync_to_async(_participant_role)(user, room)
    answer = await backend.subscribe(
        room=room, participant=user.pk, publisher=data["publisher"], offer=data["sdp"]
    )
    return answer.payload()


async def media_answer(user: Any, room: str, data: dict[str, Any]) -> dict[str, Any]:
    """The client's answer to a subscription offered by the server (SFU backends)."""
    backend = _remember_loop()
    await database_sync_to_async(_participant_role)(user, room)
    complete = getattr(backend, "answer", None)
    if complete is None:
        raise ObjectDoesNotExist("this media server answers offers, it makes none")
    await complete(room=room, participant=user.pk, connection=data["connection"], sdp=data["sdp"])
    return {}


async def media_layer(user: Any, room: str, data: dict[str, Any]) -> dict[str, Any]:
    """A subscriber picks the simulcast layer its tile needs (SFU backends; the relay
    sends one layer and ignores it)."""
    backend = _remember_loop()
    await database_sync_to_async(_participant_role)(user, room)
    choose = getattr(backend, "set_layer", None)
    if choose is not None:
        await choose(
            room=room,
            participant=user.pk,
            connection=data["connection"],
            substream=data["substream"],
        )
    return {"substream": data["substream"]}


async def _sync(backend: MediaBackend, room: str) -> None:
    """A backend shared by several server processes (Janus) learns the room's publishers."""
    sync = getattr(backend, "sync", None)
    if sync is not None:
        await sync(room=room)


async def media_ice(user: Any, room: str, data: dict[str, Any]) -> dict[str, Any]:
    backend = _remember_loop()
    candidate = None
    if data["candidate"]:
        candidate = {
            "candidate": data["candidate"],
            "sdpMid": data.get("sdpMid"),
            "sdpMLineIndex": data.get("sdpMLineIndex"),
        }
    await backend.add_ice(
        room=room, participant=user.pk, connection=data["connection"], candidate=candidate
    )
    return {}


async def media_toggle(user: Any, room: str, data: dict[str, Any]) -> dict[str, Any]:
    """Camera, microphone or screen on or off: an ephemeral event for everyone's tiles."""
    backend = _remember_loop()
    role = await database_sync_to_async(_participant_role)(user, room)
    if data.get("screen") and role != "trainer":
        raise PermissionDenied(_("Only trainers share their screen."))
    publication = backend.set_state(room=room, participant=user.pk, **data)
    if publication is None:
        raise ObjectDoesNotExist("not publishing")
    state = publication.payload()["state"]
    await apublish(room_topic(room), "media.toggled", {"user_id": user.pk, **state})
    return state


async def media_list(user: Any, room: str, data: dict[str, Any]) -> dict[str, Any]:
    """Who publishes what now (a page that (re)connects subscribes to each), and what a
    client needs before it captures: the limits and the STUN/TURN servers."""
    backend = _remember_loop()
    await database_sync_to_async(_participant_role)(user, room)
    await _sync(backend, room)
    return {
        "publishers": [p.payload() for p in backend.publications(room=room)],
        **client_settings(user_id=user.pk),
    }


def client_settings(*, user_id: int | None = None) -> dict[str, Any]:
    """Limits and ICE servers for a page: the STUN/TURN URLs as strings, and, when a TURN
    secret is set, the TURN server with credentials made for ``user_id`` now."""
    limits = media_limits()
    ice: list[Any] = list(getattr(settings, "LYCEUM_MEDIA", {}).get("ICE_SERVERS", []))
    if user_id is not None and (turn := turn_credentials(user_id)) is not None:
        ice.append(turn)
    backend = getattr(settings, "LYCEUM_MEDIA", {}).get("BACKEND", "")
    return {
        "limits": {key: limits[key] for key in ("width", "height", "fps", "bitrate")},
        "ice_servers": ice,
        # Janus forwards simulcast layers (the page sends three, each tile takes one); the
        # relay decodes one stream.
        "simulcast": backend == "classrooms.janus.JanusBackend",
    }


def turn_credentials(user_id: int, *, now: float | None = None) -> dict[str, Any] | None:
    """Time-limited TURN credentials (the shared-secret REST scheme coturn checks with
    ``use-auth-secret``): the username is ``<expiry>:<user id>``, the password the base64
    HMAC-SHA1 of it under the shared secret. None when no TURN server is configured."""
    conf = getattr(settings, "LYCEUM_TURN", {})
    urls, secret = list(conf.get("URLS", [])), str(conf.get("SECRET", ""))
    if not urls or not secret:
        return None
    expiry = int((time.time() if now is None else now) + int(conf.get("TTL", 3600)))
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return {"urls": urls, "username": username, "credential": base64.b64encode(digest).decode()}


async def media_leave(user: Any, room: str, data: dict[str, Any]) -> dict[str, Any]:
    """Close the user's media in the room (no permission needed to stop)."""
    backend = _remember_loop()
    if await backend.leave(room=room, participant=user.pk):
        await announce_unpublished(room, user.pk)
    return {}


# -- recording and the class's life cycle (hub.events handlers) -------------------------------
def recording_path(room: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(settings.MEDIA_ROOT) / "liveclass-recordings" / "incoming" / f"{room}-{stamp}.webm"


async def start_room_recording(room: str, *, trainer_ids: list[int]) -> bool:
    """Record the first of ``trainer_ids`` who publishes in the room; False if none does."""
    backend = media_backend()
    publishing = {p.participant for p in backend.publications(room=room)}
    trainer = next((t for t in trainer_ids if t in publishing), None)
    if trainer is None:
        return False  # the trainer's ``media.publish`` starts it (the class says it is on)
    await backend.start_recording(room=room, participant=trainer, path=recording_path(room))
    return True


async def finish_room_recording(room: str, *, close: bool = False) -> Path | None:
    """Stop the room's recording (and close the room) and attach the file to the class."""
    backend = media_backend()
    later = getattr(backend, "stop_recording_tracks", None)
    if later is not None:
        # Janus: composing takes about as long as the class; a background job does it.
        tracks = await later(room=room)
        if close:
            await backend.close_room(room=room)
        if tracks is not None:
            await database_sync_to_async(_queue_composition)(room, *tracks)
        return None
    if close:
        path = await backend.close_room(room=room)
    else:
        path = await backend.stop_recording(room=room)
    if path is not None:
        await database_sync_to_async(_attach)(room, path)
    return path


def _queue_composition(room: str, folder: Path, path: Path) -> None:
    from classrooms.models import LiveClass
    from classrooms.services import liveclass_queue_composition

    live_class = LiveClass.objects.get(pk=int(room))
    liveclass_queue_composition(live_class=live_class, folder=folder, path=path)


def _attach(room: str, path: Path) -> None:
    from classrooms.models import LiveClass
    from classrooms.services import liveclass_attach_recording

    live_class = LiveClass.objects.get(pk=int(room))
    liveclass_attach_recording(live_class=live_class, path=path, started_at=read_start(path))


def run_on_media_loop(coroutine: Any) -> bool:
    """Run ``coroutine`` on the loop that holds this process's media, from any thread.

    False (and the coroutine closed) when this process holds no media: nothing to do.
    """
    loop = _media_loop
    if loop is None or loop.is_closed() or not loop.is_running():
        coroutine.close()
        return False
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None

    def spawn() -> None:
        task = loop.create_task(coroutine)
        _background.add(task)
        task.add_done_callback(_background.discard)
        task.add_done_callback(_log_failure)

    # A fresh context: the caller's (a sync worker thread of asgiref) would make the task's
    # own ``database_sync_to_async`` calls believe they run inside that thread and refuse.
    if running is loop:
        contextvars.Context().run(spawn)
    else:
        loop.call_soon_threadsafe(spawn, context=contextvars.Context())
    return True


def _log_failure(future: Any) -> None:
    # Nobody awaits these: a failure must at least reach the log.
    if not future.cancelled() and future.exception() is not None:
        logger.error("live-class media task failed", exc_info=future.exception())


def on_liveclass_recording(*, live_class_id: int, on: bool, **_: Any) -> None:
    """``classrooms.liveclass_recording``: start or stop recording the class's trainer."""
    room = str(live_class_id)
    if on:
        from classrooms.models import LiveClass
        from classrooms.selectors import is_liveclass_trainer
        from hub.accounts.models import User

        live_class = LiveClass.objects.get(pk=live_class_id)
        publishing = [p.participant for p in media_backend().publications(room=room)]
        trainers = [
            user.pk
            for user in User.objects.filter(pk__in=publishing)
            if is_liveclass_trainer(user, live_class)
        ]
        run_on_media_loop(start_room_recording(room, trainer_ids=trainers))
    else:
        run_on_media_loop(finish_room_recording(room))


def on_liveclass_left(*, user_id: int, live_class_id: int, **_: Any) -> None:
    """``classrooms.liveclass_left``: whoever left (or was removed) stops sending media, in
    the class's room and in a breakout room."""
    for room in class_rooms(live_class_id):
        run_on_media_loop(media_leave(_Someone(user_id), room, {}))


def on_liveclass_ended(*, live_class_id: int, **_: Any) -> None:
    """``classrooms.liveclass_ended``: close the rooms; a running recording is attached."""
    run_on_media_loop(finish_room_recording(str(live_class_id), close=True))
    for room in class_rooms(live_class_id)[1:]:
        run_on_media_loop(media_backend().close_room(room=room))


def on_breakouts_opened(*, live_class_id: int, rooms: dict[int, int], **_: Any) -> None:
    """``classrooms.breakouts_opened``: people placed in a breakout room stop sending and
    receiving in the class's room (their page publishes again in the breakout room)."""
    for user_id in rooms:
        run_on_media_loop(media_leave(_Someone(user_id), str(live_class_id), {}))


def on_breakouts_closed(*, live_class_id: int, count: int, **_: Any) -> None:
    """``classrooms.breakouts_closed``: everyone is called back; close the breakout rooms."""
    for room in class_rooms(live_class_id)[1 : count + 1]:
        run_on_media_loop(media_backend().close_room(room=room))


async def media_unpublish(user: Any, room: str) -> None:
    """End the user's publication in the room, keeping what they receive."""
    backend = _remember_loop()
    stop = getattr(backend, "unpublish", None)
    if stop is not None:
        ended = await stop(room=room, participant=user.pk)
    else:
        ended = await backend.leave(room=room, participant=user.pk)
    if ended:
        await announce_unpublished(room, user.pk)


def on_liveclass_watchers(*, live_class_id: int, users: list[int], **_: Any) -> None:
    """``classrooms.liveclass_watchers``: in a webinar these people watch: their publication
    in the class's room ends; they go on receiving."""
    for user_id in users:
        run_on_media_loop(media_unpublish(_Someone(user_id), str(live_class_id)))


@dataclass(frozen=True)
class _Someone:
    pk: int


def connect_events() -> None:
    """Subscribe the media side to the live class's domain events (from ``ready()``)."""
    events.subscribe("classrooms.liveclass_recording", on_liveclass_recording)
    events.subscribe("classrooms.liveclass_left", on_liveclass_left)
    events.subscribe("classrooms.liveclass_ended", on_liveclass_ended)
    events.subscribe("classrooms.breakouts_opened", on_breakouts_opened)
    events.subscribe("classrooms.breakouts_closed", on_breakouts_closed)
    events.subscribe("classrooms.liveclass_watchers", on_liveclass_watchers)


# classrooms/realtime.py imports this module from ``ClassroomsConfig.ready()``.
connect_events()
