"""Redis down (issue 13, item 8): a deliberate degradation, never an HTML 500 or `internal`.

Redis is "stopped" from the test's point of view only: the cache, the channel layer or the
rank store are pointed at a closed port (the real server is shared with other tests).
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from channels.db import database_sync_to_async
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError

from hub.realtime import publishing
from hub.realtime.fanout import get_fanout
from hub.realtime.writers import CLOSE_UNAVAILABLE
from leaderboards import ranks
from leaderboards import services as points
from leaderboards.models import Reason
from messaging.models import Message
from messaging.services import conversation_direct_open, message_send
from tests.hub import topics  # noqa: F401 - registers the testing.room topic

DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def cache_down(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DOWN}
    }
    yield
    # settings restore the working cache afterwards


@pytest.fixture
def ranks_down(monkeypatch):
    store = ranks.RedisRankStore(DOWN, "lyceum-test-down:lb")
    monkeypatch.setattr(ranks, "get_store", lambda: store)
    monkeypatch.setattr(ranks, "_stale_boards", set())
    return store


@pytest.fixture
def layer_down(settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [DOWN], "prefix": "lyceum-test-down"},
        }
    }


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    """Each test sees its own outage's first warning."""
    from hub import outages

    monkeypatch.setattr(outages, "_warned", {})


def _tracebacks(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info and r.name.startswith(("hub", "lyceum"))]


# -- REST ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_rest_writes_answer_a_clear_503_and_reads_keep_working(
    api_client_for, learner, learner2, cache_down, caplog
):
    with pytest.raises(RedisConnectionError):  # the cache really is down
        cache.get("anything")
    client = api_client_for(learner)
    new_direct = {"kind": "direct", "members": [learner2.pk]}
    write = client.post("/api/v1/conversations/", new_direct, format="json")
    assert write.status_code == 503
    assert write["Content-Type"] == "application/json"
    assert write.json()["error"]["code"] == "service_unavailable"
    assert write["Retry-After"]
    read = client.get("/api/v1/me/")
    assert read.status_code == 200 and read.json()["id"] == learner.pk
    # One warning for the outage, no traceback per request.
    client.post("/api/v1/conversations/", new_direct, format="json")
    assert not _tracebacks(caplog)
    assert len([r for r in caplog.records if "Redis is unreachable" in r.getMessage()]) == 1


