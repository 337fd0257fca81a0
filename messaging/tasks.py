"""Background jobs of the chat: notifications of new messages, the e-mail digest."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from messaging.models import ChatSettings, Membership, Message
from messaging.selectors import READABLE_STATES

# A digest goes out at most once in this period, however often the job runs.
MIN_INTERVAL = timedelta(hours=20)
MAX_MESSAGES = 50


def digest_messages(*, user_id: int, since) -> list[Message]:
    """Unread messages from others in the person's conversations, newer than ``since``."""
    memberships = Membership.objects.filter(user_id=user_id, state__in=READABLE_STATES)
    unread = Q()
    for conversation_id, last_read in memberships.values_list("conversation_id", "last_read_id"):
        unread |= Q(conversation_id=conversation_id, id__gt=last_read)
    if not unread:
        return []
    messages = Message.objects.filter(
        unread, deleted_at__isnull=True, thread_root__isnull=True
    ).exclude(sender_id=user_id)
    if since is not None:
        messages = messages.filter(created_at__gt=since)
    return list(
        messages.select_related("sender", "conversation").order_by("conversation_id", "id")[
            :MAX_MESSAGES
        ]
    )


@task()
def notify_new_messages_job(conversation_id: int) -> int:
    """Notify who is not looking at the conversation, outside the senders' requests: working
    out who is present and storing notifications costs more than storing a message."""
    from messaging.services import notify_new_messages

    return notify_new_messages(conversation_id=conversation_id)


@task()
def send_chat_digests() -> int:
    """E-mail each person who asked for it what they have not read yet.

    Idempotent: a person digested less than ``MIN_INTERVAL`` ago is skipped, and a message is
    in one digest at most (only messages newer than the previous digest are listed).
    """
    now = timezone.now()
    sent = 0
    rows = (
        ChatSettings.objects.filter(email_digest=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
    )
    for row in rows:
        if row.digest_sent_at is not None and now - row.digest_sent_at < MIN_INTERVAL:
            continue
        messages = digest_messages(user_id=row.user_id, since=row.digest_sent_at)
        if not messages:
            continue
        # Claim first: of two workers running this job, one sends.
        claimed = ChatSettings.objects.filter(pk=row.pk, digest_sent_at=row.digest_sent_at).update(
            digest_sent_at=now
        )
        if not claimed:
            continue
        # In the reader's language, whatever the worker's.
        with translation.override(row.user.language or settings.LANGUAGE_CODE):
            subject = _("Unread messages in Lyceum")
            body = render_to_string(
                "messaging/email/digest.txt",
                {"user": row.user, "messages": messages, "site_url": settings.SITE_URL},
            )
        send_mail(subject=subject, message=body, from_email=None, recipient_list=[row.user.email])
        sent += 1
    return sent
