"""Chat over the gateway: send/act, idempotent retries, order, resume, typing, bad frames."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async

from messaging import services
from messaging.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

adirect = database_sync_to_async(services.conversation_direct_open)
agroup = database_sync_to_async(services.conversation_group_create)
asend = database_sync_to_async(services.message_send)
aedit = database_sync_to_async(services.message_edit)
adelete = database_sync_to_async(services.message_delete)


async def test_non_member_cannot_subscribe_or_send(communicator_for, learner, learner2, manager):
    direct = await adirect(user=learner, other=learner2)
    ws = await communicator_for(manager)
    reply = await ws.call("sub", topic=direct.topic)
    assert reply["code"] == "forbidden"
    reply = await ws.call("act", topic=direct.topic, action="send", data={"body": "hi"})
    assert reply["code"] == "forbidden"
    reply = await ws.call("sub", topic=direct.unread_topic)
    assert reply["code"] == "forbidden"
    assert await database_sync_to_async(Message.objects.count)() == 0


async def test_send_reaches_the_other_member_once_even_when_retried(
    communicator_for, learner, learner2
):
    direct = await adirect(user=learner, other=learner2)
    alice, bob = await communicator_for(learner), await communicator_for(learner2)
    for ws in (alice, bob):
        assert (await ws.call("sub", topic=direct.topic))["op"] == "ok"
    cid = str(uuid.uuid4())
    first = await alice.call(
        "act", topic=direct.topic, action="send", data={"body": "hi", "client_id": cid}
    )
    again = await alice.call(
        "act", topic=direct.topic, action="send", data={"body": "hi", "client_id": cid}
    )
    assert first["op"] == again["op"] == "ok"
    assert first["data"]["id"] == again["data"]["id"]
    event = await bob.next_event(type="message.created")
    assert event["id"] == first["data"]["id"]
    assert event["data"]["body_html"] == "<p>hi</p>"
    bob.events = [e for e in bob.events if not e["type"].startswith("presence.")]
    await bob.assert_silent()
    assert await database_sync_to_async(Message.objects.count)() == 1


async def test_the_senders_ack_carries_the_events_payload_encoded_once(
    communicator_for, learner, learner2, monkeypatch
):
    """The ack's data is the event's data, and the payload's JSON is encoded once for
    both: the event frame and the ``ok`` reply splice the same text."""
    from hub.realtime import gateway, publishing

    direct = await adirect(user=learner, other=learner2)
    alice, bob = await communicator_for(learner), await communicator_for(learner2)
    for ws in (alice, bob):
        assert (await ws.call("sub", topic=direct.topic))["op"] == "ok"
    encoded: list[dict] = []
    real_encode = publishing.encode

    def counting_encode(frame):
        encoded.append(frame)
        return real_encode(frame)

    monkeypatch.setattr(publishing, "encode", counting_encode)
    monkeypatch.setattr(gateway, "encode", counting_encode)
    ack = await alice.call("act", topic=direct.topic, action="send", data={"body": "hello"})
    assert ack["op"] == "ok"
    event = await bob.next_event(type="message.created")
    assert event["data"] == ack["data"]
    assert event["data"]["body"] == "hello" and event["data"]["created_at"]
    # The payload (the dict with "body_html", alone or in a frame) went through the encoder
    # once: it was twice, for the event and for the reply.
    payloads = [f for f in encoded if "body_html" in f or "body_html" in f.get("data", {})]
    assert len(payloads) == 1


async def test_concurrent_retries_store_one_message(communicator_for, learner, learner2):
    direct = await adirect(user=learner, other=learner2)
    sockets = [await communicator_for(learner) for _ in range(4)]
    cid = str(uuid.uuid4())
    replies = await asyncio.gather(
        *(
            ws.call("act", topic=direct.topic, action="send", data={"body": "x", "client_id": cid})
            for ws in sockets
        )
    )
    assert {r["data"]["id"] for r in replies if r["op"] == "ok"} and all(
        r["op"] == "ok" or r["code"] == "conflict" for r in replies
    )
    assert await database_sync_to_async(Message.objects.count)() == 1


async def test_order_under_concurrent_senders(communicator_for, trainer, learner, learner2):
    group = await agroup(creator=trainer, title="G", members=[learner, learner2])
    watcher = await communicator_for(trainer)
    await watcher.call("sub", topic=group.topic)
    senders = [await communicator_for(u) for u in (learner, learner2)]

    async def burst(ws, tag):
        for i in range(8):
            reply = await ws.call(
                "act", topic=group.topic, action="send", data={"body": f"{tag}{i}"}
            )
            assert reply["op"] == "ok", reply

    await asyncio.gather(burst(senders[0], "a"), burst(senders[1], "b"))
    ids = [(await watcher.next_event(type="message.created"))["id"] for _ in range(16)]
    assert ids == sorted(ids) and len(set(ids)) == 16
    bodies = [m.body for m in await database_sync_to_async(list)(Message.objects.order_by("id"))]
    assert [b for b in bodies if b[0] == "a"] == [f"a{i}" for i in range(8)]


async def test_resume_after_disconnect_replays_missed_messages_and_edits(
    communicator_for, learner, learner2
):
    direct = await adirect(user=learner, other=learner2)
    old = await asend(sender=learner, conversation=direct, body="old")
    bob = await communicator_for(learner2)
    await bob.call("sub", topic=direct.topic, since=0)
    seen = (await bob.next_event(type="message.created"))["id"]
    assert seen == old.id
    await bob.close()
    # While bob is away: a new message, an edit of the old one, a deletion.
    new = await asend(sender=learner, conversation=direct, body="new")
    await aedit(editor=learner, message=old, body="old, fixed")
    gone = await asend(sender=learner, conversation=direct, body="gone")
    await adelete(actor=learner, message=gone)
    bob = await communicator_for(learner2)
    reply = await bob.call("sub", topic=direct.topic, since=seen)
    assert reply["op"] == "ok" and reply["data"]["truncated"] is False
    bob.events = [e for e in bob.events if "id" in e]  # durable only, not presence
    replayed = [(e["type"], e["data"]["id"]) for e in bob.events]
    assert replayed == [
        ("message.created", new.id),
        ("message.edited", old.id),
        ("message.created", gone.id),
        ("message.deleted", gone.id),
    ]
    event_ids = [e["id"] for e in bob.events]
    assert event_ids == sorted(event_ids)
    assert bob.events[1]["data"]["body"] == "old, fixed"
    # Nothing doubled: a resume from the last id replays nothing.
    bob.events.clear()
    await bob.call("sub", topic=direct.topic, since=event_ids[-1])
    # Presence frames of the re-subscription may still be on their way through Redis: wait
    # until the socket is quiet, then no durable event (one with an id) may have come.
    while not await bob.ws.receive_nothing(timeout=0.3):
        bob.events.append(await bob.receive())
    assert [e for e in bob.events if "id" in e] == []


async def test_typing_is_ephemeral_and_presence_is_tracked(communicator_for, learner, learner2):
    direct = await adirect(user=learner, other=learner2)
    alice = await communicator_for(learner)
    await alice.call("sub", topic=direct.topic)
    bob = await communicator_for(learner2)
    reply = await bob.call("sub", topic=direct.topic)
    assert {p["id"] for p in reply["data"]["present"]} == {learner.pk, learner2.pk}
    joined = await alice.next_event(
        type="presence.joined", data={"id": learner2.pk, "name": learner2.name}
    )
    assert joined["topic"] == direct.topic
    await bob.call("act", topic=direct.topic, action="typing", data={"state": "start"})
    typing = await alice.next_event(type="typing")
    assert "id" not in typing and typing["data"]["user"] == learner2.pk
    await bob.call("act", topic=direct.topic, action="status", data={"status": "away"})
    status = await alice.next_event(type="presence.status")
    assert status["data"] == {"id": learner2.pk, "status": "away"}
    await bob.close()
    left = await alice.next_event(type="presence.left")
    assert left["data"]["id"] == learner2.pk


async def test_read_receipt_reaches_the_sender(communicator_for, learner, learner2):
    direct = await adirect(user=learner, other=learner2)
    alice = await communicator_for(learner)
    await alice.call("sub", topic=direct.topic)
    sent = await alice.call("act", topic=direct.topic, action="send", data={"body": "seen?"})
    bob = await communicator_for(learner2)
    reply = await bob.call(
        "act", topic=direct.topic, action="read", data={"last_read_id": sent["data"]["id"]}
    )
    assert reply["data"] == {"last_read_id": sent["data"]["id"]}
    receipt = await alice.next_event(type="read.updated")
    assert receipt["data"] == {"user": learner2.pk, "last_read_id": sent["data"]["id"]}


async def test_unread_facet_tells_the_navigation_without_the_text(
    communicator_for, learner, learner2
):
    direct = await adirect(user=learner, other=learner2)
    bob = await communicator_for(learner2)
    reply = await bob.call("sub", topic=direct.unread_topic)
    assert "present" not in reply["data"]  # not "looking at" the conversation
    await asend(sender=learner, conversation=direct, body="secret")
    event = await bob.next_event(type="message.new")
    assert set(event["data"]) == {"conversation", "id", "sender"}


@pytest.mark.parametrize(
    ("action", "data", "code"),
    [
        ("send", {"body": "x" * 10_001}, "invalid"),
        ("send", {"body": "hi", "client_id": "not-a-uuid"}, "invalid"),
        ("send", {}, "invalid"),
        ("edit", {"message": 10**9, "body": "x"}, "not_found"),
        ("react", {"message": "x", "emoji": "y"}, "invalid"),
        ("typing", {"state": "dancing"}, "invalid"),
        ("nope", {}, "not_found"),
    ],
)
async def test_bad_actions_get_errors_and_the_socket_survives(
    communicator_for, learner, learner2, action, data, code
):
    direct = await adirect(user=learner, other=learner2)
    ws = await communicator_for(learner)
    reply = await ws.call("act", topic=direct.topic, action=action, data=data)
    assert reply["op"] == "error" and reply["code"] == code, reply
    assert (await ws.call("ping"))["op"] == "ok"


async def test_rate_limit_answers_rate_limited(communicator_for, learner, learner2, settings):
    settings.LYCEUM_MESSAGING = {"RATE_COUNT": 2, "RATE_SECONDS": 60}
    direct = await adirect(user=learner, other=learner2)
    ws = await communicator_for(learner)
    codes = [
        (await ws.call("act", topic=direct.topic, action="send", data={"body": "x"})).get("code")
        for _ in range(3)
    ]
    assert codes == [None, None, "rate_limited"]


async def test_removed_member_cannot_post_over_an_open_socket(
    communicator_for, trainer, learner, learner2
):
    group = await agroup(creator=trainer, title="G", members=[learner, learner2])
    ws = await communicator_for(learner)
    await ws.call("sub", topic=group.topic)
    await database_sync_to_async(services.member_remove)(
        actor=trainer, conversation=group, user=learner
    )
    reply = await ws.call("act", topic=group.topic, action="send", data={"body": "still here?"})
    assert reply["code"] == "forbidden"
    # The open socket stopped receiving the conversation at once.
    assert (await ws.next_event(topic=group.topic, type="unsubscribed"))["data"] == {}
    ws.events.clear()  # what arrived before the revocation
    await database_sync_to_async(services.message_send)(
        sender=learner2, conversation=group, body="you cannot read this"
    )
    await ws.assert_silent(within=0.3)
    assert (await ws.call("sub", topic=group.topic))["code"] == "forbidden"
