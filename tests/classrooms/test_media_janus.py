"""Live-class media on Janus: aiortc peers signalled by direct calls to ``JanusBackend``.

A real Janus (Debian's package, ``deploy/janus`` configuration) forwards the publisher's
RTP to the subscriber, who decodes it: frames arrive. Janus offers subscriptions, so the
peers answer them (``media.answer``); placement over two Janus processes and a Janus killed
mid-class are here too.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ObjectDoesNotExist, ValidationError

from bench.liveclass_peers import CounterVideoTrack, Peer, ToneAudioTrack, wait_until
from classrooms.janus import JanusBackend

ROOM = "7"


def direct(backend: JanusBackend, participant: int, room: str = ROOM):
    """An ``act`` that calls the backend as the signalling layer would."""

    async def act(action: str, data: dict[str, Any]) -> dict[str, Any]:
        if action == "media.publish":
            answer = await backend.publish(room=room, participant=participant, offer=data["sdp"])
        elif action == "media.subscribe":
            answer = await backend.subscribe(
                room=room, participant=participant, publisher=data["publisher"], offer=data["sdp"]
            )
        elif action == "media.answer":
            await backend.answer(
                room=room, participant=participant, connection=data["connection"], sdp=data["sdp"]
            )
            return {}
        else:
            raise AssertionError(action)
        return answer.payload()

    return act


@pytest.fixture
async def janus(janus_server):
    backend = JanusBackend([janus_server.url])
    yield backend
    for room in list(backend.rooms):
        await backend.close_room(room=room)
    await backend.close()


async def test_a_subscriber_receives_the_publishers_video_and_audio_through_janus(janus) -> None:
    publisher, subscriber = Peer(direct(janus, 1)), Peer(direct(janus, 2))
    try:
        answer = await publisher.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        assert sorted(answer["tracks"].values()) == ["audio", "video"]
        assert [p.payload()["tracks"] for p in janus.publications(room=ROOM)] == [
            ["audio", "video"]
        ]
        received = await subscriber.subscribe(1)
        await wait_until(
            lambda: received.video_frames >= 10 and received.audio_frames >= 20,
            timeout=15,
            what="decoded frames at the subscriber, forwarded by Janus",
        )
        assert received.sizes == {(320, 240)}
        # Muting is a state the room shows; the publication stays.
        assert janus.set_state(room=ROOM, participant=1, audio=False).audio is False

        # Leaving detaches the handles: Janus closes the peers' connections.
        assert await janus.leave(room=ROOM, participant=1) is True
        assert janus.publications(room=ROOM) == []
        pcs = list(publisher.connections.values())
        await wait_until(
            lambda: all(pc.connectionState in {"closed", "failed"} for pc in pcs),
            timeout=10,
            what="Janus to hang up the publisher",
        )
    finally:
        await publisher.close()
        await subscriber.close()


async def test_bad_input_is_refused_and_changes_nothing(janus) -> None:
    with pytest.raises(ValidationError):
        await janus.publish(room=ROOM, participant=1, offer="v=0\r\nnot a session")
    with pytest.raises(ObjectDoesNotExist):
        await janus.subscribe(room=ROOM, participant=2, publisher=1, offer="")
    with pytest.raises(ObjectDoesNotExist):
        await janus.answer(room=ROOM, participant=2, connection="0" * 16, sdp="v=0\r\n")
    with pytest.raises(ObjectDoesNotExist):
        await janus.add_ice(room=ROOM, participant=2, connection="0" * 16, candidate=None)
    assert janus.publications(room=ROOM) == []
