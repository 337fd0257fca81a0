"""Every write of the integrations app: webhook subscriptions, deliveries and their retries.

The request that emits a domain event pays for one indexed ``EXISTS`` (does this space
listen at all?) and, when it does, one enqueue. Building the payloads, the fan-out to the
subscriptions and the HTTP calls happen in background jobs (``integrations.tasks``).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from hub.accounts.models import Space, User
from hub.api import RateLimited
from hub.notify import notify
from integrations import egress, payloads, selectors, xapi
from integrations.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)

logger = logging.getLogger(__name__)

USER_AGENT = "Lyceum-Webhooks/1"


def _retry_delays() -> list[float]:
    return list(getattr(settings, "INTEGRATIONS_WEBHOOK_RETRIES", [5, 300, 1800, 7200, 18000]))


def _disable_after() -> int:
    return int(getattr(settings, "INTEGRATIONS_WEBHOOK_DISABLE_AFTER", 5))


def _timeout() -> float:
    return float(getattr(settings, "INTEGRATIONS_HTTP_TIMEOUT", 10.0))


# -- listening (runs in the emitting request, after its commit) --------------------------------
def on_event(name: str, payload: dict[str, Any]) -> None:
    """A domain event happened: enqueue its fan-out if its space has any integration."""
    space_id = payloads.space_id_of(payload)
    if space_id is None or not selectors.space_listens(space_id=space_id):
        return
    from integrations.tasks import event_fanout_job

    event_fanout_job.enqueue(name, payloads.refs_of(payload), space_id, timezone.now().isoformat())


def listener(name: str) -> Callable[..., None]:
    def handle(**payload: Any) -> None:
        on_event(name, payload)

    handle.__qualname__ = f"integrations.on_event[{name}]"
    return handle


def on_many_event(name: str, payload: dict[str, Any]) -> None:
    """A domain event for a batch of people (``user_ids``, e.g. a recertification window's
    bulk enrolment): when the space listens, one job fans it out as the per-person event it
    stands for. The batch pays one ``EXISTS`` and one enqueue, whatever its size."""
    user_ids = [int(u) for u in payload.get("user_ids") or []]
    space_id = payloads.space_id_of(payload)
    if not user_ids or space_id is None or not selectors.space_listens(space_id=space_id):
        return
    from integrations.tasks import event_fanout_many_job

    event_fanout_many_job.enqueue(
        payloads.MANY_EVENTS[name],
        payloads.refs_of(payload),
        user_ids,
        space_id,
        timezone.now().isoformat(),
    )


def many_listener(name: str) -> Callable[..., None]:
    def handle(**payload: Any) -> None:
        on_many_event(name, payload)

    handle.__qualname__ = f"integrations.on_many_event[{name}]"
    return handle


# -- fan-out (background) --------------------------------------------------------------------
def _endpoints_listening(space: Space, event_type: str) -> list[WebhookEndpoint]:
    """The space's active webhook subscriptions to ``event_type``."""
    return [
        e
        for e in WebhookEndpoint.objects.filter(space=space, is_active=True)
        if event_type in e.event_types
    ]


def event_fanout(*, name: str, refs: dict[str, int], space_id: int, occurred_at: str) -> int:
    """Turn one domain event into a delivery per matching subscription (and, for learning
    events, xAPI statements). Returns how many deliveries were created."""
    space = Space.objects.filter(pk=space_id).first()
    if space is None:
        return 0
    objects = payloads.load(refs)
    event_type = payloads.EVENT_TYPES.get(name)
    created = 0
    if event_type:
        endpoints = _endpoints_listening(space, event_type)
        if endpoints:
            body = {
                "type": str(event_type),
                "timestamp": occurred_at,
                "data": payloads.data_of(dict(objects), space),
            }
            created = len(_deliveries_create(endpoints=endpoints, event_type=event_type, body=body))
    statements = xapi.statements_for(
        name=name, objects=objects, space=space, occurred_at=occurred_at
    )
    if statements and xapi.stores_for(space.pk):
        user = objects.get("user")
        xapi.statements_store(
            statements=statements, space_id=space.pk, user_id=getattr(user, "pk", None)
        )
    return created


