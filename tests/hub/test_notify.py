"""hub/notify.py: store, push live, e-mail per preference from a background job."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from notifications.models import Notification

from hub import notify
from hub.models import Delivery

pytestmark = pytest.mark.django_db


def test_notify_stores_pushes_and_emails_per_preference(
    learner, learner2, trainer, published, run_tasks
):
    notify.preference_set(user=learner2, kind="announcement", delivery=Delivery.IN_APP)
    created = notify.notify(
        recipients=[learner, learner2], kind="announcement", verb="Hello", actor=trainer, url="/x/"
    )
    assert {n.recipient_id for n in created} == {learner.pk, learner2.pk}
    events = published(f"hub.user.{learner.pk}")
    assert [(e.type, e.id) for e in events] == [
        ("notification.created", next(n.id for n in created if n.recipient_id == learner.pk))
    ]
    assert events[0].data["verb"] == "Hello" and events[0].data["actor"] == trainer.name
    assert mail.outbox == []  # not in the request: a background job sends it
    assert run_tasks() == 1
    assert [m.to for m in mail.outbox] == [[learner.email]]  # learner2 chose in-app only
    assert "/x/" in mail.outbox[0].body


def test_email_job_twice_sends_once(learner, trainer, run_tasks):
    from hub.tasks import send_notification_emails

    (n,) = notify.notify(recipients=[learner], kind="announcement", verb="Hi", actor=trainer)
    assert run_tasks() == 1
    send_notification_emails.call([n.id])
    assert len(mail.outbox) == 1
    n.refresh_from_db()
    assert n.emailed


def test_preference_off_stores_nothing(learner, trainer, published):
    notify.preference_set(user=learner, kind="announcement", delivery=Delivery.OFF)
    assert notify.notify(recipients=[learner], kind="announcement", verb="x", actor=trainer) == []
    assert not Notification.objects.exists()
    assert published() == []


def test_unknown_kind_or_delivery_is_refused(learner):
    with pytest.raises(ValidationError):
        notify.preference_set(user=learner, kind="nope", delivery=Delivery.OFF)
    with pytest.raises(ValidationError):
        notify.preference_set(user=learner, kind="announcement", delivery="carrier pigeon")


def test_mark_read_touches_only_own_notifications(learner, learner2, trainer, published):
    mine = notify.notify(recipients=[learner], kind="announcement", verb="a", actor=trainer)
    theirs = notify.notify(recipients=[learner2], kind="announcement", verb="b", actor=trainer)
    notify.notifications_mark_read(user=learner, ids=[mine[0].id, theirs[0].id])
    assert notify.unread_count(user=learner) == 0
    assert notify.unread_count(user=learner2) == 1
    read = published(f"hub.user.{learner.pk}")[-1]
    assert read.type == "notifications.read" and read.id is None
    assert read.data == {"ids": sorted([mine[0].id, theirs[0].id]), "unread_count": 0}


def test_the_recipient_is_never_shown_as_the_one_who_did_it(learner, trainer, published):
    """A notice about something the recipients did themselves (a reminder of their own
    registration) names no actor; one done by someone else names them."""
    own = notify.notify(
        recipients=[learner, trainer], kind="announcement", verb="Reminder", actor=learner
    )
    by_recipient = {n.recipient_id: notify.notification_payload(n) for n in own}
    assert by_recipient[learner.pk]["actor"] == ""
    assert by_recipient[trainer.pk]["actor"] == learner.name
    assert published(f"hub.user.{learner.pk}")[0].data["actor"] == ""
    assert published(f"hub.user.{trainer.pk}")[0].data["actor"] == learner.name


def test_notify_many_one_insert_preferences_and_emails(
    learner, learner2, trainer, space, run_tasks, django_assert_max_num_queries
):
    """A batch of notices: each recipient's preference honoured (off: nothing), the e-mails
    sent by one job, no live push per person (the backlog replays them)."""
    from hub.realtime_topics import UserTopic

    learner.email, learner2.email = "leo@example.test", "lina@example.test"
    learner.save()
    learner2.save()
    notify.preference_set(user=learner2, kind="announcement", delivery=Delivery.OFF)
    notices = [
        notify.Notice(learner.pk, "First for Leo"),
        notify.Notice(learner.pk, "Second for Leo", actor=learner2),
        notify.Notice(learner2.pk, "Lina said no"),
    ]
    with django_assert_max_num_queries(8):
        created = notify.notify_many(notices, kind="announcement", actor=trainer, url="/x/")
    assert [n.verb for n in created] == ["First for Leo", "Second for Leo"]
    assert [n.data["actor_name"] for n in created] == [trainer.name, learner2.name]
    assert not Notification.objects.filter(recipient=learner2).exists()
    events = UserTopic().backlog(learner, str(learner.pk), 0, 10)
    assert [e.data["verb"] for e in events] == ["First for Leo", "Second for Leo"]
    mail.outbox.clear()
    assert run_tasks() == 1  # one e-mail job for the batch
    assert sorted(m.subject for m in mail.outbox) == ["First for Leo", "Second for Leo"]
    assert notify.notify_many([], kind="announcement", actor=trainer) == []
