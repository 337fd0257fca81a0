"""The e-mail digest of unread chat messages: opt-in, unread only, once per message."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db.models import F

from messaging import services
from messaging.models import ChatSettings, Message
from messaging.tasks import send_chat_digests

pytestmark = pytest.mark.django_db


def test_digest_lists_unread_messages_once(direct, group, learner, learner2, trainer):
    services.chat_settings_update(user=learner, email_digest=True)
    read = services.message_send(sender=learner2, conversation=direct, body="old news")
    services.conversation_mark_read(user=learner, conversation=direct, last_read_id=read.id)
    services.message_send(sender=learner2, conversation=direct, body="are you there?")
    services.message_send(sender=trainer, conversation=group, body="homework is due")
    services.message_send(sender=learner, conversation=group, body="my own words")

    assert send_chat_digests.call() == 1
    (email,) = mail.outbox
    assert email.to == [learner.email]
    assert "are you there?" in email.body and "homework is due" in email.body
    assert "old news" not in email.body and "my own words" not in email.body

    # Run again at once: nothing more (not twice in a day, never the same message twice).
    assert send_chat_digests.call() == 0
    # A day later, with the same messages still unread: they were in the last digest.
    day = timedelta(days=1)
    ChatSettings.objects.filter(user=learner).update(digest_sent_at=F("digest_sent_at") - day)
    Message.objects.update(created_at=F("created_at") - 2 * day)
    assert send_chat_digests.call() == 0
    services.message_send(sender=learner2, conversation=direct, body="new today")
    assert send_chat_digests.call() == 1
    assert "new today" in mail.outbox[-1].body and "are you there?" not in mail.outbox[-1].body


def test_no_digest_unless_asked(direct, learner2, learner):
    services.message_send(sender=learner2, conversation=direct, body="hello")
    assert send_chat_digests.call() == 0
    assert mail.outbox == []


def test_command_queues_the_job(run_tasks, direct, learner, learner2):
    services.chat_settings_update(user=learner, email_digest=True)
    services.message_send(sender=learner2, conversation=direct, body="ping")
    run_tasks()  # the new message's notification job
    call_command("chat_digest")
    assert run_tasks() == 1
    assert [m.to for m in mail.outbox] == [[learner.email]]


def test_digest_is_written_in_the_readers_language(direct, learner, learner2, monkeypatch):
    from django.utils import translation

    from messaging import tasks

    learner.language = "fr"
    learner.save(update_fields=["language"])
    services.chat_settings_update(user=learner, email_digest=True)
    services.message_send(sender=learner2, conversation=direct, body="bonjour")
    rendered_in: list[str] = []
    render = tasks.render_to_string

    def spy(*args, **kwargs):
        rendered_in.append(translation.get_language())
        return render(*args, **kwargs)

    monkeypatch.setattr(tasks, "render_to_string", spy)
    with translation.override("en"):
        assert send_chat_digests.call() == 1
    assert rendered_in == ["fr"]
    with translation.override("fr"):
        assert mail.outbox[0].subject == translation.gettext("Unread messages in Lyceum")
