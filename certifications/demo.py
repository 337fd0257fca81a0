"""Demo: a "Safe at work" certification (the workplace safety course, 24 months, a 60-day
window, the fire warden refresher as its recertification path); Lina holds it (she
completed the course), Leo's older one has expired."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from certifications import services
from certifications.models import Award, AwardEvent, Certification, EventKind, State
from classrooms.models import Course, EnrolmentStatus
from hub.accounts.models import Space, User
from paths.models import Path


def seed(*, users: dict[str, User], space: Space) -> None:
    if Certification.objects.filter(space=space, title="Safe at work").exists():
        return
    safety = Course.objects.filter(space=space, title="Workplace safety").first()
    if safety is None:
        return
    cert = services.certification_create(
        user=users["coordinator"],
        space=space,
        title="Safe at work",
        course=safety,
        recert_path=Path.objects.filter(space=space, title="Fire warden refresher").first(),
    )
    lina = users["learner2"]
    if safety.enrolments.filter(user=lina, status=EnrolmentStatus.COMPLETED).exists():
        services.bulk_apply(
            actor=users["coordinator"],
            certification=cert,
            action="issue",
            usernames=[lina.username],
        )
    long_ago = timezone.now() - timedelta(days=800)
    leo = Award.objects.create(
        certification=cert,
        user=users["learner"],
        state=State.EXPIRED,
        issued_at=long_ago,
        expires_at=services.add_months(long_ago, cert.validity_months),
    )
    AwardEvent.objects.create(
        award=leo, kind=EventKind.ISSUED, at=long_ago, expires_at=leo.expires_at
    )
    AwardEvent.objects.create(
        award=leo, kind=EventKind.EXPIRED, at=leo.expires_at, expires_at=leo.expires_at
    )
