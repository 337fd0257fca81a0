"""Web Push: the notification channel that reaches a phone or a closed tab.

One more channel of ``hub.notify`` beside e-mail. The installation's VAPID key pair (RFC
8292) is made once and stored (``WebPushKey``); each device that opts in stores a
``PushSubscription``; ``notify()`` queues ``hub.tasks.send_push_notifications`` for the
recipients whose per-kind push preference is on, and that job encrypts each payload for
each device (RFC 8291, aes128gcm, through pywebpush) and posts it to the device's push
service. A 404/410 answer means the subscription is gone: its row is deleted. A push
service that hangs costs at most ``LYCEUM_WEBPUSH_TIMEOUT`` seconds per device, on one of
``LYCEUM_WEBPUSH_CONCURRENCY`` threads, and is dropped after ``MAX_FAILURES`` in a row.

Nobody is pushed about a thing they are looking at: a notice made with ``topic=...`` (the
topic of the thing: a conversation, a duel lobby) skips whoever has a socket on that topic
when the job runs, the rule the chat applies to its in-app notices (presence).
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from py_vapid import Vapid
from pywebpush import WebPusher
from requests.adapters import HTTPAdapter

from hub.models import PushPreference, PushSubscription, WebPushKey

logger = logging.getLogger(__name__)

# A payload is at most 4,096 bytes once encrypted (RFC 8291 leaves 3,993 bytes of text in
# one aes128gcm record); our JSON stays well under it.
MAX_BODY_CHARS = 300
MAX_TITLE_CHARS = 120
# Consecutive failures (hang, 5xx, refused) before a subscription is dropped.
MAX_FAILURES = 5
# Subscriptions per person: a person with more devices than this replaces the oldest.
MAX_PER_USER = 10
# The push service keeps an undelivered message this long (the device may be off).
TTL_SECONDS = 12 * 3600

# Kinds pushed unless the person says otherwise: what cannot wait for the next visit
# (issue 21: a chat message or mention, a seat offered, a reminder or a live class about
# to start, a duel challenge, an announcement). Every other kind is pushed only on request.
PUSH_BY_DEFAULT = frozenset(
    {
        "chat_message",
        "forums.mention",
        "session_promoted",
        "session_reminder",
        "liveclass_started",
        "leaderboards.duel",
        "announcement",
    }
)


# -- keys -------------------------------------------------------------------------------------
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_create() -> WebPushKey:
    """Make the installation's key pair unless it exists (idempotent, race-safe)."""
    existing = WebPushKey.objects.order_by("pk").first()
    if existing is not None:
        return existing
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    with transaction.atomic():
        WebPushKey.objects.create(private_key=pem, public_key=_b64url(public))
    # Two processes may both have created one: the oldest wins everywhere.
    return WebPushKey.objects.order_by("pk").first()  # type: ignore[return-value]


def public_key() -> str:
    """The application server key a page passes to ``pushManager.subscribe``."""
    return key_create().public_key


def contact() -> str:
    """The VAPID ``sub`` claim: who the push service may contact about our traffic."""
    configured = getattr(settings, "LYCEUM_WEBPUSH_CONTACT", "")
    if configured:
        return configured
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return f"mailto:{address}" if "@" in address else settings.SITE_URL


# -- preferences --------------------------------------------------------------------------------
def push_default(kind: str) -> bool:
    return kind in PUSH_BY_DEFAULT


def push_choices_for(*, user: Any) -> dict[str, bool]:
    """Each kind -> pushed or not, for this person (their choice or the kind's default)."""
    from hub.notify import KINDS

    rows = dict(PushPreference.objects.filter(user=user).values_list("kind", "enabled"))
    return {code: rows.get(code, push_default(code)) for code in KINDS}


@transaction.atomic
def push_preference_set(*, user: Any, kind: str, enabled: bool) -> None:
    from hub.notify import KINDS

    if kind not in KINDS:
        raise ValidationError({"kind": _("Unknown notification kind.")})
    PushPreference.objects.update_or_create(user=user, kind=kind, defaults={"enabled": enabled})


def pushed_user_ids(*, user_ids: Iterable[int], kind: str) -> list[int]:
    """Who of ``user_ids`` wants ``kind`` pushed and has at least one device."""
    ids = set(user_ids)
    if not ids:
        return []
    default = push_default(kind)
    chosen = dict(
        PushPreference.objects.filter(user_id__in=ids, kind=kind).values_list("user_id", "enabled")
    )
    wanted = {uid for uid in ids if chosen.get(uid, default)}
    if not wanted:
        return []
    return sorted(
        set(PushSubscription.objects.filter(user_id__in=wanted).values_list("user_id", flat=True))
    )


