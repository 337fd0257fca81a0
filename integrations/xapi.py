"""xAPI statements: built from Lyceum's learning events, stored, and forwarded to each
configured learning record store by a background sender (the outbox: nothing is lost while
a store is down; a store that fails is retried with growing delays).

Actors are accounts on this site (``{"homePage": SITE_URL, "name": "<user id>"}``): no
e-mail address leaves Lyceum. Activities are the pages' URLs. The context names the course
(``parent``), the space (``grouping``) and, for sessions, the session.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.models import (
    ForwardStatus,
    LearningRecordStore,
    Statement,
    StatementForward,
    StatementSource,
)
from integrations.payloads import absolute

logger = logging.getLogger(__name__)

XAPI_VERSION = "1.0.3"
NAMESPACE = uuid.UUID("0b7a3f4e-6c1d-4f2a-9d55-6f7d3c2b1a90")

ADL = "http://adlnet.gov/expapi/verbs/"
VERBS: dict[str, tuple[str, str]] = {
    "launched": (ADL + "launched", "launched"),
    "completed": (ADL + "completed", "completed"),
    "passed": (ADL + "passed", "passed"),
    "failed": (ADL + "failed", "failed"),
    "attended": (ADL + "attended", "attended"),
    "answered": (ADL + "answered", "answered"),
    "registered": (ADL + "registered", "registered"),
    "commented": (ADL + "commented", "commented"),
    "earned": ("http://id.tincanapi.com/verb/earned", "earned"),
    "won": ("http://activitystrea.ms/schema/1.0/win", "won"),
}
ACTIVITY_TYPES = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "module": "http://adlnet.gov/expapi/activities/module",
    "lesson": "http://adlnet.gov/expapi/activities/lesson",
    "media": "http://adlnet.gov/expapi/activities/media",
    "quiz": "http://adlnet.gov/expapi/activities/assessment",
    "question": "http://adlnet.gov/expapi/activities/cmi.interaction",
    "meeting": "http://adlnet.gov/expapi/activities/meeting",
    "badge": "http://activitystrea.ms/schema/1.0/badge",
    "game": "http://activitystrea.ms/schema/1.0/game",
    "comment": "http://activitystrea.ms/schema/1.0/comment",
    "space": "http://id.tincanapi.com/activitytype/community-site",
}
EXT_SESSION = "https://w3id.org/xapi/lyceum/extensions/session"

# domain events that become statements (besides the webhook events)
LEARNING_EVENTS = (
    "classrooms.enrolled",
    "classrooms.activity_completed",
    "classrooms.course_completed",
    "classrooms.quiz_submitted",
    "sessions.registered",
    "sessions.attended",
    "leaderboards.badge_earned",
    "leaderboards.duel_won",
    "forums.posted",
)


def _retry_delays() -> list[float]:
    return list(getattr(settings, "INTEGRATIONS_XAPI_RETRIES", [5, 30, 120, 600, 1800, 3600]))


def _batch() -> int:
    return int(getattr(settings, "INTEGRATIONS_XAPI_BATCH", 100))


def _timeout() -> float:
    return float(getattr(settings, "INTEGRATIONS_HTTP_TIMEOUT", 10.0))


# -- building ----------------------------------------------------------------------------------
def actor(user: Any) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "name": user.name,
        "account": {"homePage": settings.SITE_URL, "name": str(user.pk)},
    }


def _activity(iri: str, kind: str, name: str) -> dict[str, Any]:
    return {
        "objectType": "Activity",
        "id": iri,
        "definition": {"type": ACTIVITY_TYPES[kind], "name": {"und": name[:200]}},
    }


def course_object(course: Any) -> dict[str, Any]:
    return _activity(absolute(course.get_absolute_url()), "course", course.title)


def activity_object(activity: Any) -> dict[str, Any]:
    kind = activity.kind if activity.kind in ACTIVITY_TYPES else "lesson"
    return _activity(absolute(activity.get_absolute_url()), kind, activity.title)


def space_object(space: Any) -> dict[str, Any]:
    return _activity(absolute(f"/spaces/{space.slug}/"), "space", space.name)


def session_object(session: Any) -> dict[str, Any]:
    return _activity(absolute(f"/sessions/{session.pk}/"), "meeting", session.title)


def context(*, space: Any, course: Any = None, session: Any = None) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "platform": "Lyceum",
        "contextActivities": {"grouping": [space_object(space)]},
    }
    if course is not None:
        ctx["contextActivities"]["parent"] = [course_object(course)]
    if session is not None:
        ctx["extensions"] = {EXT_SESSION: session.pk}
        if course is None:
            ctx["contextActivities"]["parent"] = [session_object(session)]
    return ctx


def _statement(
    key: str, user: Any, verb: str, obj: dict[str, Any], ctx: dict[str, Any], at: str, **extra: Any
) -> dict[str, Any]:
    iri, display = VERBS[verb]
    return {
        # The same event always gives the same id: building twice stores once.
        "id": str(uuid.uuid5(NAMESPACE, key)),
        "actor": actor(user),
        "verb": {"id": iri, "display": {"en-US": display}},
        "object": obj,
        "context": ctx,
        "timestamp": at,
        **extra,
    }


def statements_for(
    *, name: str, objects: dict[str, Any], space: Any, occurred_at: str
) -> list[dict[str, Any]]:
    """The statements one domain event makes (none for an event that is no learning)."""
    user = objects.get("user")
    if user is None or name not in LEARNING_EVENTS:
        return []
    refs = ",".join(f"{k}={getattr(v, 'pk', v)}" for k, v in sorted(objects.items()))
    key = f"{name}:{refs}:{occurred_at}"
    course = objects.get("course")
    activity = objects.get("activity")
    if activity is not None and course is None:
        course = activity.course
    session = objects.get("session")
    ctx = context(space=space, course=course, session=session)
    at = occurred_at
    if name == "classrooms.enrolled":
        return [_statement(key, user, "registered", course_object(course), ctx, at)]
    if name == "classrooms.activity_completed":
        return [
            _statement(
                key, user, "completed", activity_object(activity), ctx, at,
                result={"completion": True},
            )
        ]  # fmt: skip
    if name == "classrooms.course_completed":
        ctx = context(space=space)
        return [
            _statement(
                key, user, "completed", course_object(course), ctx, at, result={"completion": True}
            )
        ]
    if name == "classrooms.quiz_submitted":
        return _quiz_statements(key, user, activity, objects["attempt"], ctx, at)
    if name in ("sessions.registered", "sessions.attended"):
        verb = "registered" if name == "sessions.registered" else "attended"
        return [_statement(key, user, verb, session_object(session), ctx, at)]
    if name == "leaderboards.badge_earned":
        badge = objects["badge"]
        obj = _activity(
            absolute(f"/leaderboards/badges/{user.pk}/#badge-{badge.pk}"), "badge", badge.name
        )
        return [_statement(key, user, "earned", obj, ctx, at)]
    if name == "leaderboards.duel_won":
        duel = objects["duel"]
        obj = _activity(absolute(f"/leaderboards/duels/{duel.pk}/"), "game", f"Quiz duel {duel.pk}")
        return [_statement(key, user, "won", obj, ctx, at)]
    if name == "forums.posted":
        post = objects["post"]
        obj = _activity(
            absolute(f"/forums/threads/{post.thread_id}/#post-{post.pk}"),
            "comment",
            f"Post {post.pk}",
        )
        forum = objects.get("forum")
        course_id = getattr(forum, "course_id", None)
        if course_id:
            from classrooms.models import Course

            course = Course.objects.filter(pk=course_id).first()
        ctx = context(space=space, course=course)
        return [_statement(key, user, "commented", obj, ctx, at)]
    return []


def _quiz_statements(
    key: str, user: Any, activity: Any, attempt: Any, ctx: dict[str, Any], at: str
) -> list[dict[str, Any]]:
    score = attempt.score or 0
    result = {
        "score": {"scaled": round(score / 100, 4), "raw": score, "min": 0, "max": 100},
        "success": bool(attempt.passed),
        "completion": True,
    }
    verb = "passed" if attempt.passed else "failed"
    out = [_statement(key, user, verb, activity_object(activity), ctx, at, result=result)]
    quiz_ctx = dict(ctx)
    quiz_ctx["contextActivities"] = {
        **ctx["contextActivities"],
        "parent": [activity_object(activity)],
    }
    for item in (attempt.answers or {}).get("results", []):
        qid = item.get("question")
        obj = _activity(
            absolute(f"{activity.get_absolute_url()}#question-{qid}"),
            "question",
            str(item.get("text") or f"Question {qid}"),
        )
        answer = item.get("answer")
        response = (
            "[,]".join(str(a) for a in answer) if isinstance(answer, list) else str(answer or "")
        )
        out.append(
            _statement(
                f"{key}:q{qid}",
                user,
                "answered",
                obj,
                quiz_ctx,
                at,
                result={"success": bool(item.get("correct")), "response": response[:1000]},
            )
        )
    return out


# -- storing -----------------------------------------------------------------------------------
def stores_for(space_id: int | None) -> list[LearningRecordStore]:
    return list(
        LearningRecordStore.objects.filter(is_active=True).filter(
            Q(space_id=space_id) | Q(space__isnull=True)
        )
    )


@transaction.atomic
def statements_store(
    *,
    statements: list[dict[str, Any]],
    space_id: int | None,
    user_id: int | None,
    source: str = StatementSource.LYCEUM,
    user_ids: dict[str, int] | None = None,
) -> list[Statement]:
    """Keep the statements and queue them for every store of the space (once each: a
    statement id seen before is not stored or queued again). Each is the person's
    ``user_id``, or, for statements of many people stored at once, ``user_ids[<its id>]``."""
    owners = user_ids or {}
    if not statements:
        return []
    ids = [uuid.UUID(s["id"]) for s in statements]
    known = set(Statement.objects.filter(pk__in=ids).values_list("pk", flat=True))
    new = [
        Statement(
            id=uuid.UUID(s["id"]),
            space_id=space_id,
            user_id=owners.get(s["id"], user_id),
            verb=s["verb"]["id"][:200],
            object_id=str(s["object"].get("id", ""))[:500],
            data=s,
            source=source,
            timestamp=parse_datetime(s.get("timestamp") or "") or timezone.now(),
        )
        for s in statements
        if uuid.UUID(s["id"]) not in known
    ]
    Statement.objects.bulk_create(new)
    stores = stores_for(space_id)
    StatementForward.objects.bulk_create(
        [StatementForward(statement=st, store=store) for st in new for store in stores]
    )
    if new:
        for store in stores:
            sender_enqueue(store.pk)
    return new


def sender_enqueue(store_id: int, run_after: datetime | None = None) -> None:
    """Wake the sender of a store (several wake-ups are harmless: one holds the lease)."""
    from integrations.tasks import xapi_send_job

    job = xapi_send_job.using(run_after=run_after) if run_after else xapi_send_job
    job.enqueue(store_id)


# -- sending -----------------------------------------------------------------------------------
LEASE = timedelta(seconds=120)


def _client(store: LearningRecordStore) -> httpx.Client:
    auth = (store.username, store.password) if store.username else None
    return httpx.Client(
        auth=auth,
        timeout=_timeout(),
        headers={"X-Experience-API-Version": XAPI_VERSION, "User-Agent": "Lyceum-xAPI/1"},
        follow_redirects=False,
    )


def statements_url(store: LearningRecordStore) -> str:
    return store.endpoint.rstrip("/") + "/statements"


def _claim(store_id: int) -> bool:
    """Take the store's lease (an UPDATE that only one sender wins), unless its back-off
    has not ended."""
    now = timezone.now()
    return bool(
        LearningRecordStore.objects.filter(pk=store_id, is_active=True)
        .filter(Q(sending_until__isnull=True) | Q(sending_until__lt=now))
        .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lte=now))
        .update(sending_until=now + LEASE)
    )


def _pending(store_id: int) -> bool:
    return StatementForward.objects.filter(store_id=store_id, status=ForwardStatus.PENDING).exists()


def xapi_send(*, store_id: int) -> int:
    """Send what waits for one store, oldest first, in batches; returns how many went.

    One sender per store at a time (a lease). On a failure what is left waits, and the next
    try is scheduled after the back-off; a success ends the back-off."""
    sent = 0
    while _claim(store_id):
        try:
            done, failed = _send_batches(store_id)
            sent += done
        finally:
            LearningRecordStore.objects.filter(pk=store_id).update(sending_until=None)
        # a statement queued while the lease was being released would wait: look again
        if failed or not _pending(store_id):
            break
    return sent


def _send_batches(store_id: int) -> tuple[int, bool]:
    store = LearningRecordStore.objects.get(pk=store_id)
    url = statements_url(store)
    sent = 0
    with _client(store) as client:
        while True:
            batch = list(
                StatementForward.objects.filter(store_id=store_id, status=ForwardStatus.PENDING)
                .select_related("statement")
                .order_by("pk")[: _batch()]
            )
            if not batch:
                return sent, False
            error = _post(client, url, [f.statement.data for f in batch])
            if error:
                _failed(store, error, [f.pk for f in batch])
                return sent, True
            _sent(store, [f.pk for f in batch])
            sent += len(batch)


def _post(client: httpx.Client, url: str, statements: list[dict[str, Any]]) -> str:
    try:
        response = client.post(url, json=statements)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    # 200 stored, 204 all already there (a resend after a lost answer), 409 ids taken
    if response.status_code in (200, 204):
        return ""
    if response.status_code == 409:
        logger.warning("LRS %s refused statement ids it already holds: %s", url, response.text)
        return ""
    return f"HTTP {response.status_code}: {response.text[:200]}"


@transaction.atomic
def _sent(store: LearningRecordStore, forward_ids: list[int]) -> None:
    now = timezone.now()
    StatementForward.objects.filter(pk__in=forward_ids).update(
        status=ForwardStatus.SENT, sent_at=now
    )
    LearningRecordStore.objects.filter(pk=store.pk).update(
        failure_streak=0,
        last_error="",
        last_sent_at=now,
        next_try_at=None,
        sending_until=now + LEASE,
    )


@transaction.atomic
def _failed(store: LearningRecordStore, error: str, forward_ids: list[int]) -> None:
    StatementForward.objects.filter(pk__in=forward_ids).update(attempts=F("attempts") + 1)
    store = LearningRecordStore.objects.select_for_update().get(pk=store.pk)
    store.failure_streak += 1
    store.last_error = error[:300]
    delays = _retry_delays()
    delay = delays[min(store.failure_streak, len(delays)) - 1] if delays else 60
    store.next_try_at = timezone.now() + timedelta(seconds=delay)
    store.save(update_fields=["failure_streak", "last_error", "next_try_at"])
    logger.warning("LRS %s failed (%s): next try in %ss", store.name, error, delay)
    sender_enqueue(store.pk, run_after=store.next_try_at)


# -- replay ------------------------------------------------------------------------------------
@transaction.atomic
def statements_replay(
    *, since: datetime, until: datetime, store_ids: list[int] | None = None
) -> int:
    """Queue again every statement stored in [since, until) for the given stores (all
    active ones by default, each statement to the stores of its space). Returns how many
    forwards were queued. Stores de-duplicate on the statement id."""
    stores = LearningRecordStore.objects.filter(is_active=True)
    if store_ids:
        stores = stores.filter(pk__in=store_ids)
    queued = 0
    for store in stores:
        statements = Statement.objects.filter(stored__gte=since, stored__lt=until)
        if store.space_id:
            statements = statements.filter(space_id=store.space_id)
        ids = list(statements.values_list("pk", flat=True))
        already = set(
            StatementForward.objects.filter(
                store=store, statement_id__in=ids, status=ForwardStatus.PENDING
            ).values_list("statement_id", flat=True)
        )
        rows = [StatementForward(statement_id=i, store=store) for i in ids if i not in already]
        for start in range(0, len(rows), 1000):
            StatementForward.objects.bulk_create(rows[start : start + 1000])
        queued += len(rows)
        if rows:
            sender_enqueue(store.pk)
    return queued