def event_fanout_many(
    *, name: str, refs: dict[str, int], user_ids: list[int], space_id: int, occurred_at: str
) -> int:
    """``event_fanout`` for each of ``user_ids`` at once: per person the webhook message and
    the xAPI statements the single event ``name`` would make (the same payloads, so a
    receiver cannot tell a bulk enrolment from single ones), built from one load of the
    people and stored in bulk. Returns how many deliveries were created."""
    space = Space.objects.filter(pk=space_id).first()
    if space is None:
        return 0
    shared = payloads.load(refs)
    users = list(User.objects.filter(pk__in=user_ids).order_by("pk"))
    event_type = payloads.EVENT_TYPES.get(name)
    created = 0
    if event_type:
        endpoints = _endpoints_listening(space, event_type)
        if endpoints:
            bodies = [
                {
                    "type": str(event_type),
                    "timestamp": occurred_at,
                    "data": payloads.data_of({**shared, "user": user}, space),
                }
                for user in users
            ]
            created = len(
                _deliveries_create_many(endpoints=endpoints, event_type=event_type, bodies=bodies)
            )
    if xapi.stores_for(space.pk):
        statements, owners = [], {}
        for user in users:
            for statement in xapi.statements_for(
                name=name, objects={**shared, "user": user}, space=space, occurred_at=occurred_at
            ):
                statements.append(statement)
                owners[statement["id"]] = user.pk
        xapi.statements_store(
            statements=statements, space_id=space.pk, user_id=None, user_ids=owners
        )
    return created


@transaction.atomic
def _deliveries_create_many(
    *, endpoints: list[WebhookEndpoint], event_type: str, bodies: list[dict[str, Any]]
) -> list[WebhookDelivery]:
    """A message per body (one id across its endpoints, as ``_deliveries_create``), the
    rows in one insert; each delivery its own job (its own tries and back-off)."""
    rows = []
    for body in bodies:
        message_id = f"msg_{uuid.uuid4().hex}"
        rows += [
            WebhookDelivery(endpoint=e, message_id=message_id, event_type=event_type, payload=body)
            for e in endpoints
        ]
    deliveries = WebhookDelivery.objects.bulk_create(rows, batch_size=1000)
    for d in deliveries:
        _enqueue_delivery(d.pk)
    return deliveries


@transaction.atomic
def _deliveries_create(
    *, endpoints: list[WebhookEndpoint], event_type: str, body: dict[str, Any]
) -> list[WebhookDelivery]:
    message_id = f"msg_{uuid.uuid4().hex}"
    deliveries = [
        WebhookDelivery.objects.create(
            endpoint=e, message_id=message_id, event_type=event_type, payload=body
        )
        for e in endpoints
    ]
    for d in deliveries:
        _enqueue_delivery(d.pk)
    return deliveries


def _enqueue_delivery(delivery_id: int, run_after: datetime | None = None) -> None:
    from integrations.tasks import webhook_deliver_job

    # The database backend writes the job in the caller's transaction: the delivery row and
    # its job commit (or roll back) together, so nothing is lost between them.
    job = webhook_deliver_job.using(run_after=run_after) if run_after else webhook_deliver_job
    job.enqueue(delivery_id)


