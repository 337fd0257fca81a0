"""Real WebRTC through a real server: aiortc peers join ``/ws/`` of a daphne process.

The trainer publishes a generated video (320x240, 15 fps, a colour counter) and a 440 Hz
tone; a learner subscribes and receives *decoded* frames relayed by the server's
``MediaRelay``. Also over the real socket: a non-participant is refused, a malformed offer
is ``invalid``, and leaving closes the server's peer connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bench.liveclass_peers import (
    ActError,
    CounterVideoTrack,
    GatewaySocket,
    Peer,
    ToneAudioTrack,
    wait_until,
)
from tests.live_server import LiveServer, api_token, live_environment, running_server

# Creates a started class in the demo space that the trainer and the learner have joined
# (learner2, a member of the space, has not).
MAKE_CLASS = """
from classrooms import services
from hub.accounts.models import User
from hub.accounts.selectors import spaces_of
trainer = User.objects.get(username="trainer")
space = next(s for s in spaces_of(user=trainer) if s.slug == "demo")
live = services.liveclass_create(actor=trainer, space=space, title="Media check")
services.liveclass_start(actor=trainer, live_class=live)
for name in ("trainer", "learner"):
    services.liveclass_join(user=User.objects.get(username=name), live_class=live)
print("CLASS", live.pk)
"""


@dataclass
class Room:
    server: LiveServer
    topic: str
    tokens: dict[str, str]

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/ws/"

    def socket(self, username: str) -> GatewaySocket:
        return GatewaySocket(self.ws_url, self.tokens[username])


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Room]:
    with live_environment(tmp_path_factory.mktemp("live-media"), label="media") as live:
        output = live.manage("shell", "-c", MAKE_CLASS)
        class_id = int(output.split("CLASS")[-1].strip())
        with running_server(live, name="media") as server:
            tokens = {
                name: api_token(server.url, name) for name in ("trainer", "learner", "learner2")
            }
            yield Room(server=server, topic=f"classrooms.liveclass.{class_id}", tokens=tokens)


def test_a_learner_receives_the_trainers_decoded_video_and_tone(room: Room) -> None:
    async def scenario() -> None:
        async with room.socket("trainer") as coach, room.socket("learner") as learner:
            assert (await learner.call("sub", topic=room.topic))["op"] == "ok"
            trainer_peer, learner_peer = (
                Peer(coach.acter(room.topic)),
                Peer(learner.acter(room.topic)),
            )
            try:
                await trainer_peer.publish(ToneAudioTrack(), CounterVideoTrack(320, 240, 15))
                event = await learner.next_event(type="media.published", timeout=15)
                assert event["data"]["tracks"] == ["audio", "video"]
                received = await learner_peer.subscribe(event["data"]["user_id"])
                await wait_until(
                    lambda: received.video_frames >= 15 and received.audio_frames >= 25,
                    timeout=15,
                    what="decoded video and audio frames at the learner",
                )
                assert received.sizes == {(320, 240)}

                # Leaving closes the server's side of both connections: the peers see it.
                assert (await coach.call("act", topic=room.topic, action="media.leave"))[
                    "op"
                ] == "ok"
                gone = await learner.next_event(type="media.unpublished", timeout=10)
                assert gone["data"] == {"user_id": event["data"]["user_id"]}
                pcs = [*trainer_peer.connections.values(), *learner_peer.connections.values()]
                await wait_until(
                    lambda: all(pc.connectionState == "closed" for pc in pcs),
                    timeout=10,
                    what="the server to close its peer connections",
                )
            finally:
                await trainer_peer.close()
                await learner_peer.close()

    asyncio.run(scenario())


def test_over_the_real_socket_outsiders_and_bad_offers_are_refused(room: Room) -> None:
    async def scenario() -> None:
        async with room.socket("learner2") as stranger, room.socket("learner") as learner:
            peer = Peer(stranger.acter(room.topic))
            with pytest.raises(ActError) as refused:
                await peer.publish(CounterVideoTrack())
            assert refused.value.code == "forbidden"
            await peer.close()
            for data in ({"sdp": "v=0\r\nnot a session"}, {"sdp": ["v=0"]}, {}):
                reply = await learner.call(
                    "act", topic=room.topic, action="media.publish", data=data
                )
                assert reply["op"] == "error" and reply["code"] == "invalid", reply
            # The socket is fine after the refusals.
            assert (await learner.call("ping"))["op"] == "ok"

    asyncio.run(scenario())
