"""Background jobs of the hub (django-tasks; the worker runs them outside requests)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django_tasks import task
from notifications.models import Notification

logger = logging.getLogger(__name__)


@task()
def send_notification_emails(notification_ids: list[int]) -> int:
    """E-mail each notification once. Running twice sends nothing more (``emailed`` flag)."""
    sent = 0
    for notification in Notification.objects.filter(
        id__in=notification_ids, emailed=False
    ).select_related("recipient"):
        # Claim it first: of two workers running this job, one gets the row.
        if not Notification.objects.filter(pk=notification.pk, emailed=False).update(emailed=True):
            continue
        context = {
            "notification": notification,
            "site_url": settings.SITE_URL,
            "url": (notification.data or {}).get("url", ""),
        }
        try:
            send_mail(
                subject=notification.verb,
                message=render_to_string("hub/email/notification.txt", context),
                from_email=None,
                recipient_list=[notification.recipient.email],
            )
        except Exception:
            Notification.objects.filter(pk=notification.pk).update(emailed=False)
            logger.exception("could not e-mail notification %s", notification.pk)
            raise
        sent += 1
    return sent


@task()
def send_push_notifications(notification_ids: list[int]) -> dict[str, int]:
    """Push notifications to their recipients' devices (hub/webpush.py): encrypted per
    device, bounded per device by a timeout; gone devices (404/410) are forgotten.

    A push is not claimed like an e-mail: a job run twice may show a notice twice, which the
    device folds into one (same tag); a push lost to a crash is worse than a repeat."""
    from dataclasses import asdict

    from hub import webpush

    return asdict(webpush.send(notification_ids))