# -- subscriptions ------------------------------------------------------------------------------
def _check_endpoint(endpoint: str) -> None:
    """A push service endpoint is an https URL on a known push service.

    The server posts to it, so an endpoint anywhere else would let a person make the server
    call into its own network. ``LYCEUM_WEBPUSH_HOSTS`` lists the accepted host suffixes
    (the browsers' push services by default); tests add their local endpoint, the only case
    where plain http is taken (a host listed with ``http://``).
    """
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    for allowed in settings.LYCEUM_WEBPUSH_HOSTS:
        scheme = "https"
        if allowed.startswith("http://"):
            scheme, allowed = "http", allowed[len("http://") :]
        allowed = allowed.lower()
        if parts.scheme == scheme and (host == allowed or host.endswith("." + allowed)):
            return
    raise ValidationError({"endpoint": _("This is not the address of a known push service.")})


def _check_keys(p256dh: str, auth: str) -> None:
    try:
        point = _b64url_decode(p256dh)
        secret = _b64url_decode(auth)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, TypeError):
        raise ValidationError({"keys": _("These are not a push subscription's keys.")}) from None
    if len(secret) != 16:
        raise ValidationError({"keys": _("These are not a push subscription's keys.")})


@transaction.atomic
def subscription_save(
    *, user: Any, endpoint: str, p256dh: str, auth: str, user_agent: str = ""
) -> PushSubscription:
    """Store (or refresh) this device's subscription for ``user``.

    An endpoint is one browser profile: subscribing it again (another person signs in on
    the same device) moves it to the new person, so a shared tablet pushes to whoever
    signed in last, never to both.
    """
    _check_endpoint(endpoint)
    _check_keys(p256dh, auth)
    try:
        with transaction.atomic():
            subscription, _created = PushSubscription.objects.update_or_create(
                endpoint=endpoint,
                defaults={
                    "user": user,
                    "p256dh": p256dh,
                    "auth": auth,
                    "user_agent": user_agent[:200],
                    "failures": 0,
                },
            )
    except IntegrityError:  # the same device subscribing twice at once
        subscription = PushSubscription.objects.get(endpoint=endpoint)
    extra = PushSubscription.objects.filter(user=user).order_by("-created_at", "-pk")[MAX_PER_USER:]
    PushSubscription.objects.filter(pk__in=[s.pk for s in extra]).delete()
    return subscription


@transaction.atomic
def subscription_delete(*, user: Any, endpoint: str) -> int:
    """Forget this device (the person turned push off there, or signs out)."""
    deleted, _detail = PushSubscription.objects.filter(user=user, endpoint=endpoint).delete()
    return deleted


