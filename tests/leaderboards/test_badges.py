"""Badges: automatic criteria, manual awards by a trainer, notifications, Open Badges."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from notifications.models import Notification

from leaderboards import selectors, services
from leaderboards.models import BadgeAward, BadgeCriterion, BadgeDefinition, PointAward, Reason

pytestmark = pytest.mark.django_db


def _pay(user, space, reason=Reason.LESSON_DONE, n=1):
    for source in ContentType.objects.all()[:n]:
        services.points_award(user=user, reason=reason, source=source, space=space)


def test_points_threshold_badge_awarded_once_and_notified(learner, space, commit):
    badge = BadgeDefinition.objects.create(
        space=space, name="Thirty", criterion=BadgeCriterion.POINTS, threshold=30
    )
    _pay(learner, space, n=2)
    assert not BadgeAward.objects.exists()
    _pay(learner, space, n=4)
    assert BadgeAward.objects.get().badge == badge
    _pay(learner, space, n=5)
    assert BadgeAward.objects.count() == 1
    commit()
    note = Notification.objects.get(recipient=learner)
    assert "Thirty" in note.verb and note.data["kind"] == "leaderboards.badge"


def test_event_count_and_duel_and_course_badges(learner, space, course_setup):
    events = BadgeDefinition.objects.create(
        space=space,
        name="Quizzer",
        criterion=BadgeCriterion.EVENTS,
        reason=Reason.QUIZ_PASSED,
        threshold=2,
    )
    duels = BadgeDefinition.objects.create(
        space=space, name="Duellist", criterion=BadgeCriterion.DUEL_WINS, threshold=1
    )
    course = BadgeDefinition.objects.create(
        space=space, name="Safe", criterion=BadgeCriterion.COURSE, course=course_setup.course
    )
    _pay(learner, space, reason=Reason.QUIZ_PASSED, n=1)
    _pay(learner, space, reason=Reason.LESSON_DONE, n=3)
    assert not BadgeAward.objects.filter(badge=events).exists()
    _pay(learner, space, reason=Reason.QUIZ_PASSED, n=2)
    assert BadgeAward.objects.filter(badge=events, user=learner).exists()
    _pay(learner, space, reason=Reason.DUEL_WON, n=1)
    assert BadgeAward.objects.filter(badge=duels, user=learner).exists()
    services.on_course_completed(user=learner, course=course_setup.course)
    assert BadgeAward.objects.filter(badge=course, user=learner).exists()


def test_streak_of_active_days(learner, space):
    badge = BadgeDefinition.objects.create(
        space=space, name="Three days", criterion=BadgeCriterion.STREAK, threshold=3
    )
    sources = list(ContentType.objects.all()[:5])
    today = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)
    for days_ago, source in zip([6, 4, 3], sources, strict=False):  # a gap, then two days
        a = services.points_award(
            user=learner, reason=Reason.LESSON_DONE, source=source, space=space
        )
        PointAward.objects.filter(pk=a.pk).update(created_at=today - dt.timedelta(days=days_ago))
    assert selectors.longest_streak(user=learner, space_id=space.pk) == 2
    assert not BadgeAward.objects.filter(badge=badge).exists()
    a = services.points_award(
        user=learner, reason=Reason.LESSON_DONE, source=sources[3], space=space
    )
    PointAward.objects.filter(pk=a.pk).update(created_at=today - dt.timedelta(days=2))
    services.badges_evaluate(user=learner, space=space)
    assert BadgeAward.objects.filter(badge=badge, user=learner).exists()


def test_manual_award_by_trainer_only(trainer, learner, outsider, space, commit):
    badge = BadgeDefinition.objects.create(space=space, name="Helper")
    with pytest.raises(PermissionDenied):
        services.badge_award_manual(actor=learner, user=learner, badge=badge)
    award = services.badge_award_manual(actor=trainer, user=learner, badge=badge, evidence="x")
    again = services.badge_award_manual(actor=trainer, user=learner, badge=badge)
    assert again.pk == award.pk and award.awarded_by == trainer
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.badge_award_manual(actor=trainer, user=outsider, badge=badge)
    # Automatic evaluation never hands out a manual badge.
    services.badges_evaluate(user=trainer, space=space)
    assert not BadgeAward.objects.filter(user=trainer).exists()
    commit()
    assert Notification.objects.filter(recipient=learner).count() == 1


def test_open_badges_assertion(api_client_for, trainer, learner, space):
    learner.email = "Lina@example.com"
    learner.save()
    badge = BadgeDefinition.objects.create(space=space, name="Helper", description="Helps")
    award = services.badge_award_manual(actor=trainer, user=learner, badge=badge)
    from rest_framework.test import APIClient

    r = APIClient().get(f"/api/v1/leaderboards/badge-awards/{award.pk}/assertion/")
    assert r.status_code == 200
    body = r.json()
    assert body["@context"] == "https://w3id.org/openbadges/v2"
    assert body["type"] == "Assertion" and body["verification"] == {"type": "hosted"}
    assert body["id"].endswith(f"/api/v1/leaderboards/badge-awards/{award.pk}/assertion/")
    # The BadgeClass is hosted at a URL of its own (tests/leaderboards/test_open_badges.py).
    assert body["badge"].endswith(f"/api/v1/leaderboards/badges/{badge.pk}/badge-class/")
    recipient = body["recipient"]
    assert recipient["hashed"] and "example.com" not in recipient["identity"]
    assert recipient["identity"] == selectors.email_identity("lina@example.com", recipient["salt"])


def test_a_new_automatic_badge_goes_to_whoever_already_meets_it(
    api_client_for, trainer, learner, learner2, space, run_tasks
):
    _pay(learner, space, n=4)  # 40 points
    _pay(learner2, space, n=1)  # 10 points
    r = api_client_for(trainer).post(
        "/api/v1/leaderboards/badges/",
        {"space": space.pk, "name": "Thirty", "criterion": "points", "threshold": 30},
        format="json",
    )
    assert r.status_code == 201, r.json()
    assert not BadgeAward.objects.exists()  # a job hands it out, not the request
    run_tasks()
    assert [a.user for a in BadgeAward.objects.all()] == [learner]
    assert Notification.objects.filter(recipient=learner, verb__contains="Thirty").count() == 1
    # Lowering the threshold reaches learner2 too; the job running twice gives nothing twice.
    badge = BadgeDefinition.objects.get()
    url = f"/api/v1/leaderboards/badges/{badge.pk}/"
    assert api_client_for(trainer).patch(url, {"threshold": 10}, format="json").status_code == 200
    run_tasks()
    assert services.badge_catch_up(badge_id=badge.pk) == 0
    assert sorted(a.user_id for a in BadgeAward.objects.all()) == sorted([learner.pk, learner2.pk])
    assert Notification.objects.filter(verb__contains="Thirty").count() == 2


def test_only_a_changed_criterion_or_an_automatic_badge_queues_the_catch_up(
    api_client_for, trainer, learner, space, run_tasks
):
    _pay(learner, space, n=4)
    client = api_client_for(trainer)
    r = client.post(
        "/api/v1/leaderboards/badges/",
        {"space": space.pk, "name": "Helper", "criterion": "manual"},
        format="json",
    )
    assert r.status_code == 201
    assert run_tasks() == 0  # a manual badge is given by hand only
    assert not BadgeAward.objects.exists()
    badge = BadgeDefinition.objects.create(
        space=space, name="Big", criterion=BadgeCriterion.POINTS, threshold=1000
    )
    url = f"/api/v1/leaderboards/badges/{badge.pk}/"
    assert client.patch(url, {"name": "Bigger"}, format="json").status_code == 200
    assert run_tasks() == 0  # a new name changes nobody's right to it
    assert client.patch(url, {"threshold": 40}, format="json").status_code == 200
    assert run_tasks() == 1
    assert BadgeAward.objects.get().user == learner
