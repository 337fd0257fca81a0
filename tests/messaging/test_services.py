"""Chat services: membership and permissions, idempotency, edits, reads, safety."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from notifications.models import Notification

from hub import events
from messaging import selectors, services
from messaging.models import Conversation, ConversationEvent, Membership, Message, Report

pytestmark = pytest.mark.django_db


def send(user, conversation, body="hi", **kw):
    return services.message_send(sender=user, conversation=conversation, body=body, **kw)


# -- membership and permissions ------------------------------------------------------------
def test_direct_conversation_is_unique_per_pair(direct, learner, learner2):
    again = services.conversation_direct_open(user=learner2, other=learner)
    assert again.pk == direct.pk
    assert set(selectors.member_ids(conversation=direct)) == {learner.pk, learner2.pk}


def test_cannot_open_a_direct_conversation_with_someone_outside_my_spaces(learner, outsider):
    with pytest.raises(PermissionDenied):
        services.conversation_direct_open(user=learner, other=outsider)


def test_only_members_read_or_post(group, outsider, manager):
    assert not selectors.can_read(user=outsider, conversation=group)
    with pytest.raises(PermissionDenied):
        send(outsider, group)
    with pytest.raises(PermissionDenied):
        send(manager, group)


def test_group_admin_adds_and_removes_members_others_cannot(group, trainer, learner, manager):
    with pytest.raises(PermissionDenied):
        services.member_add(actor=learner, conversation=group, user=manager)
    services.member_add(actor=trainer, conversation=group, user=manager)
    assert selectors.can_read(user=manager, conversation=group)
    services.member_remove(actor=trainer, conversation=group, user=manager)
    assert not selectors.can_read(user=manager, conversation=group)
    with pytest.raises(PermissionDenied):
        send(manager, group)


def test_suspended_member_reads_but_cannot_post(group, trainer, learner):
    services.member_suspend(actor=trainer, conversation=group, user=learner)
    assert selectors.can_read(user=learner, conversation=group)
    with pytest.raises(PermissionDenied):
        send(learner, group)
    services.member_suspend(actor=trainer, conversation=group, user=learner, suspended=False)
    send(learner, group)


def test_deactivated_user_cannot_post(direct, learner):
    learner.is_active = False
    learner.save()
    with pytest.raises(PermissionDenied):
        send(learner, direct)


def test_blocking_stops_direct_messages_both_ways(direct, learner, learner2):
    services.user_block(blocker=learner2, blocked=learner)
    with pytest.raises(PermissionDenied):
        send(learner, direct)
    with pytest.raises(PermissionDenied):
        send(learner2, direct)
    services.user_unblock(blocker=learner2, blocked=learner)
    send(learner, direct)


def test_blocking_does_not_silence_groups(group, learner, learner2):
    services.user_block(blocker=learner2, blocked=learner)
    send(learner, group)


# -- course channel follows enrolment ------------------------------------------------------
def test_course_channel_follows_enrolment_idempotently(course, channel, learner, trainer):
    assert selectors.membership_of(user=trainer, conversation=channel).role == "admin"
    services.on_enrolled(user=learner, course=course)  # twice: nothing changes
    assert channel.memberships.filter(user=learner).count() == 1
    services.on_unenrolled(user=learner, course=course)
    services.on_unenrolled(user=learner, course=course)
    assert not selectors.can_read(user=learner, conversation=channel)
    services.on_enrolled(user=learner, course=course)
    assert selectors.can_read(user=learner, conversation=channel)
    assert Conversation.objects.filter(kind="course", course_id=course.pk).count() == 1


def test_domain_events_reach_the_handlers(course, learner2, commit):
    events.emit("classrooms.enrolled", user=learner2, course=course)
    commit()
    channel = Conversation.objects.get(course_id=course.pk)
    assert selectors.can_read(user=learner2, conversation=channel)


def test_live_class_chat_is_made_once(trainer, learner):
    chat = services.live_class_chat_open(key="activity-7", title="Live: intro")
    assert services.live_class_chat_open(key="activity-7", title="x").pk == chat.pk
    services.live_class_chat_join(conversation=chat, user=trainer, host=True)
    services.live_class_chat_join(conversation=chat, user=learner)
    send(learner, chat)
    assert chat.kind == "live_class"


# -- sending -------------------------------------------------------------------------------
def test_retry_with_same_client_id_stores_and_publishes_once(direct, learner, published):
    cid = uuid.uuid4()
    first = send(learner, direct, client_id=cid)
    again = send(learner, direct, client_id=cid)
    assert again.id == first.id
    assert Message.objects.count() == 1
    assert [e.type for e in published(direct.topic)] == ["message.created"]
    assert published(direct.topic)[0].id == first.id


def test_retry_is_caught_by_the_unique_constraint_and_changes_nothing(direct, learner, published):
    cid = uuid.uuid4()
    first = send(learner, direct, "once", client_id=cid)
    direct.refresh_from_db()
    last_event = direct.last_event_id
    again = send(learner, direct, "once", client_id=cid)
    assert selectors.message_payload(again) == selectors.message_payload(first)
    assert ConversationEvent.objects.filter(conversation=direct).count() == 1
    direct.refresh_from_db()
    assert direct.last_event_id == last_event  # the retry's event row was rolled back
    assert len(published(direct.topic)) == 1


def test_client_id_reused_in_another_conversation_is_invalid(direct, group, learner):
    cid = uuid.uuid4()
    send(learner, direct, client_id=cid)
    with pytest.raises(ValidationError):
        send(learner, group, client_id=cid)
    assert not Message.objects.filter(conversation=group).exists()
    assert not ConversationEvent.objects.filter(conversation=group).exists()


def test_send_by_conversation_id_checks_membership(group, outsider, learner):
    assert send(learner, group.pk).conversation_id == group.pk
    with pytest.raises(PermissionDenied):
        send(outsider, group.pk)
    with pytest.raises(PermissionDenied):
        send(learner, 10**9)


def test_conversation_read_with_the_membership_matches_the_stored_row(group, learner):
    send(learner, group.pk, "first")
    message = send(learner, group.pk, "second")
    stored = Conversation.objects.get(pk=group.pk)
    fields = [f.attname for f in Conversation._meta.concrete_fields]
    assert {f: getattr(message.conversation, f) for f in fields} == {
        f: getattr(stored, f) for f in fields
    }
    assert stored.last_event_id == message.id


def test_send_makes_few_queries(channel, learner, django_assert_max_num_queries):
    """Membership, conversation and rate in one read; on PostgreSQL the order lock, event,
    message and conversation update in one statement; no re-read for the payload."""
    send(learner, channel, "warm-up")
    # Inside the test's transaction the service's own transaction is a savepoint (2 more).
    most = 4 if connection.vendor == "postgresql" else 7
    with django_assert_max_num_queries(most):
        message = send(learner, channel.pk, "hello", client_id=uuid.uuid4())
        payload = selectors.message_payload(message)
    assert payload["body"] == "hello" and payload["reactions"] == []


def test_a_sends_events_leave_in_one_batch(channel, learner):
    """The conversation's event and the unread feed's go to the layer together: one
    on-commit callback, one hand-off to the event loop, one Redis round trip."""
    from hub.realtime.publishing import _OnCommit

    before = len(connection.run_on_commit)
    send(learner, channel.pk, "hello", client_id=uuid.uuid4())
    batches = [
        callback.slots
        for _sids, callback, _robust in connection.run_on_commit[before:]
        if isinstance(callback, _OnCommit)
    ]
    assert [[slot.topic for slot in slots] for slots in batches] == [
        [channel.topic, channel.unread_topic]
    ]


def test_payload_in_hand_equals_the_stored_one(api_client_for, group, learner, learner2):
    parent = send(learner, group, "question?")
    upload = api_client_for(learner2).post(
        f"/api/v1/conversations/{group.pk}/attachments/",
        {"file": SimpleUploadedFile("notes.pdf", b"%PDF-1.4 x", "application/pdf")},
        format="multipart",
    )
    reply = send(
        learner2,
        group,
        "@learner1 see the notes",
        reply_to=parent.id,
        attachments=[upload.json()["id"]],
        client_id=uuid.uuid4(),
    )
    stored = selectors.get_message(conversation=group, message_id=reply.id)
    assert selectors.message_payload(reply) == selectors.message_payload(stored)
    assert selectors.message_payload(reply)["attachments"][0]["name"] == "notes.pdf"


def test_message_is_sanitised_markdown_with_safe_links(direct, learner):
    m = send(learner, direct, "**hi** <script>x()</script> see https://example.com")
    assert "<strong>hi</strong>" in m.body_html
    assert "<script" not in m.body_html
    assert 'rel="nofollow noopener noreferrer"' in m.body_html
    js = send(learner, direct, "[click](javascript:alert(1))")
    # Not a link (CommonMark refuses the address): the text stays as typed, as text.
    assert js.body_html == "<p>[click](javascript:alert(1))</p>"


def test_maximum_length_is_an_error(direct, learner):
    send(learner, direct, "x" * 10_000)
    with pytest.raises(ValidationError):
        send(learner, direct, "x" * 10_001)


def test_empty_message_is_refused(direct, learner):
    with pytest.raises(ValidationError):
        send(learner, direct, "   ")


@override_settings(LYCEUM_MESSAGING={"RATE_COUNT": 3, "RATE_SECONDS": 60})
def test_rate_limit(direct, learner):
    for _ in range(3):
        send(learner, direct)
    with pytest.raises(services.RateLimited):
        send(learner, direct)


def test_replies_and_mentions(group, learner, learner2, trainer):
    parent = send(learner, group, "question?")
    reply = send(learner2, group, "@learner1 answer, cc @nobody", reply_to=parent.id)
    payload = selectors.message_payload(reply)
    assert payload["reply_to"]["id"] == parent.id
    assert payload["mentions"] == [learner.pk]
    with pytest.raises(ValidationError):
        send(learner, group, "x", reply_to=10**9)


def test_ids_increase_across_conversations_and_events(direct, group, learner):
    a = send(learner, direct)
    b = send(learner, group)
    c = send(learner, direct)
    assert a.id < b.id < c.id


# -- edit, delete, react -------------------------------------------------------------------
def test_edit_within_the_window_publishes_a_durable_event(direct, learner, published):
    m = send(learner, direct, "helo")
    edited = services.message_edit(editor=learner, message=m, body="hello")
    assert edited.body == "hello" and edited.edited_at is not None
    events_ = published(direct.topic)
    assert [e.type for e in events_] == ["message.created", "message.edited"]
    assert events_[1].id > events_[0].id
    assert events_[1].data["id"] == m.id


def test_edit_after_the_window_or_by_someone_else_is_refused(direct, learner, learner2):
    m = send(learner, direct)
    with pytest.raises(PermissionDenied):
        services.message_edit(editor=learner2, message=m, body="hack")
    Message.objects.filter(pk=m.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    m.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.message_edit(editor=learner, message=m, body="late")


def test_delete_is_shown_as_deleted_to_everyone(group, learner, learner2, trainer, published):
    m = send(learner, group, "oops")
    with pytest.raises(PermissionDenied):
        services.message_delete(actor=learner2, message=m)
    deleted = services.message_delete(actor=learner, message=m)
    payload = selectors.message_payload(deleted)
    assert payload["deleted"] and payload["body"] == "" and payload["body_html"] == ""
    other = send(learner2, group, "rude")
    services.message_delete(actor=trainer, message=other)  # group admin moderates
    assert [e.type for e in published(group.topic)][-1] == "message.deleted"


def test_reactions_toggle(direct, learner, learner2):
    m = send(learner, direct)
    services.message_react(user=learner2, message=m, emoji="👍")
    services.message_react(user=learner2, message=m, emoji="👍")  # idempotent
    m = services.message_react(user=learner, message=m, emoji="👍")
    assert selectors.message_payload(m)["reactions"] == [
        {"emoji": "👍", "users": sorted([learner.pk, learner2.pk])}
    ]
    m = services.message_react(user=learner, message=m, emoji="👍", add=False)
    assert selectors.message_payload(m)["reactions"][0]["users"] == [learner2.pk]
    with pytest.raises(ValidationError):
        services.message_react(user=learner, message=m, emoji="<b>")


# -- read state ----------------------------------------------------------------------------
def test_unread_counts_and_read_marker(group, learner, learner2, trainer, published):
    send(learner, group, "one")
    second = send(learner, group, "two")
    assert selectors.unread_counts(user=learner2)[group.pk] == 2
    assert selectors.unread_counts(user=learner)[group.pk] == 0  # own messages
    services.conversation_mark_read(user=learner2, conversation=group, last_read_id=second.id)
    assert selectors.unread_counts(user=learner2)[group.pk] == 0
    # Never backwards, never past the end.
    assert (
        services.conversation_mark_read(user=learner2, conversation=group, last_read_id=1)
        == second.id
    )
    types = [e.type for e in published(group.topic)]
    assert "read.updated" in types
    (mine,) = [e for e in published(learner2.topic) if e.type == "messaging.read"]
    assert mine.data == {"conversation": group.pk, "last_read_id": second.id, "unread": 0}


def test_first_unread(group, learner, learner2):
    a = send(learner, group)
    send(learner, group)
    membership = selectors.membership_of(user=learner2, conversation=group)
    assert selectors.first_unread_id(membership=membership) == a.id


def test_read_receipts_can_be_turned_off(direct, learner, learner2, published):
    services.chat_settings_update(user=learner2, read_receipts=False)
    m = send(learner, direct)
    services.conversation_mark_read(user=learner2, conversation=direct, last_read_id=m.id)
    assert "read.updated" not in [e.type for e in published(direct.topic)]
    assert str(learner2.pk) not in {str(k) for k in selectors.read_states(conversation=direct)}


def test_no_read_receipts_in_course_channels(channel, learner, learner2, published):
    m = send(learner, channel)
    services.conversation_mark_read(user=learner2, conversation=channel, last_read_id=m.id)
    assert "read.updated" not in [e.type for e in published(channel.topic)]


# -- notifications -------------------------------------------------------------------------
def test_new_direct_message_notifies_the_recipient_not_looking(
    direct, learner, learner2, run_tasks
):
    send(learner, direct, "ping")
    assert not Notification.objects.exists()  # not in the sender's request: a job
    run_tasks()
    assert Notification.objects.filter(recipient=learner2, data__kind="chat_message").count() == 1
    assert not Notification.objects.filter(recipient=learner).exists()


def test_no_notification_while_reading_the_conversation(
    direct, learner, learner2, run_tasks, monkeypatch
):
    monkeypatch.setattr(services, "present_user_ids", lambda topic: {learner2.pk})
    send(learner, direct, "ping")
    run_tasks()
    assert not Notification.objects.filter(recipient=learner2).exists()


def test_course_channel_notifies_only_mentions(channel, learner, learner2, trainer, run_tasks):
    send(learner, channel, "hello all")
    send(learner, channel, "@learner2 look")
    assert run_tasks() == 1  # no job for the message that mentions nobody
    assert Notification.objects.filter(recipient=learner2).count() == 1
    assert not Notification.objects.filter(recipient=trainer).exists()


def test_a_burst_of_messages_costs_one_notification_job(group, learner, learner2, run_tasks):
    for text in ("one", "two", "three"):
        send(learner, group, text)
    assert run_tasks() == 1
    assert Notification.objects.filter(recipient=learner2, data__kind="chat_message").count() == 3
    assert run_tasks() == 0
    send(learner, group, "four")
    assert run_tasks() == 1
    assert Notification.objects.filter(recipient=learner2).count() == 4


def test_notices_wait_for_the_delay_and_a_burst_asks_the_cache_once(
    group, learner, learner2, run_tasks, settings, monkeypatch
):
    from django_tasks_db.models import DBTaskResult

    from hub import coalesce

    settings.LYCEUM_MESSAGING = {"NOTIFY_DELAY_SECONDS": 30}
    asked: list[str] = []

    class CountingCache:
        def add(self, key, *args, **kwargs):
            asked.append(key)
            return cache.add(key, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(cache, name)

    monkeypatch.setattr(coalesce, "cache", CountingCache())
    queued_at = timezone.now()
    for text in ("one", "two", "three"):
        send(learner, group, text)
    assert run_tasks() == 0  # not due yet
    # The later messages knew their job was still waiting (the search catch-up asks too).
    assert [key for key in asked if key.startswith("messaging:")] == [
        services._notify_pending_key(group.pk)
    ]
    job = DBTaskResult.objects.get(task_path__endswith="notify_new_messages_job")
    assert job.run_after >= queued_at + timedelta(seconds=29)
    assert not Notification.objects.exists()
    DBTaskResult.objects.filter(pk=job.pk).update(run_after=timezone.now())
    assert run_tasks() == 1
    assert Notification.objects.filter(recipient=learner2, data__kind="chat_message").count() == 3


def test_a_job_queued_by_another_process_spares_this_ones_messages_the_round_trip(
    group, learner, settings, monkeypatch
):
    """Another process queued the conversation's job (the pending key holds when it is
    due): this process reads that once, then its messages until then skip the cache, as the
    process that queued it does. A key whose job is already due (it may start any moment)
    is no reason to skip."""
    import time

    from django_tasks_db.models import DBTaskResult

    from hub import coalesce

    settings.LYCEUM_MESSAGING = {"NOTIFY_DELAY_SECONDS": 30}
    asked: list[str] = []

    class CountingCache:
        def add(self, key, *args, **kwargs):
            if key.startswith("messaging:"):  # not the search catch-up's
                asked.append("add")
            return cache.add(key, *args, **kwargs)

        def get(self, key, *args, **kwargs):
            if key.startswith("messaging:"):
                asked.append("get")
            return cache.get(key, *args, **kwargs)

        def __getattr__(self, name):
            return getattr(cache, name)

    monkeypatch.setattr(coalesce, "cache", CountingCache())
    key = services._notify_pending_key(group.pk)
    cache.set(key, time.time() + 20, timeout=60)  # the other process's job, due in 20 s
    try:
        for _ in range(3):
            services.schedule_notifications(group.pk)
        assert asked == ["add", "get"]  # then remembered: no round trip for the others
        assert not DBTaskResult.objects.filter(task_path__endswith="notify_new_messages_job")
        services.notification_jobs.forget()
        asked.clear()
        cache.set(key, time.time() + 1, timeout=60)  # due within the margin: may start soon
        for _ in range(2):
            services.schedule_notifications(group.pk)
        assert asked == ["add", "get", "add", "get"]
    finally:
        cache.delete(key)


def test_a_run_over_messages_nobody_needs_told_reads_no_message_rows(
    group, learner, learner2, commit, monkeypatch, django_assert_max_num_queries
):
    """Everyone is looking: the run scans ids and senders, whatever the messages' count."""
    for n in range(20):
        send(learner, group, f"busy {n}")
    commit()
    monkeypatch.setattr(
        services,
        "present_user_ids",
        lambda topic: set(group.memberships.values_list("user_id", flat=True)),
    )
    with django_assert_max_num_queries(5) as captured:
        assert services.notify_new_messages(conversation_id=group.pk) == 20
    assert not any("body_html" in q["sql"] for q in captured.captured_queries)
    assert not Notification.objects.exists()