@transaction.atomic
def subscription_renew(
    *, old_endpoint: str, old_auth: str, endpoint: str, p256dh: str, auth: str
) -> PushSubscription:
    """The browser replaced a subscription (the service worker's ``pushsubscriptionchange``).

    The worker has no session cookie it can prove with a CSRF token, so it proves the old
    subscription instead: its endpoint and its auth secret, which only that browser knows.
    """
    old = PushSubscription.objects.select_for_update().filter(endpoint=old_endpoint).first()
    if old is None or not _same(old.auth, old_auth):
        raise PermissionDenied(_("This push subscription is not known."))
    user = old.user
    old.delete()
    return subscription_save(user=user, endpoint=endpoint, p256dh=p256dh, auth=auth)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# -- sending ----------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What one job did: sent, gone (404/410, deleted), failed (kept, counted), skipped
    (looking at the thing)."""

    sent: int = 0
    gone: int = 0
    failed: int = 0
    skipped: int = 0


def payload_of(notification: Any) -> dict[str, Any]:
    """What the service worker shows: the title, a short body, the page a click opens, and
    a tag (one visible notice per thing: a busy conversation replaces its own notice)."""
    data = notification.data or {}
    url = data.get("url") or "/notifications/"
    if not url.startswith("/") or url.startswith("//"):
        url = "/notifications/"
    target = notification.target_object_id or notification.id
    return {
        "id": notification.id,
        "kind": data.get("kind", ""),
        "title": notification.verb[:MAX_TITLE_CHARS],
        "body": (notification.description or "")[:MAX_BODY_CHARS],
        "url": url,
        "tag": f"{data.get('kind', '')}:{notification.target_content_type_id}:{target}",
    }


def _present(topic: str) -> set[int]:
    from hub.realtime import presence

    return {p["id"] for p in presence.store().present_now(topic)}


class _Signer:
    """VAPID headers, signed once per push service origin per job, not once per device."""

    def __init__(self) -> None:
        self.vapid = Vapid.from_pem(key_create().private_key.encode("ascii"))
        self.headers: dict[str, dict[str, str]] = {}

    def for_endpoint(self, endpoint: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        if audience not in self.headers:
            claims = {"sub": contact(), "aud": audience, "exp": int(time.time()) + 12 * 3600}
            self.headers[audience] = self.vapid.sign(claims)
        return self.headers[audience]


def _post(
    session: requests.Session, signer: _Signer, subscription: PushSubscription, body: bytes
) -> str:
    """Encrypt and post one payload; returns "sent", "gone" or "failed"."""
    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    headers = dict(signer.for_endpoint(subscription.endpoint))
    headers["Urgency"] = "high"
    timeout = float(settings.LYCEUM_WEBPUSH_TIMEOUT)
    try:
        response = WebPusher(info, requests_session=session).send(
            body, headers, ttl=TTL_SECONDS, content_encoding="aes128gcm", timeout=timeout
        )
    except requests.RequestException as exc:
        logger.info("push to %s failed: %s", urlsplit(subscription.endpoint).netloc, exc)
        return "failed"
    status = response.status_code
    if status in (404, 410):
        return "gone"
    if status >= 300:
        logger.info("push to %s answered %s", urlsplit(subscription.endpoint).netloc, status)
        return "failed"
    return "sent"


def send(notification_ids: list[int]) -> Outcome:
    """Push each notification to each device of its recipient (the job's body)."""
    from notifications.models import Notification

    outcome = Outcome()
    notifications = list(Notification.objects.filter(id__in=notification_ids).order_by("id"))
    if not notifications:
        return outcome
    # Each recipient's devices, in one query (a deactivated account is pushed nothing).
    devices: dict[int, list[PushSubscription]] = {}
    for subscription in PushSubscription.objects.filter(
        user_id__in={n.recipient_id for n in notifications}, user__is_active=True
    ).order_by("pk"):
        devices.setdefault(subscription.user_id, []).append(subscription)
    # Who is looking at each thing, asked once per topic when the job runs.
    presence_by_topic: dict[str, set[int]] = {}
    work: list[tuple[PushSubscription, bytes]] = []
    for notification in notifications:
        topic = (notification.data or {}).get("topic")
        if topic:
            if topic not in presence_by_topic:
                try:
                    presence_by_topic[topic] = _present(topic)
                except Exception:  # presence store down: pushing is the safer side
                    logger.warning("presence unavailable for %s", topic)
                    presence_by_topic[topic] = set()
            if notification.recipient_id in presence_by_topic[topic]:
                outcome.skipped += 1
                continue
        body = json.dumps(payload_of(notification), separators=(",", ":")).encode()
        for subscription in devices.get(notification.recipient_id, []):
            work.append((subscription, body))
    if not work:
        return outcome
    signer = _Signer()
    results: list[str]
    with requests.Session() as session:
        # One connection pool per push service, as many as the threads.
        adapter = HTTPAdapter(
            pool_connections=4, pool_maxsize=int(settings.LYCEUM_WEBPUSH_CONCURRENCY)
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        workers = max(1, min(int(settings.LYCEUM_WEBPUSH_CONCURRENCY), len(work)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda item: _post(session, signer, *item), work))
    sent_ids = [s.pk for (s, _b), r in zip(work, results, strict=True) if r == "sent"]
    gone_ids = [s.pk for (s, _b), r in zip(work, results, strict=True) if r == "gone"]
    failed_ids = [s.pk for (s, _b), r in zip(work, results, strict=True) if r == "failed"]
    outcome.sent, outcome.gone, outcome.failed = len(sent_ids), len(gone_ids), len(failed_ids)
    if sent_ids:
        PushSubscription.objects.filter(pk__in=sent_ids).update(
            last_push_at=timezone.now(), failures=0
        )
    if gone_ids:
        PushSubscription.objects.filter(pk__in=gone_ids).delete()
    if failed_ids:
        PushSubscription.objects.filter(pk__in=failed_ids).update(failures=F("failures") + 1)
        PushSubscription.objects.filter(pk__in=failed_ids, failures__gte=MAX_FAILURES).delete()
    return outcome
