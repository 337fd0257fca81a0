"""Demo data: upcoming sessions of each kind (a face-to-face workshop with seats, a full
virtual class with a waiting list, a coaching slot needing manager approval, a workshop
whose freed seats are offered for 12 hours, a weekly coaching series) and a past
workshop with its sign-in sheet filled in; two rooms, a projector, the space's feedback
survey; three one-to-one coaching slots.
Idempotent: skipped if the space already has sessions."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from hub.accounts.models import Space, User
from sessions import services
from sessions.models import Session, SessionStatus


def seed(*, users: dict[str, User], space: Space) -> None:
    if Session.objects.filter(space=space).exists():
        return
    coordinator = users.get("coordinator") or users.get("admin")
    if coordinator is None:
        return
    trainer = users.get("trainer")
    learners = [users[k] for k in ("learner", "learner2") if k in users]
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
    services.part_add(
        actor=coordinator,
        session=first_aid,
        starts_at=day + timedelta(days=7),
        ends_at=day + timedelta(days=7, hours=3),
        location="Lyon office, room 2",
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
    forklift = services.session_create(
        kind="face_to_face",
        title="Forklift licence day",
        description="A freed seat is offered to the next in line for 12 hours.",
        starts_at=day + timedelta(days=3),
        ends_at=day + timedelta(days=3, hours=7),
        time_zone="Europe/Paris",
        location="Warehouse B",
        capacity=1,
        claim_hours=12,
        **common,
    )
    series_start = day + timedelta(days=1, hours=8)
    services.series_create(
        count=6,
        interval_days=7,
        kind="coaching",
        title="Weekly team coaching",
        starts_at=series_start,
        ends_at=series_start + timedelta(hours=1),
        time_zone="Europe/Paris",
        join_url="https://meet.example.com/coaching",
        capacity=4,
        **common,
    )
    _rooms_and_survey(coordinator=coordinator, space=space, first_aid=first_aid)
    # The full virtual class: the manager holds the seat, both learners wait.
    if "manager" in users:
        services.registration_register(actor=users["manager"], session=webinar)
    for learner in learners:
        services.registration_register(actor=learner, session=webinar)
    if learners:
        services.registration_register(actor=learners[0], session=first_aid)
        services.registration_register(actor=learners[-1], session=forklift)
    _past_workshop(common=common, coordinator=coordinator, learners=learners, trainer=trainer)
    if trainer is not None:
        # Three one-to-one coaching slots the trainer published (the coaching page).
        slots_at = day + timedelta(days=2, hours=5)
        services.coaching_slots_publish(
            actor=trainer,
            space=space,
            starts_at=slots_at,
            ends_at=slots_at + timedelta(minutes=90),
            slot_minutes=30,
            title="Career coaching",
        )


def _rooms_and_survey(*, coordinator: User, space: Space, first_aid: Session) -> None:
    """Two rooms and a projector (the first aid workshop holds room 2 and the projector)
    and the feedback survey sent after every session of the space."""
    room = services.room_create(
        actor=coordinator,
        space=space,
        name="Room 2",
        site="Lyon office",
        address="12 rue de la République, Lyon",
        capacity=12,
        equipment="Screen, first-aid dummies",
    )
    services.room_create(
        actor=coordinator, space=space, name="Room 1", site="Lyon office", capacity=30
    )
    projector = services.asset_create(actor=coordinator, space=space, name="Projector")
    services.occurrence_book(actor=coordinator, session=first_aid, room=room, assets=[projector])
    services.survey_template_create(
        actor=coordinator,
        space=space,
        title="How was the session?",
        questions=[
            {"kind": "rating", "label": "How useful was this session?"},
            {"kind": "rating", "label": "How clear was the trainer?"},
            {"kind": "text", "label": "What should we change?"},
        ],
        is_default=True,
    )


def _past_workshop(
    *, common: dict, coordinator: User, learners: list[User], trainer: User | None
) -> None:
    """Last week's workshop with attendance taken: registered while it was upcoming, then
    moved back in time (demo history only; services never backdate a session)."""
    soon = timezone.now() + timedelta(days=1)
    past = services.session_create(
        kind="face_to_face",
        title="Fire warden briefing",
        starts_at=soon,
        ends_at=soon + timedelta(hours=2),
        location="Lyon office, room 1",
        capacity=10,
        **common,
    )
    registrations = [services.registration_register(actor=u, session=past) for u in learners]
    start = (timezone.now() - timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    Session.objects.filter(pk=past.pk).update(
        starts_at=start, ends_at=start + timedelta(hours=2), status=SessionStatus.SCHEDULED
    )
    past.refresh_from_db()
    marker = trainer or coordinator
    for registration, mark in zip(registrations, ["present", "absent"], strict=False):
        services.attendance_mark(actor=marker, registration=registration, attendance=mark)
    Session.objects.filter(pk=past.pk).update(status=SessionStatus.COMPLETED)
