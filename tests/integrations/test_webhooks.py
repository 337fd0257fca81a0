"""Outbound webhooks: signed (verified by the Standard Webhooks library in a real HTTP
receiver), retried with back-off, logged, replayed, disabled after repeated failures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from notifications.models import Notification

from classrooms.services import activity_complete
from integrations import services
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from leaderboards.services import badge_award_manual, badge_definition_create
from sessions.services import registration_cancel, registration_register
from tests.sessions.conftest import make_session

# The first test of a run creates the database: slow on a loaded machine.
pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]


def subscribe(actor, space, receiver, types):
    endpoint = services.endpoint_create(
        actor=actor, space=space, url=receiver.url, event_types=types
    )
    receiver.secret = endpoint.secret
    return endpoint


def complete_course(built, learner):
    for activity in (built.lesson, built.media, built.quiz):
        activity_complete(user=learner, activity=activity, source="test")


def test_a_completed_course_reaches_the_receiver_signed(
    built, learner, coordinator, space, receiver, run_tasks, commit, settings
):
    commit()  # the enrolment's event went out before anyone subscribed
    subscribe(coordinator, space, receiver, ["course.completed", "activity.completed"])
    complete_course(built, learner)
    run_tasks()
    assert not receiver.rejected
    assert sorted(receiver.types()) == ["activity.completed"] * 3 + ["course.completed"]
    message = next(m for m in receiver.received if m["data"]["type"] == "course.completed")
    data = message["data"]["data"]
    assert data["user"]["id"] == learner.pk
    assert data["course"] == {
        "id": built.course.pk,
        "title": built.course.title,
        "url": f"{settings.SITE_URL}{built.course.get_absolute_url()}",
    }
    assert data["space"]["slug"] == space.slug
    assert message["headers"]["webhook-id"].startswith("msg_")
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 4


def test_a_wrong_secret_is_refused_by_the_receiver(
    built, learner, coordinator, space, receiver, run_tasks, commit, settings
):
    settings.INTEGRATIONS_WEBHOOK_RETRIES = []
    commit()
    subscribe(coordinator, space, receiver, ["course.completed"])
    receiver.secret = services.new_secret()  # the receiver holds another secret
    complete_course(built, learner)
    run_tasks()
    assert receiver.rejected and not receiver.received
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_status_code == 400


def test_only_subscribed_events_of_the_space_are_sent(
    built, learner, coordinator, space, receiver, run_tasks, commit
):
    commit()
    subscribe(coordinator, space, receiver, ["badge.earned"])
    complete_course(built, learner)
    run_tasks()
    assert receiver.received == []
    assert not WebhookDelivery.objects.exists()


def test_session_registrations_waitlist_and_promotion(
    coordinator, space, learner, learner2, receiver, run_tasks, commit
):
    session = make_session(coordinator, space, capacity=1)
    commit()
    subscribe(
        coordinator,
        space,
        receiver,
        ["session.registered", "session.waitlisted", "session.promoted"],
    )
    first = registration_register(actor=learner, session=session)
    registration_register(actor=learner2, session=session)
    run_tasks()
    assert receiver.types() == ["session.registered", "session.waitlisted"]
    registration_cancel(actor=learner, registration=first)
    run_tasks()
    assert receiver.types()[-1] == "session.promoted"
    promoted = receiver.received[-1]["data"]["data"]
    assert promoted["user"]["id"] == learner2.pk
    assert promoted["session"]["id"] == session.pk
    assert promoted["registration"]["status"] == "confirmed"


def test_badge_earned(coordinator, trainer, space, learner, receiver, run_tasks, commit):
    badge = badge_definition_create(
        actor=trainer, space=space, name="Helper", description="Helps", criterion="manual"
    )
    commit()
    subscribe(coordinator, space, receiver, ["badge.earned"])
    badge_award_manual(actor=trainer, badge=badge, user=learner)
    run_tasks()
    assert receiver.types() == ["badge.earned"]
    assert receiver.received[0]["data"]["data"]["badge"]["name"] == "Helper"


def test_failures_are_retried_with_back_off_then_delivered(
    built, learner, coordinator, space, receiver, run_tasks, commit, settings
):
    settings.INTEGRATIONS_WEBHOOK_RETRIES = [0, 0, 0]
    commit()
    subscribe(coordinator, space, receiver, ["course.completed"])
    receiver.plan = [500, 503]
    complete_course(built, learner)
    run_tasks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [t.status_code for t in delivery.tries.all()] == [500, 503, 204]
    assert len(receiver.received) == 1


def test_the_next_try_waits_for_its_delay(
    built, learner, coordinator, space, receiver, run_tasks, commit, settings
):
    settings.INTEGRATIONS_WEBHOOK_RETRIES = [5, 300]
    commit()
    subscribe(coordinator, space, receiver, ["course.completed"])
    receiver.plan = [500]
    before = timezone.now()
    complete_course(built, learner)
    run_tasks()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert before + timedelta(seconds=4) < delivery.next_attempt_at
    job = DBTaskResult.objects.filter(
        task_path__endswith="webhook_deliver_job", status="READY"
    ).get()
    assert job.run_after == delivery.next_attempt_at
    assert run_tasks() == 0  # not due yet
    DBTaskResult.objects.filter(pk=job.pk).update(run_after=timezone.now())
    run_tasks()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(receiver.received) == 1


def test_a_hanging_endpoint_times_out_and_is_retried(
    built, learner, coordinator, space, receiver, run_tasks, commit, settings
):
    settings.INTEGRATIONS_WEBHOOK_RETRIES = [0]
    settings.INTEGRATIONS_HTTP_TIMEOUT = 0.5
    receiver.hang_seconds = 2
    commit()
    subscribe(coordinator, space, receiver, ["course.completed"])
    receiver.plan = ["hang"]
    complete_course(built, learner)
    run_tasks()
    delivery = WebhookDelivery.objects.get()
    first, second = delivery.tries.all()
    assert first.status_code is None and "Timeout" in first.error
    assert first.duration_ms < 1500
    assert second.status_code == 204 and delivery.status == DeliveryStatus.SUCCEEDED


def test_repeated_failures_disable_the_subscription_and_tell_its_owner(
    built, learner, learner2, coordinator, space, receiver, run_tasks, commit, settings
):
    settings.INTEGRATIONS_WEBHOOK_RETRIES = [0]
    settings.INTEGRATIONS_WEBHOOK_DISABLE_AFTER = 2
    commit()
    endpoint = subscribe(coordinator, space, receiver, ["activity.completed"])
    receiver.plan = [500] * 4
    activity_complete(user=learner, activity=built.lesson, source="test")
    run_tasks()
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failure_streak == 1
    activity_complete(user=learner, activity=built.media, source="test")
    run_tasks()
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.disabled_at
    notice = Notification.objects.get(recipient=coordinator)
    assert receiver.url in notice.verb
    # disabled: nothing more is sent, and the request does not even enqueue
    ours = DBTaskResult.objects.filter(task_path__startswith="integrations.")
    jobs = ours.count()
    activity_complete(user=learner, activity=built.quiz, source="test")
    commit()
    assert ours.count() == jobs
    # resumed by an admin: delivered again
    services.endpoint_set_active(actor=coordinator, endpoint=endpoint, active=True)
    activity_complete(user=learner, activity=built.optional, source="test")
    run_tasks()
    assert receiver.types() == ["activity.completed"]


def test_410_gone_disables_at_once(
    built, learner, coordinator, space, receiver, run_tasks, commit, settings
):
    commit()
    endpoint = subscribe(coordinator, space, receiver, ["course.completed"])
    receiver.plan = [410]
    complete_course(built, learner)
    run_tasks()
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert WebhookDelivery.objects.get().attempts == 1


def test_replay_sends_the_same_message_id_again(
    built, learner, coordinator, space, receiver, run_tasks, commit
):
    commit()
    subscribe(coordinator, space, receiver, ["course.completed"])
    complete_course(built, learner)
    run_tasks()
    original = WebhookDelivery.objects.get()
    replay = services.delivery_replay(actor=coordinator, delivery=original)
    run_tasks()
    replay.refresh_from_db()
    assert replay.status == DeliveryStatus.SUCCEEDED and replay.replay_of == original
    first, second = receiver.received
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert first["data"] == second["data"]


def test_who_may_manage_and_what_is_refused(coordinator, learner, trainer, space, receiver):
    with pytest.raises(PermissionDenied):
        services.endpoint_create(
            actor=learner, space=space, url=receiver.url, event_types=["course.completed"]
        )
    with pytest.raises(PermissionDenied):
        services.endpoint_create(
            actor=trainer, space=space, url=receiver.url, event_types=["course.completed"]
        )
    for url, types in [
        ("javascript:alert(1)", ["course.completed"]),
        ("ftp://example.com/x", ["course.completed"]),
        (receiver.url, []),
        (receiver.url, ["nope"]),
    ]:
        with pytest.raises(ValidationError):
            services.endpoint_create(actor=coordinator, space=space, url=url, event_types=types)
    assert not WebhookEndpoint.objects.exists()


def test_a_completion_costs_one_exists_when_nobody_listens_and_one_enqueue_when_someone_does(
    built, learner, coordinator, space, receiver, commit
):
    commit()

    def cost(activity):
        activity_complete(user=learner, activity=activity, source="test")
        with CaptureQueriesContext(connection) as ctx:
            commit()
        return [q["sql"] for q in ctx.captured_queries]

    quiet = cost(built.lesson)
    subscribe(coordinator, space, receiver, ["activity.completed"])
    commit()
    listening = cost(built.media)
    ours_quiet = [q for q in quiet if "integrations_" in q]
    ours = [q for q in listening if "integrations_" in q or "django_tasks_database" in q]
    assert len(ours_quiet) == 1  # EXISTS on the space's active subscriptions
    assert len(ours) == 2  # the same EXISTS + the INSERT of one job
    assert not any("webhookdelivery" in q for q in listening)


def test_enrolled_and_attended(
    built, learner2, coordinator, trainer, space, receiver, run_tasks, commit
):
    from classrooms.services import enrolment_create
    from sessions.services import attendance_mark

    session = make_session(coordinator, space, starts_at=timezone.now() + timedelta(minutes=5))
    commit()
    subscribe(coordinator, space, receiver, ["course.enrolled", "session.attended"])
    enrolment_create(actor=trainer, user=learner2, course=built.course)
    registration = registration_register(actor=learner2, session=session)
    attendance_mark(actor=coordinator, registration=registration, attendance="present")
    run_tasks()
    assert not receiver.rejected
    assert receiver.types() == ["course.enrolled", "session.attended"]
    enrolled, attended = (m["data"]["data"] for m in receiver.received)
    assert enrolled["user"]["id"] == learner2.pk and enrolled["course"]["id"] == built.course.pk
    assert attended["user"]["id"] == learner2.pk and attended["session"]["id"] == session.pk


def test_message_reported(
    built, learner, learner2, coordinator, space, receiver, run_tasks, commit
):
    from messaging import services as chat
    from messaging.models import Conversation

    for person in (learner, learner2):  # the course channel (its event waits for a commit)
        chat.on_enrolled(user=person, course=built.course)
    channel = Conversation.objects.get(kind="course", course_id=built.course.pk)
    message = chat.message_send(sender=learner, conversation=channel, body="buy cheap pills")
    commit()
    subscribe(coordinator, space, receiver, ["message.reported"])
    chat.message_report(reporter=learner2, message=message, reason="spam")
    run_tasks()
    assert receiver.types() == ["message.reported"]
    data = receiver.received[0]["data"]["data"]
    assert data["message"]["id"] == message.pk and data["report"]["reason"] == "spam"
    assert data["user"]["id"] == learner2.pk
