"""What the listened-to domain events carry once they leave Lyceum.

The request that emits an event only records ids (``refs``); the background job loads the
rows and builds the data here, so a completion costs its request no more than an enqueue.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Model

from integrations.models import WebhookEventType

# hub.events name -> webhook event type
EVENT_TYPES: dict[str, str] = {
    "classrooms.enrolled": WebhookEventType.ENROLLED,
    "classrooms.activity_completed": WebhookEventType.ACTIVITY_COMPLETED,
    "classrooms.course_completed": WebhookEventType.COURSE_COMPLETED,
    "sessions.registered": WebhookEventType.SESSION_REGISTERED,
    "sessions.waitlisted": WebhookEventType.SESSION_WAITLISTED,
    "sessions.promoted": WebhookEventType.SESSION_PROMOTED,
    "sessions.attended": WebhookEventType.SESSION_ATTENDED,
    "leaderboards.badge_earned": WebhookEventType.BADGE_EARNED,
    "messaging.message_reported": WebhookEventType.MESSAGE_REPORTED,
    "certifications.certificate_issued": WebhookEventType.CERTIFICATE_ISSUED,
}

# hub.events names that stand for one event per person, emitted once for a whole batch
# (``user_ids=[...]`` beside the shared rows): the per-person event each becomes, so a person
# enrolled in bulk (a recertification window opening) gets the same webhook and xAPI
# statement as one enrolled alone.
MANY_EVENTS: dict[str, str] = {
    "classrooms.enrolled_many": "classrooms.enrolled",
}

# the keyword arguments of those events that are rows, and their models
REF_MODELS: dict[str, str] = {
    "user": "accounts.User",
    "course": "classrooms.Course",
    "activity": "classrooms.Activity",
    "session": "training_sessions.Session",
    "registration": "training_sessions.Registration",
    "badge": "leaderboards.BadgeDefinition",
    "award": "leaderboards.BadgeAward",
    "message": "messaging.Message",
    "report": "messaging.Report",
    "attempt": "classrooms.Attempt",
    "duel": "leaderboards.Duel",
    "post": "forums.Post",
    "forum": "forums.Forum",
    "certification": "certifications.Certification",
    "certificate": "certifications.Certificate",
}


def refs_of(payload: dict[str, Any]) -> dict[str, int]:
    """The ids of an event's rows (JSON for the job's arguments); no query."""
    return {k: v.pk for k, v in payload.items() if k in REF_MODELS and isinstance(v, Model)}


def space_id_of(payload: dict[str, Any]) -> int | None:
    """The space an event belongs to, read from rows the emitter already loaded."""
    for key in ("course", "session", "badge", "forum", "certification"):
        obj = payload.get(key)
        if obj is not None:
            return obj.space_id
    activity = payload.get("activity")
    if activity is not None:
        return activity.course.space_id
    message = payload.get("message")
    if message is not None:
        return message.conversation.space_id
    return None


def load(refs: dict[str, int]) -> dict[str, Model]:
    from django.apps import apps

    objects: dict[str, Model] = {}
    for key, pk in refs.items():
        model = apps.get_model(REF_MODELS[key])
        obj = model._default_manager.filter(pk=pk).first()
        if obj is not None:
            objects[key] = obj
    return objects


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def user_data(user: Any) -> dict[str, Any]:
    return {"id": user.pk, "username": user.username, "name": user.name, "email": user.email}


def course_data(course: Any) -> dict[str, Any]:
    return {"id": course.pk, "title": course.title, "url": absolute(course.get_absolute_url())}


def activity_data(activity: Any) -> dict[str, Any]:
    return {
        "id": activity.pk,
        "title": activity.title,
        "kind": activity.kind,
        "url": absolute(activity.get_absolute_url()),
    }


def session_data(session: Any) -> dict[str, Any]:
    return {
        "id": session.pk,
        "title": session.title,
        "kind": session.kind,
        "starts_at": session.starts_at.isoformat(),
        "ends_at": session.ends_at.isoformat() if session.ends_at else None,
        "url": absolute(f"/sessions/{session.pk}/"),
    }


def data_of(objects: dict[str, Model], space: Any) -> dict[str, Any]:
    """The ``data`` object of a webhook payload."""
    data: dict[str, Any] = {"space": {"id": space.pk, "slug": space.slug, "name": space.name}}
    if "user" in objects:
        data["user"] = user_data(objects["user"])
    if "activity" in objects:
        data["activity"] = activity_data(objects["activity"])
        objects.setdefault("course", objects["activity"].course)
    if "session" in objects:
        data["session"] = session_data(objects["session"])
    if "course" in objects:
        data["course"] = course_data(objects["course"])
    if "registration" in objects:
        reg = objects["registration"]
        data["registration"] = {"id": reg.pk, "status": reg.status, "position": reg.position}
    if "badge" in objects:
        badge = objects["badge"]
        data["badge"] = {"id": badge.pk, "name": badge.name, "description": badge.description}
    if "message" in objects:
        message = objects["message"]
        data["message"] = {"id": message.pk, "conversation": message.conversation_id}
    if "report" in objects:
        data["report"] = {"id": objects["report"].pk, "reason": objects["report"].reason}
    if "certification" in objects:
        data["certification"] = {
            "id": objects["certification"].pk,
            "title": objects["certification"].title,
        }
    if "certificate" in objects:
        certificate = objects["certificate"]
        data["certificate"] = {
            "number": certificate.number,
            "expires_at": certificate.expires_at.isoformat(),
            # The public check (valid, expired or revoked; nothing more).
            "verify_url": absolute(f"/verify/{certificate.number}/"),
        }
    return data
