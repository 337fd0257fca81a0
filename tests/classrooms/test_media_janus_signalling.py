"""Media signalling over the gateway with Janus as the backend (``LYCEUM_JANUS_URLS``).

The same ``media.*`` actions and events as with the relay; a subscription is offered by
Janus and answered with ``media.answer``; frames reach the learner's aiortc peer.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.liveclass_peers import ActError, CounterVideoTrack, Peer, ToneAudioTrack, wait_until
from classrooms.media import media_backend, reset_media_backend
from tests.classrooms.test_media_signalling import act, live_class_with, offer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def janus_media(settings, janus_server):
    settings.LYCEUM_MEDIA = {**settings.LYCEUM_MEDIA, "BACKEND": "classrooms.janus.JanusBackend"}
    settings.LYCEUM_JANUS = {**settings.LYCEUM_JANUS, "URLS": [janus_server.url]}
    reset_media_backend()
    yield
    backend = media_backend()
    for room in list(getattr(backend, "rooms", {})):
        await backend.close_room(room=room)
    await backend.close()
    reset_media_backend()


def acter(ws, topic: str):
    async def call(action: str, data: dict[str, Any]) -> dict[str, Any]:
        reply = await act(ws, topic, action, data)
        if reply["op"] != "ok":
            raise ActError(reply)
        return reply["data"]

    return call


async def test_publish_subscribe_answer_toggle_and_leave_through_janus(
    communicator_for, janus_media, trainer, learner, space
) -> None:
    live_class = await live_class_with(trainer, space, learner)
    topic = live_class.topic
    watcher = await communicator_for(learner)
    assert (await watcher.call("sub", topic=topic))["op"] == "ok"
    coach = await communicator_for(trainer)
    trainer_peer, learner_peer = Peer(acter(coach, topic)), Peer(acter(watcher, topic))
    try:
        answer = await trainer_peer.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
        assert answer["type"] == "answer" and answer["publishers"] == []
        # Announced at once, though Janus lists a publisher only once its media is up.
        event = await watcher.next_event(type="media.published", timeout=10)
        assert event["data"]["user_id"] == trainer.pk
        assert event["data"]["tracks"] == ["audio", "video"]

        received = await learner_peer.subscribe(trainer.pk)
        await wait_until(
            lambda: received.video_frames >= 10, timeout=15, what="frames through Janus"
        )
        listed = await act(watcher, topic, "media.list", {})
        assert [p["user_id"] for p in listed["data"]["publishers"]] == [trainer.pk]

        reply = await act(coach, topic, "media.toggle", {"audio": False})
        assert reply["data"] == {"audio": False, "video": True, "screen": False}
        event = await watcher.next_event(type="media.toggled")
        assert event["data"]["audio"] is False

        # Someone else's connection, an unknown one, a publication: no answer accepted.
        subscription = next(iter(learner_peer.connections))
        sdp = (await offer()).replace("a=setup:actpass", "a=setup:active")
        for ws, connection in ((coach, subscription), (watcher, "0" * 16)):
            reply = await act(ws, topic, "media.answer", {"connection": connection, "sdp": sdp})
            assert reply["code"] == "not_found", reply
        reply = await act(
            coach, topic, "media.answer", {"connection": answer["connection"], "sdp": sdp}
        )
        assert reply["code"] == "invalid", reply

        assert (await act(coach, topic, "media.leave", {}))["op"] == "ok"
        event = await watcher.next_event(type="media.unpublished")
        assert event["data"] == {"user_id": trainer.pk}
        assert media_backend().publications(room=str(live_class.pk)) == []
    finally:
        await trainer_peer.close()
        await learner_peer.close()
