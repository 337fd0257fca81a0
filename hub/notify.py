"""Notifications: store (django-notifications-community), push live on ``hub.user.<id>``,
and e-mail from a background job when the recipient's preference for that kind says so.

Apps declare their kinds once (``register_kind`` in their ``AppConfig.ready()``) and call
``notify(...)`` from their services.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from notifications.models import Notification

from hub import realtime
from hub.models import Delivery, NotificationPreference


@dataclass(frozen=True)
class NotificationKind:
    code: str
    label: Any
    default: str = Delivery.IN_APP
    # The roles whose holders may receive this kind; empty: anyone.
    roles: tuple[str, ...] = ()


KINDS: dict[str, NotificationKind] = {}


def register_kind(
    code: str, label: Any, default: str = Delivery.IN_APP, *, roles: Iterable[str] = ()
) -> None:
    """Declare a kind of notification. ``roles``: only holders of one of these roles can
    ever receive it (the settings page shows it to them only); empty for anyone."""
    KINDS[code] = NotificationKind(code, label, default, tuple(str(r) for r in roles))


def kinds_for(*, user: Any) -> list[NotificationKind]:
    """The kinds ``user`` can receive, by their roles (administrators: every kind)."""
    from hub.accounts.models import Role

    if user.has_role(Role.ADMIN):
        return list(KINDS.values())
    return [k for k in KINDS.values() if not k.roles or user.has_role(*k.roles)]


register_kind("announcement", _("Announcements"), Delivery.IN_APP_AND_EMAIL)


def deliveries_for(*, user_ids: Iterable[int], kind: str) -> dict[int, str]:
    """Each user's delivery for ``kind``: their preference, or the kind's default."""
    ids = list(user_ids)
    default = KINDS[kind].default
    chosen = dict(
        NotificationPreference.objects.filter(user_id__in=ids, kind=kind).values_list(
            "user_id", "delivery"
        )
    )
    return {uid: chosen.get(uid, default) for uid in ids}


def preferences_for(*, user: Any, applicable: bool = False) -> list[dict[str, Any]]:
    """Every kind (``applicable``: those ``kinds_for`` the user) with the user's delivery
    for it (their choice or the default)."""
    rows = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "delivery"))
    kinds = kinds_for(user=user) if applicable else KINDS.values()
    return [
        {"kind": k.code, "label": str(k.label), "delivery": rows.get(k.code, k.default)}
        for k in kinds
    ]


@transaction.atomic
def preference_set(*, user: Any, kind: str, delivery: str) -> None:
    if kind not in KINDS:
        raise ValidationError({"kind": _("Unknown notification kind.")})
    if delivery not in Delivery.values:
        raise ValidationError({"delivery": _("Unknown delivery.")})
    NotificationPreference.objects.update_or_create(
        user=user, kind=kind, defaults={"delivery": Delivery(delivery)}
    )


def notification_payload(notification: Notification) -> dict[str, Any]:
    """What REST, the live event and the page all show of one notification."""
    data = notification.data or {}
    return {
        "id": notification.id,
        "kind": data.get("kind", ""),
        "verb": notification.verb,
        "description": notification.description or "",
        "url": data.get("url", ""),
        "actor": data.get("actor_name", ""),
        "unread": notification.unread,
        "timestamp": notification.timestamp,
    }


@transaction.atomic
def notify(
    *,
    recipients: Iterable[Any],
    kind: str,
    verb: str,
    actor: Model,
    target: Model | None = None,
    description: str = "",
    url: str = "",
    topic: str = "",
) -> list[Notification]:
    """Notify each recipient once: store, push on ``hub.user.<id>``, e-mail per preference,
    and Web Push to their devices per their push preference (``hub.webpush``).

    ``description`` is plain text (it goes to e-mails and previews as it is). ``topic`` is
    the realtime topic of the thing the notice is about, if it has one: whoever has a
    socket on it when the push job runs is looking at it and is not pushed.
    """
    from hub import webpush
    from hub.tasks import send_notification_emails, send_push_notifications

    people = {r.pk: r for r in recipients}
    deliveries = deliveries_for(user_ids=people, kind=kind)
    wanted = sorted(uid for uid, d in deliveries.items() if d != Delivery.OFF)
    if not wanted:
        return []
    actor_type = ContentType.objects.get_for_model(actor)
    target_type = ContentType.objects.get_for_model(target) if target is not None else None
    now = timezone.now()
    actor_name = getattr(actor, "name", str(actor))
    # Recipients who did it themselves (a reminder of their own registration, a seat they
    # were promoted to) are not shown as the actor: "Leo" on Leo's own notice reads as if
    # someone else had acted.
    actor_user_id = actor.pk if isinstance(actor, get_user_model()) else None
    realtime.hold_topic_order(*(f"hub.user.{uid}" for uid in wanted))
    created = Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=uid,
                actor_content_type=actor_type,
                actor_object_id=str(actor.pk),
                verb=verb[:255],
                description=description,
                target_content_type=target_type,
                target_object_id=str(target.pk) if target is not None else None,
                timestamp=now,
                data={
                    "kind": kind,
                    "url": url,
                    "actor_name": "" if uid == actor_user_id else actor_name,
                }
                | ({"topic": topic} if topic else {}),
            )
            for uid in wanted
        ]
    )
    for notification in created:
        realtime.publish(
            f"hub.user.{notification.recipient_id}",
            "notification.created",
            notification_payload(notification),
            id=notification.id,
        )
    to_email = [
        n.id
        for n in created
        if deliveries[n.recipient_id] == Delivery.IN_APP_AND_EMAIL and people[n.recipient_id].email
    ]
    if to_email:
        transaction.on_commit(lambda: send_notification_emails.enqueue(to_email))
    # -- Web Push (issue 21) --
    pushed = set(webpush.pushed_user_ids(user_ids=wanted, kind=kind))
    to_push = [n.id for n in created if n.recipient_id in pushed]
    if to_push:
        transaction.on_commit(lambda: send_push_notifications.enqueue(to_push))
    # -- end Web Push --
    return created


@dataclass(frozen=True)
class Notice:
    """One notice of a batch (``notify_many``): to whom, and what it says."""

    recipient_id: int
    verb: str
    target: Model | None = None
    description: str = ""
    # Who or what it comes from, when not the batch's ``actor``.
    actor: Model | None = None


@transaction.atomic
def notify_many(
    notices: list[Notice], *, kind: str, actor: Model, url: str = ""
) -> list[Notification]:
    """Many notices at once, for nightly passes over thousands: a constant number of queries
    whatever their number (preferences, one bulk insert, the e-mail and Web Push jobs
    enqueued once). No live push per person: the caller publishes once for the batch, and
    each person gets theirs from ``hub.user.<id>``'s backlog when they next connect (and
    on their next page)."""
    from hub import webpush
    from hub.tasks import send_notification_emails, send_push_notifications

    if not notices:
        return []
    ids = sorted({n.recipient_id for n in notices})
    deliveries = deliveries_for(user_ids=ids, kind=kind)
    wanted = {uid for uid, d in deliveries.items() if d != Delivery.OFF}
    notices = [n for n in notices if n.recipient_id in wanted]
    if not notices:
        return []
    now = timezone.now()
    # Their ids are durable ids of each person's topic: taken in turn (one statement).
    realtime.hold_topic_order(*(f"hub.user.{uid}" for uid in sorted(wanted)))
    created = Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=n.recipient_id,
                actor_content_type=ContentType.objects.get_for_model(source),
                actor_object_id=str(source.pk),
                verb=n.verb[:255],
                description=n.description,
                target_content_type=(
                    ContentType.objects.get_for_model(n.target) if n.target is not None else None
                ),
                target_object_id=str(n.target.pk) if n.target is not None else None,
                timestamp=now,
                data={"kind": kind, "url": url, "actor_name": getattr(source, "name", str(source))},
            )
            for n in notices
            for source in [n.actor or actor]
        ],
        batch_size=1000,
    )
    emailing = [uid for uid in wanted if deliveries[uid] == Delivery.IN_APP_AND_EMAIL]
    with_address = (
        set(
            get_user_model()
            .objects.filter(pk__in=emailing)
            .exclude(email="")
            .values_list("pk", flat=True)
        )
        if emailing
        else set()
    )
    to_email = [n.id for n in created if n.recipient_id in with_address]
    if to_email:
        transaction.on_commit(lambda: send_notification_emails.enqueue(to_email))
    pushed = set(webpush.pushed_user_ids(user_ids=sorted(wanted), kind=kind))
    to_push = [n.id for n in created if n.recipient_id in pushed]
    if to_push:
        transaction.on_commit(lambda: send_push_notifications.enqueue(to_push))
    return created


def notifications_for(*, user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).order_by("-timestamp", "-id")


def last_notification_id(*, user: Any) -> int:
    """Where a page's live feed resumes from (``since``)."""
    return (
        Notification.objects.filter(recipient=user)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
        or 0
    )


def unread_count(*, user: Any) -> int:
    return Notification.objects.filter(recipient=user, unread=True).count()


@transaction.atomic
def notifications_mark_read(*, user: Any, ids: Iterable[int] | None = None) -> int:
    """Mark some (``ids``) or all of ``user``'s notifications read; other tabs hear of it."""
    queryset = Notification.objects.filter(recipient=user, unread=True)
    if ids is not None:
        ids = sorted(set(ids))
        queryset = queryset.filter(id__in=ids)
    changed = queryset.update(unread=False)
    realtime.publish(
        f"hub.user.{user.pk}",
        "notifications.read",
        {"ids": ids if ids is not None else "all", "unread_count": unread_count(user=user)},
    )
    return changed
