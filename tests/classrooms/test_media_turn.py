"""TURN credentials per join (the shared-secret REST scheme coturn checks with
``use-auth-secret``): ``<expiry>:<user id>`` and the base64 HMAC-SHA1 of it, made when the
page asks for its media settings, valid ``LYCEUM_TURN_TTL`` seconds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from channels.db import database_sync_to_async

from classrooms import services
from classrooms.media import turn_credentials
from tests.factories import build_live_class


@pytest.fixture
def turn(settings):
    settings.LYCEUM_TURN = {"URLS": ["turn:turn.example.org:3478"], "SECRET": "s3cret", "TTL": 600}


def test_credentials_follow_the_shared_secret_scheme(turn) -> None:
    server = turn_credentials(42, now=1_000_000)
    assert server["urls"] == ["turn:turn.example.org:3478"]
    assert server["username"] == "1000600:42"  # valid until now + TTL
    expected = hmac.new(b"s3cret", b"1000600:42", hashlib.sha1).digest()
    assert base64.b64decode(server["credential"]) == expected


def test_no_turn_without_a_secret(settings) -> None:
    settings.LYCEUM_TURN = {"URLS": ["turn:turn.example.org:3478"], "SECRET": "", "TTL": 600}
    assert turn_credentials(42) is None


@pytest.mark.django_db(transaction=True)
async def test_each_participant_gets_their_own_credentials_with_the_media_settings(
    turn, communicator_for, trainer, learner, space
) -> None:
    @database_sync_to_async
    def live():
        built = build_live_class(trainer=trainer, space=space, learners=[learner])
        services.liveclass_join(user=learner, live_class=built.live_class)
        return built.live_class

    live_class = await live()
    names = []
    for user in (trainer, learner):
        ws = await communicator_for(user)
        reply = await ws.call("act", topic=live_class.topic, action="media.list", data={})
        assert reply["op"] == "ok", reply
        server = reply["data"]["ice_servers"][-1]
        expiry, user_id = server["username"].split(":")
        assert int(user_id) == user.pk and 590 <= int(expiry) - time.time() <= 610
        names.append(server["username"])
    assert names[0] != names[1]
