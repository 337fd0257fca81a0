"""Demo data: a face-to-face session next week with seats, a full virtual class with the
second learner on its waiting list, a coaching slot needing manager approval.
Idempotent: skipped if the space already has sessions."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from hub.accounts.models import Space, User
from sessions import services
from sessions.models import Session


def seed(*, users: dict[str, User], space: Space) -> None:
    if Session.objects.filter(space=space).exists():
        return
    coordinator = users.get("coordinator") or users.get("admin")
    if coordinator is None:
        return
    trainer = users.get("trainer")
    day = (timezone.now() + timedelta(days=7)).replace(hour=9, minute=0, second=0, microsecond=0)
    common = {"actor": coordinator, "space": space, "trainers": [trainer] if trainer else []}
    first_aid = services.session_create(
        kind="face_to_face",
        title="First aid workshop",
        description="Hands-on first aid: recovery position, CPR, burns.",
        starts_at=day,
        ends_at=day + timedelta(hours=3),
        time_zone="Europe/Paris",
        location="Lyon office, room 2",
        capacity=8,
        cancellation_deadline=day - timedelta(days=1),
        **common,
    )
    webinar = services.session_create(
        kind="virtual",
        title="Safety Q&A (virtual class)",
        starts_at=day + timedelta(days=1, hours=5),
        ends_at=day + timedelta(days=1, hours=6),
        time_zone="Europe/Paris",
        join_url="https://meet.example.com/safety-qa",
        capacity=1,
        **common,
    )
    services.session_create(
        kind="coaching",
        title="One-to-one coaching",
        starts_at=day + timedelta(days=2),
        ends_at=day + timedelta(days=2, hours=1),
        capacity=1,
        approval="manager",
        **common,
    )
    for key in ("learner", "learner2"):
        if key in users:
            services.registration_register(actor=users[key], session=webinar)
    if "learner" in users:
        services.registration_register(actor=users["learner"], session=first_aid)
