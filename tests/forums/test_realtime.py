"""Topics forums.thread.<id> and forums.forum.<id> through the real gateway."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.test import override_settings

from forums import services
from forums.models import ThreadEvent
from tests.forums.conftest import age

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _setup(thread, learner2):
    age(learner2)
    return thread.posts.first()


async def test_post_by_one_reaches_the_other_live(communicator_for, thread, learner, learner2):
    await _setup(thread, learner2)
    reader = await communicator_for(learner)
    writer = await communicator_for(learner2)
    assert (await reader.call("sub", topic=thread.topic))["op"] == "ok"
    reply = await writer.call("act", topic=thread.topic, action="post", data={"body": "**hey**"})
    assert reply["op"] == "ok" and reply["data"]["body_html"] == "<p><strong>hey</strong></p>"
    event = await reader.next_event(type="post.created")
    assert event["data"]["id"] == reply["data"]["id"]
    assert isinstance(event["id"], int)


async def test_reconnect_replays_edits_reactions_and_hides_in_order(
    communicator_for, thread, learner, learner2, trainer
):
    first = await _setup(thread, learner2)
    since = await database_sync_to_async(
        lambda: ThreadEvent.objects.filter(thread=thread).latest("id").pk
    )()

    @database_sync_to_async
    def meanwhile():
        services.post_edit(editor=learner, post=first, body="edited")
        services.post_react(user=learner2, post=first, emoji="heart")
        reply = services.post_create(author=learner2, thread=thread, body="secret words")
        services.post_hide(moderator=trainer, post=reply, reason="spam")
        return reply

    reply = await meanwhile()
    ws = await communicator_for(learner)
    ok = await ws.call("sub", topic=thread.topic, since=since)
    assert ok["data"]["truncated"] is False
    types = [(e["type"], e["data"].get("id")) for e in ws.events]
    assert types == [
        ("post.updated", first.pk),
        ("reaction.changed", first.pk),
        ("post.created", reply.pk),
        ("post.hidden", reply.pk),
    ]
    ids = [e["id"] for e in ws.events]
    assert ids == sorted(ids) and ids[0] > since
    # The replayed creation shows the post as it is now: hidden, without its text.
    assert "secret" not in str(ws.events)


async def test_outsider_may_not_subscribe(communicator_for, thread, outsider):
    ws = await communicator_for(outsider)
    reply = await ws.call("sub", topic=thread.topic)
    assert reply["code"] == "forbidden"
    reply = await ws.call("act", topic=thread.topic, action="post", data={"body": "x"})
    assert reply["code"] == "forbidden"


async def test_typing_is_ephemeral(communicator_for, thread, learner, learner2):
    await _setup(thread, learner2)
    reader = await communicator_for(learner)
    writer = await communicator_for(learner2)
    await reader.call("sub", topic=thread.topic)
    await writer.call("act", topic=thread.topic, action="typing", data={})
    event = await reader.next_event(type="typing")
    assert "id" not in event and event["data"]["user"]["id"] == learner2.pk


async def test_invalid_and_rate_limited_posts(communicator_for, thread, learner2):
    await _setup(thread, learner2)
    ws = await communicator_for(learner2)
    reply = await ws.call("act", topic=thread.topic, action="post", data={"body": ""})
    assert reply["code"] == "invalid"
    with override_settings(LYCEUM_FORUMS={"POSTS_PER_MINUTE": 1}):
        ok = await ws.call("act", topic=thread.topic, action="post", data={"body": "one"})
        assert ok["op"] == "ok"
        reply = await ws.call("act", topic=thread.topic, action="post", data={"body": "two"})
        assert reply["code"] == "rate_limited"


async def test_forum_topic_replays_new_threads(communicator_for, forum, learner, learner2):
    @database_sync_to_async
    def open_thread():
        age(learner2)
        return services.thread_create(author=learner2, forum=forum, title="Live", body="x")

    thread = await open_thread()
    ws = await communicator_for(learner)
    await ws.call("sub", topic=forum.topic, since=0)
    assert [(e["type"], e["id"]) for e in ws.events] == [("thread.created", thread.pk)]
