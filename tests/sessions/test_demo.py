"""Demo data: each kind upcoming, a full session with a waiting list, a claim window, a
series, a past session with attendance; seeding twice adds nothing."""

from __future__ import annotations

from django.utils import timezone

from sessions import demo
from sessions.models import Registration, Session, SessionSeries


def test_seed_is_complete_and_idempotent(space, coordinator, trainer, learner, learner2, manager):
    users = {
        "coordinator": coordinator,
        "trainer": trainer,
        "learner": learner,
        "learner2": learner2,
        "manager": manager,
    }
    demo.seed(users=users, space=space)
    count = Session.objects.count()
    demo.seed(users=users, space=space)
    assert Session.objects.count() == count
    upcoming = Session.objects.filter(starts_at__gt=timezone.now(), status="scheduled")
    assert set(upcoming.values_list("kind", flat=True)) == {"face_to_face", "virtual", "coaching"}
    full = Session.objects.get(title="Safety Q&A (virtual class)")
    assert list(
        full.registrations.filter(status="waitlisted")
        .order_by("position")
        .values_list("user__username", "position")
    ) == [("learner1", 1), ("learner2", 2)]
    assert Session.objects.filter(claim_hours__isnull=False).exists()
    assert SessionSeries.objects.get().occurrences.count() == 6
    past = Session.objects.get(title="Fire warden briefing")
    assert past.starts_at < timezone.now() and past.status == "completed"
    assert set(Registration.objects.filter(session=past).values_list("attendance", flat=True)) == {
        "present",
        "absent",
    }
    first_aid = Session.objects.get(title="First aid workshop")
    assert first_aid.parts.count() == 1
    assert first_aid.location.startswith("Room 2, Lyon office")
    assert {b.resource.split(":")[0] for b in first_aid.bookings.all()} >= {"room", "asset"}
    assert space.survey_templates.filter(is_default=True).count() == 1
