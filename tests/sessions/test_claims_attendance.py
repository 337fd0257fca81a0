"""Claim windows (offers), attendance, notices and reminders, parts and series."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from classrooms import services as classrooms_services
from classrooms.models import ActivityKind, Completion
from hub import events
from hub.notify import notifications_for
from sessions import services
from sessions.models import NoticeSent, Registration, Session, SessionStatus
from sessions.selectors import attendance_summary, seats_state
from tests.sessions.conftest import make_session


def kinds_of(user) -> list[str]:
    return [n.verb for n in notifications_for(user=user)]


def start_soon(session: Session, minutes: int = 10) -> None:
    """Move the session so it starts in ``minutes`` (the sign-in sheet is open)."""
    start = timezone.now() + timedelta(minutes=minutes)
    Session.objects.filter(pk=session.pk).update(
        starts_at=start, ends_at=start + timedelta(hours=2)
    )
    session.refresh_from_db()


# -- claim window -----------------------------------------------------------------------------
@pytest.fixture
def claimed(coordinator, space):
    return make_session(coordinator, space, capacity=1, claim_hours=4)


def test_freed_seat_is_offered_to_the_head_and_counts_as_taken(claimed, crowd):
    regs = [services.registration_register(actor=u, session=claimed) for u in crowd[:3]]
    services.registration_cancel(actor=crowd[0], registration=regs[0])
    regs[1].refresh_from_db()
    assert regs[1].status == "offered" and regs[1].position is None
    expected = timezone.now() + timedelta(hours=4)
    assert abs((regs[1].offer_expires_at - expected).total_seconds()) < 5
    state = seats_state(session=claimed)
    assert state["seats_left"] == 0 and state["offered"] == 1 and state["waitlist_length"] == 1
    # A newcomer cannot take the offered seat.
    late = services.registration_register(actor=crowd[3], session=claimed)
    assert late.status == "waitlisted" and late.position == 2


def test_accepting_the_offer_confirms(claimed, crowd, run_tasks):
    regs = [services.registration_register(actor=u, session=claimed) for u in crowd[:2]]
    services.registration_cancel(actor=crowd[0], registration=regs[0])
    run_tasks()
    assert any("offered" in v for v in kinds_of(crowd[1]))
    accepted = services.offer_accept(actor=crowd[1], registration=regs[1])
    assert accepted.status == "confirmed" and accepted.promoted_at is not None
    run_tasks()
    assert any("A seat is yours" in v for v in kinds_of(crowd[1]))


def test_declining_passes_the_seat_on(claimed, crowd):
    regs = [services.registration_register(actor=u, session=claimed) for u in crowd[:3]]
    services.registration_cancel(actor=crowd[0], registration=regs[0])
    services.offer_decline(actor=crowd[1], registration=regs[1])
    regs[1].refresh_from_db()
    regs[2].refresh_from_db()
    assert regs[1].status == "cancelled"
    assert regs[2].status == "offered"


def test_expiry_passes_the_offer_once(claimed, crowd):
    regs = [services.registration_register(actor=u, session=claimed) for u in crowd[:3]]
    services.registration_cancel(actor=crowd[0], registration=regs[0])
    # Not yet due: nothing happens.
    assert services.offer_expire(registration_id=regs[1].pk) is False
    Registration.objects.filter(pk=regs[1].pk).update(
        offer_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert services.offer_expire(registration_id=regs[1].pk) is True
    assert services.offer_expire(registration_id=regs[1].pk) is False  # idempotent
    regs[2].refresh_from_db()
    assert regs[2].status == "offered"
    assert Registration.objects.filter(session=claimed, status="offered").count() == 1


def test_expiry_job_is_scheduled_for_the_expiry_and_the_sweep_catches_lost_jobs(
    claimed, crowd, commit
):
    regs = [services.registration_register(actor=u, session=claimed) for u in crowd[:3]]
    services.registration_cancel(actor=crowd[0], registration=regs[0])
    commit()
    job = DBTaskResult.objects.filter(task_path__endswith="expire_offer").get()
    regs[1].refresh_from_db()
    assert job.run_after == regs[1].offer_expires_at
    DBTaskResult.objects.all().delete()  # the job is lost
    later = timezone.now() + timedelta(hours=5)
    assert services.sweep(now=later)["offers_expired"] == 1
    regs[2].refresh_from_db()
    assert regs[2].status == "offered"


def test_offer_expiring_notice_once_and_not_after_acceptance(claimed, crowd, run_tasks):
    regs = [services.registration_register(actor=u, session=claimed) for u in crowd[:3]]
    services.registration_cancel(actor=crowd[0], registration=regs[0])
    run_tasks()
    regs[1].refresh_from_db()
    soon = regs[1].offer_expires_at - timedelta(minutes=30)
    assert services.offer_reminders_sweep(now=soon) == 1
    assert services.offer_reminders_sweep(now=soon) == 0
    assert NoticeSent.objects.filter(registration=regs[1], kind="offer_expiring").count() == 1
    services.offer_accept(actor=crowd[1], registration=regs[1])
    assert services.notice_send(registration_id=regs[1].pk, kind="offer_expiring") is False


def test_offer_refused_to_others_and_after_expiry(claimed, crowd):
    regs = [services.registration_register(actor=u, session=claimed) for u in crowd[:2]]
    with pytest.raises(ValidationError):
        services.offer_accept(actor=crowd[1], registration=regs[1])  # still waitlisted
    services.registration_cancel(actor=crowd[0], registration=regs[0])
    with pytest.raises(PermissionDenied):
        services.offer_accept(actor=crowd[2], registration=regs[1])
    Registration.objects.filter(pk=regs[1].pk).update(
        offer_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ValidationError):
        services.offer_accept(actor=crowd[1], registration=regs[1])
    regs[1].refresh_from_db()
    assert regs[1].status == "offered"


def test_offer_never_outlives_the_start(coordinator, space, crowd):
    session = make_session(
        coordinator,
        space,
        capacity=1,
        claim_hours=48,
        starts_at=timezone.now() + timedelta(hours=3),
    )
    regs = [services.registration_register(actor=u, session=session) for u in crowd[:2]]
    services.registration_cancel(actor=crowd[0], registration=regs[0])
    regs[1].refresh_from_db()
    assert regs[1].offer_expires_at == session.starts_at


# -- notices and reminders --------------------------------------------------------------------
def test_a_notice_job_that_runs_twice_sends_once(training, learner, run_tasks):
    reg = services.registration_register(actor=learner, session=training)
    run_tasks()
    before = notifications_for(user=learner).count()
    assert services.notice_send(registration_id=reg.pk, kind="confirmed") is False
    assert notifications_for(user=learner).count() == before
    assert NoticeSent.objects.filter(registration=reg).count() == 1


def test_waitlisted_and_cancelled_by_organiser_are_notified(
    training, crowd, coordinator, run_tasks
):
    regs = [services.registration_register(actor=u, session=training) for u in crowd[:3]]
    run_tasks()
    services.session_cancel(actor=coordinator, session=training)
    run_tasks()
    assert any("Waiting list, position 1" in v for v in kinds_of(crowd[2]))
    for u in crowd[:3]:
        assert any("Cancelled by the organiser" in v for v in kinds_of(u))
    assert NoticeSent.objects.filter(registration__in=regs, kind="cancelled").count() == 3


def test_reminder_job_is_scheduled_and_sends_once_when_due(coordinator, space, learner, run_tasks):
    start = timezone.now() + timedelta(days=3)
    session = make_session(coordinator, space, starts_at=start, reminder_hours=24)
    run_tasks()
    job = DBTaskResult.objects.filter(task_path__endswith="send_reminders").get()
    assert job.run_after == start - timedelta(hours=24)
    reg = services.registration_register(actor=learner, session=session)
    # Too early: nothing sent.
    assert services.reminders_send(session_id=session.pk) == 0
    Session.objects.filter(pk=session.pk).update(starts_at=timezone.now() + timedelta(hours=2))
    assert services.sweep()["reminders"] == 1
    assert services.sweep()["reminders"] == 0
    assert services.reminders_send(session_id=session.pk) == 0
    assert NoticeSent.objects.filter(registration=reg, kind="reminder").count() == 1


def test_no_reminder_when_reminder_hours_is_zero(coordinator, space, learner):
    session = make_session(
        coordinator, space, starts_at=timezone.now() + timedelta(hours=1), reminder_hours=0
    )
    services.registration_register(actor=learner, session=session)
    assert services.sweep()["reminders"] == 0


def test_sweep_command_queues_the_job(db):
    from django.core.management import call_command

    call_command("sessions_sweep")
    assert DBTaskResult.objects.filter(task_path__endswith="tasks.sweep").exists()


# -- attendance -------------------------------------------------------------------------------
@pytest.fixture
def course_session(trainer, coordinator, space, learner, learner2):
    course = classrooms_services.course_create(
        author=trainer, space=space, title="Safety", published=True
    )
    module = classrooms_services.module_create(user=trainer, course=course, title="M")
    activity = classrooms_services.activity_create(
        user=trainer, module=module, title="Workshop", kind=ActivityKind.SESSION
    )
    for u in (learner, learner2):
        classrooms_services.enrolment_create(actor=trainer, user=u, course=course)
    session = make_session(
        coordinator, space, course=course, activity=activity, trainers=[trainer], capacity=5
    )
    return session


def test_trainer_marks_attendance_and_completes_the_activity(
    course_session, trainer, learner, learner2, commit
):
    attended = []

    def handler(**payload):
        attended.append((payload["user"].pk, payload["session"].pk))

    events.subscribe("sessions.attended", handler)
    try:
        reg = services.registration_register(actor=learner, session=course_session)
        reg2 = services.registration_register(actor=learner2, session=course_session)
        start_soon(course_session)
        services.attendance_mark(actor=trainer, registration=reg, attendance="present")
        services.attendance_mark(actor=trainer, registration=reg, attendance="late")
        services.attendance_mark(actor=trainer, registration=reg2, attendance="absent")
        commit()
    finally:
        events.unsubscribe("sessions.attended", handler)
    assert attended == [(learner.pk, course_session.pk)]  # once
    assert Completion.objects.filter(user=learner, activity=course_session.activity).exists()
    assert not Completion.objects.filter(user=learner2).exists()
    summary = attendance_summary(session=course_session)
    assert summary["late"] == 1 and summary["absent"] == 1 and summary["present"] == 0


def test_attendance_live_on_the_sheet_topic_and_counts_on_the_session_topic(
    course_session, trainer, learner, published
):
    reg = services.registration_register(actor=learner, session=course_session)
    start_soon(course_session)
    services.attendance_mark(actor=trainer, registration=reg, attendance="present")
    sheet = published(f"{course_session.topic}.attendance")
    assert sheet[-1].data["attendance"] == "present" and sheet[-1].data["user"] == learner.pk
    summary = [e for e in published(course_session.topic) if e.type == "attendance.summary"]
    assert summary[-1].data["present"] == 1 and "user" not in summary[-1].data


def test_attendance_refused_before_the_sheet_opens(course_session, trainer, learner):
    reg = services.registration_register(actor=learner, session=course_session)
    with pytest.raises(ValidationError):
        services.attendance_mark(actor=trainer, registration=reg, attendance="present")
    start_soon(course_session, minutes=14)
    services.attendance_mark(actor=trainer, registration=reg, attendance="present")


@pytest.mark.parametrize("mark", ["here", "", "PRESENT"])
def test_attendance_bad_mark(course_session, trainer, learner, mark):
    reg = services.registration_register(actor=learner, session=course_session)
    start_soon(course_session)
    with pytest.raises(ValidationError):
        services.attendance_mark(actor=trainer, registration=reg, attendance=mark)
    reg.refresh_from_db()
    assert reg.attendance == ""


def test_attendance_by_a_learner_or_for_the_waitlisted_is_refused(
    coordinator, space, trainer, learner, learner2
):
    session = make_session(coordinator, space, capacity=1, trainers=[trainer])
    reg = services.registration_register(actor=learner, session=session)
    waiting = services.registration_register(actor=learner2, session=session)
    start_soon(session)
    with pytest.raises(PermissionDenied):
        services.attendance_mark(actor=learner2, registration=reg, attendance="present")
    with pytest.raises(ValidationError):
        services.attendance_mark(actor=trainer, registration=waiting, attendance="present")
    reg.refresh_from_db()
    assert reg.attendance == ""


# -- parts, series and the iCal sequence -------------------------------------------------------
def test_parts_bump_the_sequence(training, coordinator, learner):
    assert training.sequence == 0
    start = training.starts_at + timedelta(days=1)
    part = services.part_add(
        actor=coordinator, session=training, starts_at=start, ends_at=start + timedelta(hours=2)
    )
    services.part_update(actor=coordinator, part=part, location="Room 4")
    training.refresh_from_db()
    assert training.sequence == 2
    with pytest.raises(ValidationError):
        services.part_update(actor=coordinator, part=part, ends_at=start - timedelta(hours=1))
    with pytest.raises(PermissionDenied):
        services.part_remove(actor=learner, part=part)
    services.part_remove(actor=coordinator, part=part)
    training.refresh_from_db()
    assert training.sequence == 3 and not training.parts.exists()


def test_update_and_cancel_bump_the_sequence(training, coordinator):
    services.session_update(actor=coordinator, session=training, title="New title")
    services.session_cancel(actor=coordinator, session=training)
    training.refresh_from_db()
    assert training.sequence == 2


def test_weekly_series_keeps_the_wall_clock_over_dst(coordinator, space):
    paris = ZoneInfo("Europe/Paris")
    start = timezone.datetime(2030, 3, 14, 9, 0, tzinfo=paris)  # DST starts on 31 March
    series = services.series_create(
        actor=coordinator,
        space=space,
        count=4,
        interval_days=7,
        kind="coaching",
        title="Weekly coaching",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity=3,
        time_zone="Europe/Paris",
    )
    occurrences = list(series.occurrences.order_by("starts_at"))
    assert [s.series_index for s in occurrences] == [1, 2, 3, 4]
    assert {s.starts_at.astimezone(paris).hour for s in occurrences} == {9}
    assert [s.starts_at.astimezone(paris).day for s in occurrences] == [14, 21, 28, 4]


def test_edit_and_cancel_the_rest_of_a_series(coordinator, space, learner):
    start = timezone.now() + timedelta(days=2)
    series = services.series_create(
        actor=coordinator,
        space=space,
        count=4,
        interval_days=1,
        kind="coaching",
        title="Daily",
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        capacity=3,
    )
    first, second, third, fourth = series.occurrences.order_by("starts_at")
    services.registration_register(actor=learner, session=second)
    services.series_update(
        actor=coordinator,
        session=second,
        scope="following",
        title="Daily (moved)",
        starts_at=second.starts_at + timedelta(hours=1),
        ends_at=second.ends_at + timedelta(hours=1),
    )
    for s in (first, second, third, fourth):
        s.refresh_from_db()
    assert first.title == "Daily" and first.starts_at == start
    assert [s.title for s in (second, third, fourth)] == ["Daily (moved)"] * 3
    assert fourth.starts_at == start + timedelta(days=3, hours=1)
    services.series_cancel(actor=coordinator, session=third, scope="following")
    statuses = list(series.occurrences.order_by("starts_at").values_list("status", flat=True))
    assert statuses == ["scheduled", "scheduled", "cancelled", "cancelled"]
    services.series_cancel(actor=coordinator, session=first, scope="one")
    second.refresh_from_db()
    assert second.status == SessionStatus.SCHEDULED


@pytest.mark.parametrize(
    "bad", [{"count": 0}, {"count": 53}, {"interval_days": 0}, {"time_zone": "Nowhere/City"}]
)
def test_bad_series_is_refused(coordinator, space, bad):
    start = timezone.now() + timedelta(days=2)
    fields = {"count": 3, "interval_days": 7, **bad}
    with pytest.raises(ValidationError):
        services.series_create(
            actor=coordinator,
            space=space,
            kind="coaching",
            title="x",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            capacity=3,
            **fields,
        )
    assert not Session.objects.exists()


def test_bad_scope_and_learner_cannot_make_series(coordinator, space, learner, training):
    with pytest.raises(ValidationError):
        services.series_cancel(actor=coordinator, session=training, scope="all")
    start = timezone.now() + timedelta(days=2)
    with pytest.raises(PermissionDenied):
        services.series_create(
            actor=learner,
            space=space,
            count=2,
            kind="coaching",
            title="x",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            capacity=3,
        )


@pytest.mark.parametrize("bad", [{"claim_hours": 0}, {"claim_hours": 500}, {"reminder_hours": 999}])
def test_bad_claim_or_reminder_hours(training, coordinator, bad):
    with pytest.raises(ValidationError):
        services.session_update(actor=coordinator, session=training, **bad)
    training.refresh_from_db()
    assert training.claim_hours is None and training.reminder_hours == 24


def test_moving_the_session_resets_the_reminder_and_reschedules_it(
    coordinator, space, learner, run_tasks
):
    session = make_session(
        coordinator, space, starts_at=timezone.now() + timedelta(hours=2), reminder_hours=24
    )
    reg = services.registration_register(actor=learner, session=session)
    assert services.sweep()["reminders"] == 1
    later = timezone.now() + timedelta(days=4)
    services.session_update(
        actor=coordinator, session=session, starts_at=later, ends_at=later + timedelta(hours=1)
    )
    assert not NoticeSent.objects.filter(registration=reg, kind="reminder").exists()
    run_tasks()
    job = DBTaskResult.objects.filter(task_path__endswith="send_reminders").order_by("-pk")[0]
    assert job.run_after == later - timedelta(hours=24)


def test_notice_jobs_run_twice_send_once(training, crowd, run_tasks):
    regs = [services.registration_register(actor=u, session=training) for u in crowd[:3]]
    run_tasks()
    before = {u.pk: notifications_for(user=u).count() for u in crowd[:3]}
    from sessions.tasks import send_notices

    send_notices.call([r.pk for r in regs], "confirmed")
    send_notices.call([r.pk for r in regs], "waitlisted")
    assert {u.pk: notifications_for(user=u).count() for u in crowd[:3]} == before
