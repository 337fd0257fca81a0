"""Background jobs of the forums: the daily digest e-mail."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from forums.models import DigestState, Post, Subscription
from hub.accounts.models import User
from hub.models import Delivery, NotificationPreference

logger = logging.getLogger(__name__)

# A digest goes out at most once in this period, however often the job runs.
MIN_INTERVAL = timedelta(hours=20)
MAX_POSTS = 50


def digest_posts(*, user: User, since) -> list[Post]:
    """New visible posts by others in the threads and forums ``user`` follows."""
    subs = Subscription.objects.filter(user=user)
    thread_ids = subs.filter(thread__isnull=False).values("thread_id")
    forum_ids = subs.filter(forum__isnull=False).values("forum_id")
    return list(
        Post.objects.filter(Q(thread_id__in=thread_ids) | Q(thread__forum_id__in=forum_ids))
        .filter(
            created_at__gt=since,
            is_hidden=False,
            is_deleted=False,
            thread__is_deleted=False,
            thread__forum__space__memberships__user=user,
        )
        .exclude(author=user)
        .select_related("author", "thread")
        .distinct()
        .order_by("thread_id", "id")[:MAX_POSTS]
    )


@task()
def send_forum_digests() -> int:
    """E-mail each person who asked for it a digest of what happened in what they follow.

    Idempotent: a person digested less than ``MIN_INTERVAL`` ago is skipped.
    """
    now = timezone.now()
    wanted = NotificationPreference.objects.filter(
        kind="forums.digest", delivery=Delivery.IN_APP_AND_EMAIL
    ).values("user_id")
    sent = 0
    for user in User.objects.filter(pk__in=wanted, is_active=True).exclude(email=""):
        state = DigestState.objects.filter(user=user).first()
        if state and now - state.last_sent_at < MIN_INTERVAL:
            continue
        since = state.last_sent_at if state else now - timedelta(days=1)
        posts = digest_posts(user=user, since=since)
        # Claim the day first: of two workers, one sends.
        if state:
            if not DigestState.objects.filter(pk=state.pk, last_sent_at=state.last_sent_at).update(
                last_sent_at=now
            ):
                continue
        else:
            DigestState.objects.create(user=user, last_sent_at=now)
        if not posts:
            continue
        context = {"user": user, "posts": posts, "site_url": settings.SITE_URL}
        send_mail(
            subject=_("Your daily forum digest"),
            message=render_to_string("forums/email/digest.txt", context),
            from_email=None,
            recipient_list=[user.email],
        )
        sent += 1
    return sent


@task()
def recompute_trust_levels() -> int:
    """Compute every member's forum trust level in every space again (what only time
    changes: days since joining). Idempotent; returns how many levels changed."""
    from forums import trust
    from forums.models import TrustLevel
    from hub.accounts.models import SpaceMembership

    changed = 0
    memberships = (
        SpaceMembership.objects.filter(user__is_active=True)
        .exclude(user__role_grants__role__in=trust.STAFF_ROLES)
        .exclude(user__is_superuser=True)
        .select_related("user")
        .order_by("pk")
    )
    for membership in memberships.iterator(chunk_size=500):
        before = (
            TrustLevel.objects.filter(user=membership.user, space_id=membership.space_id)
            .values_list("level", flat=True)
            .first()
        )
        row = trust.trust_recompute(user=membership.user, space=membership.space_id)
        if row is not None and row.level != before:
            changed += 1
    return changed