# -- delivery (background) -------------------------------------------------------------------
def sign(*, secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def webhook_deliver(*, delivery_id: int) -> str:
    """Try one delivery once; on failure schedule the next try after the back-off, and
    past the last one give up (a subscription that keeps failing is disabled)."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return "skipped"
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _finish(delivery, status=DeliveryStatus.FAILED, error="subscription disabled")
        return DeliveryStatus.FAILED
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    now = timezone.now()
    headers = sign(secret=endpoint.secret, message_id=delivery.message_id, at=now, body=body)
    started = time.monotonic()
    code: int | None = None
    error = ""
    try:
        response = egress.post_pinned(
            endpoint.url, content=body.encode(), headers=headers, timeout=_timeout()
        )
        code = response.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except egress.EgressRefused as exc:
        # The host resolves (now) to an address we never call: trying again would only
        # ask the same resolver, so the delivery fails at once.
        duration = int((time.monotonic() - started) * 1000)
        reason = _("Refused: %(reason)s") % {"reason": exc}
        return _record(delivery, code=None, error=reason[:300], duration_ms=duration, final=True)
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
    duration = int((time.monotonic() - started) * 1000)
    return _record(delivery, code=code, error=error, duration_ms=duration)


@transaction.atomic
def _record(
    delivery: WebhookDelivery,
    *,
    code: int | None,
    error: str,
    duration_ms: int,
    final: bool = False,
) -> str:
    """Log one try; ``final``: a failure that is not retried (it still counts toward the
    subscription's failure streak)."""
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    WebhookAttempt.objects.create(
        delivery=delivery, status_code=code, error=error, duration_ms=duration_ms
    )
    delivery.attempts += 1
    delivery.last_status_code = code
    delivery.last_error = error
    if not error:
        _finish(delivery, status=DeliveryStatus.SUCCEEDED)
        if endpoint.failure_streak:
            endpoint.failure_streak = 0
            endpoint.save(update_fields=["failure_streak"])
        return DeliveryStatus.SUCCEEDED
    if code == 410:  # Gone: the receiver asks us to stop (Standard Webhooks)
        _finish(delivery, status=DeliveryStatus.FAILED)
        _disable(endpoint, reason=_("The endpoint answered 410 Gone."))
        return DeliveryStatus.FAILED
    delays = _retry_delays()
    if not final and delivery.attempts <= len(delays):
        run_after = timezone.now() + timedelta(seconds=delays[delivery.attempts - 1])
        delivery.next_attempt_at = run_after
        delivery.save()
        _enqueue_delivery(delivery.pk, run_after=run_after)
        return "retry"
    _finish(delivery, status=DeliveryStatus.FAILED)
    endpoint.failure_streak += 1
    endpoint.save(update_fields=["failure_streak"])
    if endpoint.failure_streak >= _disable_after() and endpoint.is_active:
        _disable(
            endpoint,
            reason=_("%(n)d deliveries in a row failed.") % {"n": endpoint.failure_streak},
        )
    return DeliveryStatus.FAILED


def _finish(delivery: WebhookDelivery, *, status: str, error: str | None = None) -> None:
    delivery.status = status
    if error is not None:
        delivery.last_error = error
    delivery.next_attempt_at = None
    delivery.finished_at = timezone.now()
    delivery.save()


def _disable(endpoint: WebhookEndpoint, *, reason: str) -> None:
    endpoint.is_active = False
    endpoint.disabled_at = timezone.now()
    endpoint.disabled_reason = reason[:200]
    endpoint.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    notify(
        recipients=[endpoint.owner],
        kind="integrations.webhook_disabled",
        verb=_("Webhook to %(url)s disabled") % {"url": endpoint.url[:200]},
        actor=endpoint.owner,
        target=endpoint.space,
        description=reason,
        url=selectors.webhooks_page_url(endpoint.space_id),
    )


# -- subscriptions (admins of a space) ---------------------------------------------------------
def _require_manager(actor: Any, space_id: int) -> None:
    if not selectors.can_manage_integrations(user=actor, space_id=space_id):
        raise PermissionDenied(_("You may not manage the integrations of this space."))


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _clean(url: str, event_types: list[str], description: str) -> tuple[str, list[str], str]:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise ValidationError({"url": _("Give an http:// or https:// address.")})
    if (
        parts.scheme != "https"
        and not getattr(settings, "INTEGRATIONS_ALLOW_HTTP", settings.DEBUG)
        and parts.hostname not in ("localhost", "127.0.0.1", "::1")
    ):
        raise ValidationError({"url": _("Webhooks are sent over https:// only.")})
    try:
        egress.check_url(url)
    except egress.EgressRefused as exc:
        raise ValidationError({"url": str(exc)}) from exc
    types = sorted(set(event_types or []))
    if not types:
        raise ValidationError({"event_types": _("Choose at least one event.")})
    unknown = [t for t in types if t not in WebhookEventType.values]
    if unknown:
        raise ValidationError({"event_types": _("Unknown event: %(t)s") % {"t": unknown[0]}})
    return url, types, (description or "").strip()[:200]


@transaction.atomic
def endpoint_create(
    *, actor: Any, space: Space, url: str, event_types: list[str], description: str = ""
) -> WebhookEndpoint:
    _require_manager(actor, space.pk)
    url, types, description = _clean(url, event_types, description)
    return WebhookEndpoint.objects.create(
        space=space,
        owner=actor,
        url=url,
        event_types=types,
        description=description,
        secret=new_secret(),
    )


@transaction.atomic
def endpoint_update(
    *,
    actor: Any,
    endpoint: WebhookEndpoint,
    url: str,
    event_types: list[str],
    description: str = "",
) -> WebhookEndpoint:
    _require_manager(actor, endpoint.space_id)
    endpoint.url, endpoint.event_types, endpoint.description = _clean(url, event_types, description)
    endpoint.save(update_fields=["url", "event_types", "description"])
    return endpoint


@transaction.atomic
def endpoint_set_active(*, actor: Any, endpoint: WebhookEndpoint, active: bool) -> WebhookEndpoint:
    """Pause or resume a subscription; resuming clears its failure streak."""
    _require_manager(actor, endpoint.space_id)
    endpoint.is_active = active
    if active:
        endpoint.failure_streak = 0
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
    else:
        endpoint.disabled_at = timezone.now()
        endpoint.disabled_reason = _("Paused by %(name)s.") % {"name": actor.name}
    endpoint.save()
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, actor: Any, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    _require_manager(actor, endpoint.space_id)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint


@transaction.atomic
def endpoint_delete(*, actor: Any, endpoint: WebhookEndpoint) -> None:
    _require_manager(actor, endpoint.space_id)
    endpoint.delete()


# Messages sent by hand (test events, replays) per subscription and minute: each one is an
# outgoing request to the receiver, so a loop of clicks or calls must not become a flood.
MANUAL_SENDS_PER_MINUTE = 10


def _check_manual_rate(endpoint: WebhookEndpoint) -> None:
    since = timezone.now() - timedelta(minutes=1)
    recent = WebhookDelivery.objects.filter(endpoint=endpoint, created_at__gte=since).filter(
        models.Q(replay_of__isnull=False) | models.Q(event_type=TEST_EVENT_TYPE)
    )
    if recent.count() >= MANUAL_SENDS_PER_MINUTE:
        raise RateLimited(
            detail=_("Too many test events and replays to this subscription; wait a minute."),
            wait=60,
        )


@transaction.atomic
def delivery_replay(*, actor: Any, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a logged message again (same ``webhook-id``, fresh timestamp and signature)."""
    _require_manager(actor, delivery.endpoint.space_id)
    if not delivery.endpoint.is_active:
        raise ValidationError(_("Resume the subscription before replaying its messages."))
    if delivery.status == DeliveryStatus.PENDING:
        raise ValidationError(_("This message is still being delivered."))
    _check_manual_rate(delivery.endpoint)
    replay = WebhookDelivery.objects.create(
        endpoint=delivery.endpoint,
        message_id=delivery.message_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        replay_of=delivery,
    )
    _enqueue_delivery(replay.pk)
    return replay


TEST_EVENT_TYPE = "webhook.test"


@transaction.atomic
def endpoint_ping(*, actor: Any, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a signed test message (``webhook.test``) to a subscription, whatever events it
    listens to, through the same delivery path (log, retries) as real events."""
    _require_manager(actor, endpoint.space_id)
    if not endpoint.is_active:
        raise ValidationError(_("Resume the subscription before sending it a test event."))
    _check_manual_rate(endpoint)
    body = {
        "type": TEST_EVENT_TYPE,
        "timestamp": timezone.now().isoformat(),
        "data": {
            "space": payloads.data_of({}, endpoint.space)["space"],
            "subscription": {"id": endpoint.pk},
            "sent_by": {"id": actor.pk},
        },
    }
    return _deliveries_create(endpoints=[endpoint], event_type=TEST_EVENT_TYPE, body=body)[0]