@pytest.mark.django_db
def test_token_endpoint_answers_503_not_500(client, learner, cache_down):
    learner.set_password("correct horse battery")
    learner.save()
    response = client.post(
        "/api/v1/auth/token/",
        {"username": learner.username, "password": "correct horse battery"},
        content_type="application/json",
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


# -- leaderboards -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_login_page_says_signing_in_is_unavailable_not_500(client, learner, cache_down):
    """The lockout's counters live in the cache: without them sign-in is refused with a
    clear message (never let through uncounted, never a 500), and nothing changes."""
    response = client.post("/accounts/login/", {"username": learner.username, "password": "x"})
    assert response.status_code == 200
    assert "Signing in is briefly unavailable" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_boards_answer_from_the_ledger_while_redis_is_down(
    api_client_for, client, learner, learner2, space, commit, ranks_down, caplog
):
    # Awards still succeed (the ledger row is the truth); the boards they touched are
    # remembered for a rebuild.
    points.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    points.points_award(user=learner2, reason=Reason.LESSON_DONE, source=space, space=space)
    commit()
    key = ranks.board_key("space", space.pk, "all")
    assert key in ranks._stale_boards
    board = api_client_for(learner2).get(f"/api/v1/leaderboards/boards/{key}/?n=5&around=1")
    assert board.status_code == 200
    body = board.json()
    assert [(e["user"]["id"], e["rank"]) for e in body["top"]] == [
        (learner.pk, 1),
        (learner2.pk, 2),
    ]
    assert body["me"]["rank"] == 2
    expected = ranks.DatabaseRankStore().top(key, 5)
    assert [(e["user"]["id"], e["score"]) for e in body["top"]] == [
        (e.user_id, e.score) for e in expected
    ]
    client.force_login(learner2)
    page = client.get("/leaderboards/")
    assert page.status_code == 200
    assert learner.name in page.content.decode()
    assert not _tracebacks(caplog)


@pytest.mark.django_db(transaction=True)
def test_boards_written_during_an_outage_are_rebuilt_when_redis_is_back(
    learner, space, settings, monkeypatch
):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (services mode)")
    down = ranks.RedisRankStore(DOWN, ranks.redis_prefix())
    monkeypatch.setattr(ranks, "get_store", lambda: down)
    monkeypatch.setattr(ranks, "_stale_boards", set())
    key = ranks.board_key("space", space.pk, "all")
    up = ranks.RedisRankStore(settings.REDIS_URL, ranks.redis_prefix())
    up.rebuild(key, [])  # an empty board in Redis
    points.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    assert up.redis.zscore(up.name(key), ranks.member(learner.pk)) is None  # missed Redis
    # Redis "comes back": the first call that reaches it rebuilds the stale boards.
    assert [(e.user_id, e.rank) for e in up.top(key, 5)] == [(learner.pk, 1)]
    assert not ranks._stale_boards


# -- the gateway ----------------------------------------------------------------------------------
pytestmark_gateway = pytest.mark.django_db(transaction=True)


@pytestmark_gateway
async def test_sub_answers_unavailable_when_the_layer_is_down(
    communicator_for, learner, layer_down, caplog
):
    ws = await communicator_for(learner)
    reply = await ws.call("sub", topic=f"hub.user.{learner.pk}", since=0)
    assert reply["op"] == "error"
    assert reply["code"] == "unavailable"
    assert not _tracebacks(caplog)
    # Not half-subscribed: a ping still works and nothing is delivered; a retry at once is
    # refused the same way (without knocking at Redis again).
    assert (await ws.call("ping"))["op"] == "ok"
    assert (await ws.call("sub", topic=f"hub.user.{learner.pk}"))["code"] == "unavailable"
    await ws.assert_silent()


@pytestmark_gateway
async def test_sockets_are_closed_with_4503_when_the_layer_fails_under_them(
    communicator_for, learner, settings, monkeypatch, caplog
):
    settings.LYCEUM_REALTIME = {
        **settings.LYCEUM_REALTIME,
        "LAYER_CHECK_SECONDS": 0.05,
        "LAYER_TIMEOUT_SECONDS": 1,
    }
    ws = await communicator_for(learner)
    assert (await ws.call("sub", topic="testing.room.1"))["op"] == "ok"
    idle = await communicator_for(learner)  # no subscription: nothing to resume, stays open
    fanout = get_fanout()

    async def refused(*args, **kwargs):
        from redis.exceptions import ConnectionError

        raise ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(fanout.layer, "send", refused)
    closed = await ws.ws.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": CLOSE_UNAVAILABLE}
    assert fanout.down
    assert (await idle.call("ping"))["op"] == "ok"
    assert not _tracebacks(caplog)
    monkeypatch.undo()  # the layer is back: the watcher notices, a new socket resumes
    for _ in range(100):
        if not fanout.down:
            break
        await asyncio.sleep(0.05)
    assert not fanout.down
    again = await communicator_for(learner)
    assert (await again.call("sub", topic="testing.room.1", since=0))["op"] == "ok"


@database_sync_to_async
def _send_three(learner, learner2) -> int:
    conversation = conversation_direct_open(user=learner, other=learner2)
    for n in range(3):
        message_send(sender=learner, conversation=conversation, body=f"m{n}")
    return conversation.pk


@pytestmark_gateway
async def test_a_message_whose_live_publish_fails_is_stored_and_said_once(
    learner, learner2, layer_down, caplog, communicator_for
):
    caplog.set_level(logging.WARNING)
    conversation_id = await _send_three(learner, learner2)
    assert (
        await database_sync_to_async(
            Message.objects.filter(conversation_id=conversation_id).count
        )()
        == 3
    )
    warnings = [r for r in caplog.records if "could not publish" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert not _tracebacks(caplog)
    assert publishing._commit_order.waiting() == 0
