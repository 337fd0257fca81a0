"""Chat threads: replies under a root, counts, follow/mute, unread, notices, permissions,
REST and the gateway (resume with ``since``, a removed member)."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from notifications.models import Notification

from hub.api import RateLimited
from messaging import selectors, services
from messaging.models import Message, ThreadFollow


def send(user, conversation, body="hi", **kw):
    return services.message_send(sender=user, conversation=conversation, body=body, **kw)


def unread_of(user, root):
    follows = {f.root_id: f.unread for f in selectors.threads_for(user=user)}
    return follows.get(root.pk)


# -- services ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_reply_goes_in_the_roots_thread_not_in_the_conversation(group, learner, learner2):
    root = send(learner, group, "question?")
    reply = send(learner2, group, "answer", thread=root.pk)
    again = send(learner, group, "thanks", thread=reply.pk)  # a reply's thread is its root's
    assert reply.thread_root_id == again.thread_root_id == root.pk
    root.refresh_from_db()
    assert root.reply_count == 2 and root.last_reply_at is not None
    page = selectors.messages_page(conversation=group)
    assert [m.pk for m in page] == [root.pk]
    assert [m.pk for m in selectors.thread_replies(root=root)] == [reply.pk, again.pk]
    payload = selectors.message_payload(
        selectors.get_message(conversation=group, message_id=root.pk)
    )
    assert payload["in_thread"] is False
    assert payload["thread"]["reply_count"] == 2 and payload["thread"]["root"] == root.pk
    reply_payload = selectors.message_payload(again)
    assert reply_payload["in_thread"] is True and reply_payload["thread"]["reply_count"] == 2


@pytest.mark.django_db
def test_quote_replies_stay_in_the_conversation(group, learner, learner2):
    root = send(learner, group, "question?")
    quote = send(learner2, group, "quoting", reply_to=root.pk)
    assert quote.thread_root_id is None
    root.refresh_from_db()
    assert root.reply_count == 0
    assert [m.pk for m in selectors.messages_page(conversation=group)] == [root.pk, quote.pk]
    # Both at once: a quote of a main-line message, inside a thread.
    both = send(learner2, group, "in thread, quoting", thread=root.pk, reply_to=quote.pk)
    assert both.thread_root_id == root.pk and both.reply_to_id == quote.pk


@pytest.mark.django_db
def test_bad_thread_references_change_nothing(group, direct, learner, learner2):
    other = send(learner, direct, "elsewhere")
    root = send(learner, group, "root")
    with pytest.raises(ValidationError):
        send(learner, group, "x", thread=other.pk)  # a message of another conversation
    with pytest.raises(ValidationError):
        send(learner, group, "x", thread=10**12)
    services.message_delete(actor=learner, message=root)
    with pytest.raises(ValidationError):
        send(learner2, group, "x", thread=root.pk)  # a deleted root takes no replies
    root.refresh_from_db()
    assert root.reply_count == 0
    assert not Message.objects.filter(thread_root__isnull=False).exists()
    assert not ThreadFollow.objects.exists()


@pytest.mark.django_db
def test_outsider_cannot_reply_follow_or_read(group, learner, outsider):
    root = send(learner, group, "root")
    with pytest.raises(PermissionDenied):
        send(outsider, group, "x", thread=root.pk)
    with pytest.raises(PermissionDenied):
        services.thread_follow_set(user=outsider, root=root, state="following")
    with pytest.raises(PermissionDenied):
        services.thread_mark_read(user=outsider, root=root, last_read_id=root.pk)
    root.refresh_from_db()
    assert root.reply_count == 0 and not ThreadFollow.objects.exists()


@pytest.mark.django_db
@override_settings(LYCEUM_MESSAGING={"RATE_COUNT": 3, "RATE_SECONDS": 60})
def test_thread_floods_are_throttled_like_messages(group, learner):
    root = send(learner, group, "root")
    send(learner, group, "1", thread=root.pk)
    send(learner, group, "2", thread=root.pk)
    with pytest.raises(RateLimited):
        send(learner, group, "3", thread=root.pk)
    root.refresh_from_db()
    assert root.reply_count == 2


@pytest.mark.django_db
def test_retried_reply_is_stored_and_counted_once(group, learner, learner2):
    root = send(learner, group, "root")
    cid = uuid.uuid4()
    first = send(learner2, group, "hi", thread=root.pk, client_id=cid)
    again = send(learner2, group, "hi", thread=root.pk, client_id=cid)
    assert first.pk == again.pk
    root.refresh_from_db()
    assert root.reply_count == 1


@pytest.mark.django_db
def test_posting_or_being_mentioned_follows_and_unread_counts(group, trainer, learner, learner2):
    root = send(trainer, group, "root")
    send(learner, group, "first reply", thread=root.pk)
    # The poster and the root's author follow; learner2 neither posted nor was mentioned.
    states = dict(ThreadFollow.objects.values_list("user_id", "state"))
    assert states == {trainer.pk: "following", learner.pk: "following"}
    assert unread_of(trainer, root) == 1 and unread_of(learner, root) == 0
    assert unread_of(learner2, root) is None
    send(learner, group, "@learner2 what do you think?", thread=root.pk)
    assert unread_of(learner2, root) == 2
    reply = send(learner2, group, "agreed", thread=root.pk)
    assert unread_of(learner2, root) == 0  # read up to one's own reply
    assert unread_of(trainer, root) == 3
    services.thread_mark_read(user=trainer, root=root, last_read_id=reply.pk)
    assert unread_of(trainer, root) == 0
    # Thread replies are not unread messages of the conversation.
    assert selectors.unread_counts(user=trainer)[group.pk] == 0


@pytest.mark.django_db
def test_read_marker_never_goes_back_and_stops_at_the_last_reply(group, learner, learner2):
    root = send(learner, group, "root")
    reply = send(learner2, group, "r", thread=root.pk)
    assert services.thread_mark_read(user=learner, root=root, last_read_id=10**15) == reply.pk
    assert services.thread_mark_read(user=learner, root=root, last_read_id=1) == reply.pk
    # Reading through a reply names its root's thread.
    assert services.thread_mark_read(user=learner, root=reply, last_read_id=reply.pk) == reply.pk


@pytest.mark.django_db
def test_reading_an_unfollowed_thread_does_not_follow_it(group, learner, learner2, trainer):
    root = send(learner, group, "root")
    send(learner2, group, "r", thread=root.pk)
    services.thread_mark_read(user=trainer, root=root, last_read_id=root.pk)
    assert ThreadFollow.objects.get(user=trainer).state == "none"
    assert unread_of(trainer, root) is None


@pytest.mark.django_db
def test_mute_is_kept_when_posting_and_unfollow_is_not(group, learner, learner2, trainer):
    root = send(learner, group, "root")
    send(learner2, group, "r", thread=root.pk)
    services.thread_follow_set(user=learner, root=root, state="muted")
    services.thread_follow_set(user=learner2, root=root, state="none")
    send(learner, group, "@learner2 again", thread=root.pk)
    states = dict(ThreadFollow.objects.values_list("user_id", "state"))
    assert states[learner.pk] == "muted" and states[learner2.pk] == "following"
    assert unread_of(learner, root) is None  # muted threads are not listed
    with pytest.raises(ValidationError):
        services.thread_follow_set(user=learner, root=root, state="loud")


@pytest.mark.django_db
def test_followers_are_notified_muted_and_present_are_not(
    group, trainer, learner, learner2, run_tasks, monkeypatch, published
):
    root = send(trainer, group, "root")
    send(learner, group, "r1", thread=root.pk)
    send(learner2, group, "r2", thread=root.pk)
    run_tasks()
    thread_notices = Notification.objects.filter(data__kind="chat_thread")
    # trainer (root author) of r1 and r2, learner (poster of r1) of r2.
    assert sorted(thread_notices.values_list("recipient_id", flat=True)) == sorted(
        [trainer.pk, trainer.pk, learner.pk]
    )
    assert f"?thread={root.pk}" in thread_notices.first().data["url"]
    # Thread replies do not notify every member of the group as messages do.
    assert (
        not Notification.objects.filter(data__kind="chat_message")
        .exclude(recipient__in=[learner, learner2])
        .exists()
    )
    assert not Notification.objects.filter(
        data__kind="chat_message", description__in=["r1", "r2"]
    ).exists()
    # Each follower's tabs heard their unread count.
    states = [e.data for e in published(trainer.topic) if e.type == "messaging.thread"]
    assert states[-1]["root"] == root.pk and states[-1]["unread"] == 2
    Notification.objects.all().delete()
    services.thread_follow_set(user=trainer, root=root, state="muted")
    monkeypatch.setattr(services, "present_user_ids", lambda topic: {learner2.pk})
    send(learner, group, "r3", thread=root.pk)  # learner2 follows (posted) but is looking
    run_tasks()
    assert not Notification.objects.filter(data__kind="chat_thread").exists()


@pytest.mark.django_db
def test_thread_replies_in_a_course_channel_notify_followers(
    channel, trainer, learner, learner2, run_tasks
):
    root = send(trainer, channel, "root")
    send(learner, channel, "no mention here", thread=root.pk)
    run_tasks()
    assert list(
        Notification.objects.filter(data__kind="chat_thread").values_list("recipient_id", flat=True)
    ) == [trainer.pk]


@pytest.mark.django_db
def test_a_removed_member_loses_their_threads(group, trainer, learner, learner2):
    root = send(learner, group, "root")
    send(learner2, group, "r", thread=root.pk)
    assert unread_of(learner, root) == 1
    services.member_remove(actor=trainer, conversation=group, user=learner)
    assert unread_of(learner, root) is None
    with pytest.raises(PermissionDenied):
        services.thread_mark_read(user=learner, root=root, last_read_id=root.pk)
    follows = selectors.thread_followers(root=root)
    assert {f.user_id for f in follows} == {learner2.pk}


@pytest.mark.django_db
def test_send_of_a_main_line_message_makes_no_more_queries(
    channel, learner, django_assert_max_num_queries
):
    """The thread columns add nothing to a message outside a thread (see test_services)."""
    from django.db import connection

    send(learner, channel, "warm-up")
    most = 4 if connection.vendor == "postgresql" else 7
    with django_assert_max_num_queries(most):
        send(learner, channel.pk, "hello", client_id=uuid.uuid4())


# -- REST --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_rest_thread_reply_list_follow_read(api_client_for, group, learner, learner2, trainer):
    root = send(learner, group, "root")
    bob = api_client_for(learner2)
    url = f"/api/v1/conversations/{group.pk}/messages/{root.pk}/thread/"
    created = bob.post(url, {"body": "hello", "client_id": str(uuid.uuid4())}, format="json")
    assert created.status_code == 201 and created.json()["in_thread"] is True
    alice = api_client_for(learner)
    thread = alice.get(url).json()
    assert thread["root"]["id"] == root.pk and thread["root"]["thread"]["reply_count"] == 1
    assert [m["body"] for m in thread["results"]] == ["hello"]
    assert thread["follow"]["state"] == "following" and thread["follow"]["unread"] == 1
    # The thread of a reply is its root's.
    via_reply = alice.get(
        f"/api/v1/conversations/{group.pk}/messages/{created.json()['id']}/thread/"
    ).json()
    assert via_reply["root"]["id"] == root.pk
    listed = alice.get("/api/v1/chat/threads/").json()["results"]
    assert [(t["root"], t["unread"]) for t in listed] == [(root.pk, 1)]
    read = alice.post(url + "read/", {"last_read_id": created.json()["id"]}, format="json")
    assert read.json()["unread"] == 0
    muted = alice.post(url + "follow/", {"state": "muted"}, format="json")
    assert muted.json()["state"] == "muted"
    assert alice.get("/api/v1/chat/threads/").json()["results"] == []
    # The conversation's own messages do not list the reply.
    page = alice.get(f"/api/v1/conversations/{group.pk}/messages/").json()["results"]
    assert [m["id"] for m in page] == [root.pk]
    # Sent through the conversation's endpoint with ``thread``: the same.
    also = alice.post(
        f"/api/v1/conversations/{group.pk}/messages/",
        {"body": "via thread field", "thread": root.pk},
        format="json",
    )
    assert also.status_code == 201 and also.json()["thread"]["reply_count"] == 2


@pytest.mark.django_db
def test_rest_bad_input_and_other_peoples_threads(
    api_client_for, group, direct, learner, learner2, outsider, manager
):
    root = send(learner, group, "root")
    other = send(learner, direct, "direct")
    alice = api_client_for(learner)
    base = f"/api/v1/conversations/{group.pk}/messages/"
    # Another conversation's message under this conversation's URL: not found.
    assert alice.get(f"{base}{other.pk}/thread/").status_code == 404
    assert alice.post(f"{base}{other.pk}/thread/", {"body": "x"}, format="json").status_code == 400
    assert alice.post(base, {"body": "x", "thread": other.pk}, format="json").status_code == 400
    assert alice.post(base, {"body": "x", "thread": "abc"}, format="json").status_code == 400
    assert alice.post(base, {"body": "x", "thread": 2**70}, format="json").status_code == 400
    url = f"{base}{root.pk}/thread/"
    assert alice.post(url + "follow/", {"state": "loud"}, format="json").status_code == 400
    assert alice.post(url + "read/", {"last_read_id": -1}, format="json").status_code == 400
    # Someone else's conversation: as if it did not exist; a post is refused.
    stranger = api_client_for(manager)
    assert stranger.get(url).status_code == 404
    assert stranger.post(url + "follow/", {"state": "following"}, format="json").status_code == 404
    assert stranger.post(url, {"body": "x"}, format="json").status_code == 403
    root.refresh_from_db()
    assert root.reply_count == 0 and not ThreadFollow.objects.exists()


# -- over the gateway --------------------------------------------------------------------
adirect = database_sync_to_async(services.conversation_direct_open)
agroup = database_sync_to_async(services.conversation_group_create)
asend = database_sync_to_async(send)
aedit = database_sync_to_async(services.message_edit)
aremove = database_sync_to_async(services.member_remove)


@pytest.mark.django_db(transaction=True)
async def test_thread_replies_live_and_resumed_with_since(communicator_for, learner, learner2):
    direct = await adirect(user=learner, other=learner2)
    root = await asend(learner, direct, "root")
    alice, bob = await communicator_for(learner), await communicator_for(learner2)
    for ws in (alice, bob):
        assert (await ws.call("sub", topic=direct.topic))["op"] == "ok"
    reply = await alice.call(
        "act",
        topic=direct.topic,
        action="send",
        data={"body": "in thread", "thread": root.pk, "client_id": str(uuid.uuid4())},
    )
    assert reply["op"] == "ok" and reply["data"]["in_thread"] is True
    event = await bob.next_event(type="message.created")
    assert event["id"] == reply["data"]["id"]
    assert event["data"]["thread"] == {
        "root": root.pk,
        "reply_count": 1,
        "last_reply_at": event["data"]["thread"]["last_reply_at"],
    }
    seen = event["id"]
    await bob.close()
    # While bob is away: two replies, an edit of the first, a main-line message.
    second = await asend(learner, direct, "second", thread=root.pk)
    first = await database_sync_to_async(Message.objects.get)(pk=seen)
    await aedit(editor=learner, message=first, body="in thread, fixed")
    main = await asend(learner, direct, "main line")
    bob = await communicator_for(learner2)
    resumed = await bob.call("sub", topic=direct.topic, since=seen)
    assert resumed["op"] == "ok" and resumed["data"]["truncated"] is False
    replayed = [
        (e["type"], e["data"]["id"], e["data"]["in_thread"]) for e in bob.events if "id" in e
    ]
    assert replayed == [
        ("message.created", second.pk, True),
        ("message.edited", seen, True),
        ("message.created", main.pk, False),
    ]
    # Nothing doubled: the same since again replays the same events, once each.
    bob.events.clear()
    await bob.call("sub", topic=direct.topic, since=main.pk)
    assert [e for e in bob.events if "id" in e] == []


@pytest.mark.django_db(transaction=True)
async def test_thread_actions_and_bad_frames(communicator_for, trainer, learner, learner2):
    group = await agroup(creator=trainer, title="G", members=[learner, learner2])
    root = await asend(trainer, group, "root")
    ws = await communicator_for(learner)
    await ws.call("sub", topic=group.topic)
    for data in (
        {"body": "x", "thread": "nope"},
        {"body": "x", "thread": -3},
        {"body": "x", "thread": 10**12},
    ):
        frame = await ws.call("act", topic=group.topic, action="send", data=data)
        assert frame["op"] == "error" and frame["code"] in ("invalid", "not_found"), frame
    bad = await ws.call(
        "act", topic=group.topic, action="thread_follow", data={"thread": root.pk, "state": "x"}
    )
    assert bad["code"] == "invalid"
    ok = await ws.call(
        "act",
        topic=group.topic,
        action="thread_follow",
        data={"thread": root.pk, "state": "following"},
    )
    assert ok["op"] == "ok" and ok["data"] == {"root": root.pk, "state": "following"}
    read = await ws.call(
        "act",
        topic=group.topic,
        action="thread_read",
        data={"thread": root.pk, "last_read_id": root.pk},
    )
    assert read["op"] == "ok"
    assert await database_sync_to_async(Message.objects.filter(thread_root=root).count)() == 0


@pytest.mark.django_db(transaction=True)
async def test_removed_member_gets_no_more_thread_replies(
    communicator_for, trainer, learner, learner2
):
    group = await agroup(creator=trainer, title="G", members=[learner, learner2])
    root = await asend(trainer, group, "root")
    ws = await communicator_for(learner2)
    await ws.call("sub", topic=group.topic)
    await asend(learner, group, "before", thread=root.pk)
    assert (await ws.next_event(type="message.created"))["data"]["in_thread"] is True
    await aremove(actor=trainer, conversation=group, user=learner2)
    await ws.next_event(type="unsubscribed")
    await asend(learner, group, "after", thread=root.pk)
    ws.events = [e for e in ws.events if e["type"] not in ("member.updated",)]
    assert not [e for e in ws.events if e["type"] == "message.created"]
    again = await ws.call("sub", topic=group.topic, since=0)
    assert again["code"] == "forbidden"
    follow = await ws.call(
        "act",
        topic=group.topic,
        action="thread_follow",
        data={"thread": root.pk, "state": "following"},
    )
    assert follow["code"] == "forbidden"
