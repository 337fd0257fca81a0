"""A space whose rule pays 0 for an event still counts the event for its badges.

The event is recorded as a 0-point ledger row (idempotent like any award); such a row is
never a board entry: not in the rank store, not in the database store's reads, not in a
rebuilt board."""

from __future__ import annotations

import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from hub import events
from leaderboards import ranks, selectors, services
from leaderboards.models import (
    BadgeAward,
    BadgeCriterion,
    BadgeDefinition,
    PointAward,
    PointRule,
    Reason,
)
from tests.conftest import SERVICES_MODE
from tests.leaderboards.conftest import space_key

pytestmark = pytest.mark.django_db


def _zero(space, *reasons: str) -> None:
    for reason in reasons:
        PointRule.objects.create(space=space, reason=reason, amount=0)


def _badge(space, name: str, criterion: str, threshold: int = 1, **extra) -> BadgeDefinition:
    return BadgeDefinition.objects.create(
        space=space, name=name, criterion=criterion, threshold=threshold, **extra
    )


def _held(user) -> set[str]:
    return set(BadgeAward.objects.filter(user=user).values_list("badge__name", flat=True))


def _off_the_boards(store, user, keys: list[str]) -> None:
    for key in keys:
        assert store.score_of(key, user.pk) is None, key
        assert store.rank_of(key, user.pk) is None, key
        assert user.pk not in [e.user_id for e in store.top(key, 10)], key


def test_course_events_earn_their_badges_under_rules_of_zero(
    space, learner, course_setup, commit, store
):
    _zero(space, Reason.LESSON_DONE, Reason.QUIZ_PASSED, Reason.COURSE_COMPLETED)
    course = course_setup.course
    _badge(space, "Reader", BadgeCriterion.EVENTS, 2, reason=Reason.LESSON_DONE)
    _badge(space, "Examined", BadgeCriterion.EVENTS, 1, reason=Reason.QUIZ_PASSED)
    _badge(space, "Graduate", BadgeCriterion.COURSE, course=course)
    _badge(space, "Any course", BadgeCriterion.COURSE, 1)
    _badge(space, "Scorer", BadgeCriterion.POINTS, 1)  # points stay points: not earned
    for activity in (course_setup.lesson, course_setup.optional, course_setup.quiz):
        events.emit("classrooms.activity_completed", user=learner, activity=activity)
    events.emit("classrooms.course_completed", user=learner, course=course)
    commit()
    assert _held(learner) == {"Reader", "Examined", "Graduate", "Any course"}
    rows = PointAward.objects.filter(user=learner)
    assert sorted(rows.values_list("reason", "amount")) == [
        (Reason.COURSE_COMPLETED, 0),
        (Reason.LESSON_DONE, 0),
        (Reason.LESSON_DONE, 0),
        (Reason.QUIZ_PASSED, 0),
    ]
    # Recorded once, like any award: the same event again adds nothing.
    events.emit("classrooms.course_completed", user=learner, course=course)
    commit()
    assert rows.count() == 4
    keys = ranks.current_keys("space", space.pk) + ranks.current_keys("course", course.pk)
    _off_the_boards(store, learner, keys)
    board = selectors.board_payload(user=learner, key=space_key(space))
    assert board["top"] == [] and board["me"]["rank"] is None and board["me"]["score"] == 0
    assert selectors.points_of(user=learner, space_id=space.pk) == {
        "all": 0,
        "week": 0,
        "month": 0,
    }
    # Nor is it in the person's point history: it paid nothing.
    assert selectors.awards_of(user=learner) == []
    source = ContentType.objects.first()
    services.points_award(user=learner, reason=Reason.ANSWER_ACCEPTED, source=source, space=space)
    assert [a.reason for a in selectors.awards_of(user=learner)] == [Reason.ANSWER_ACCEPTED]


def test_duel_wins_badge_under_a_rule_of_zero(space, learner, learner2, commit, store):
    _zero(space, Reason.DUEL_WON)
    _badge(space, "Duellist", BadgeCriterion.DUEL_WINS, 2)
    sources = list(ContentType.objects.order_by("pk")[:2])
    for source in sources:
        award = services.points_award(
            user=learner, reason=Reason.DUEL_WON, source=source, space=space
        )
        assert award is not None and award.amount == 0
    # Someone who earns points is on the board; the 0-point winner is not.
    services.points_award(user=learner2, reason=Reason.LESSON_DONE, source=space, space=space)
    commit()
    assert _held(learner) == {"Duellist"}
    _off_the_boards(store, learner, ranks.current_keys("space", space.pk))
    assert [e.user_id for e in store.top(space_key(space), 10)] == [learner2.pk]


def test_bulk_awards_record_zero_point_events_for_badges(space, learner, commit, store):
    _zero(space, Reason.ATTENDANCE)
    _badge(space, "Regular", BadgeCriterion.EVENTS, 2, reason=Reason.ATTENDANCE)
    sources = list(ContentType.objects.order_by("pk")[:2])
    created = services.points_award_many(
        events=[
            {"user": learner, "reason": Reason.ATTENDANCE, "source": s, "space": space}
            for s in sources
        ]
    )
    commit()
    assert [a.amount for a in created] == [0, 0]
    assert _held(learner) == {"Regular"}
    _off_the_boards(store, learner, ranks.current_keys("space", space.pk))


def test_a_rebuilt_board_has_no_zero_point_entries(space, learner, learner2, commit, store):
    _zero(space, Reason.LESSON_DONE)
    services.points_award(user=learner, reason=Reason.LESSON_DONE, source=space, space=space)
    services.points_award(user=learner2, reason=Reason.QUIZ_PASSED, source=space, space=space)
    commit()
    key = space_key(space)
    assert ranks.rebuild_board(key) == 1
    if SERVICES_MODE:
        call_command("rebuild_leaderboards", stdout=io.StringIO())
    _off_the_boards(store, learner, ranks.current_keys("space", space.pk))
    assert store.score_of(key, learner2.pk) == 20