def test_notifying_twice_notifies_once(direct, learner, learner2, commit):
    send(learner, direct, "ping")
    commit()
    assert services.notify_new_messages(conversation_id=direct.pk) == 1
    assert services.notify_new_messages(conversation_id=direct.pk) == 0
    assert Notification.objects.filter(recipient=learner2).count() == 1


def test_report_reaches_moderators(group, learner, learner2, trainer, commit):
    m = send(learner, group, "spam")
    services.message_report(reporter=learner2, message=m, reason="spam")
    services.message_report(reporter=learner2, message=m, reason="again")
    assert Report.objects.count() == 1
    assert Notification.objects.filter(recipient=trainer, data__kind="chat_report").exists()


def test_removed_member_cannot_report_or_react(group, trainer, learner, learner2):
    m = send(learner, group)
    services.member_remove(actor=learner2, conversation=group, user=learner2)  # leaves
    with pytest.raises(PermissionDenied):
        services.message_report(reporter=learner2, message=m)
    with pytest.raises(PermissionDenied):
        services.message_react(user=learner2, message=m, emoji="x")
    assert Membership.objects.get(conversation=group, user=learner2).state == "removed"


def test_cannot_leave_a_direct_conversation(direct, learner):
    with pytest.raises(ValidationError):
        services.member_remove(actor=learner, conversation=direct, user=learner)


def test_group_needs_a_title_and_space_mates(learner, outsider, learner2):
    with pytest.raises(ValidationError):
        services.conversation_group_create(creator=learner, title=" ", members=[learner2])
    with pytest.raises(PermissionDenied):
        services.conversation_group_create(creator=learner, title="G", members=[outsider])
