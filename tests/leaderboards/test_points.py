"""The points ledger: idempotent awards, rules per space, boards, hiding, event handlers."""

from __future__ import annotations

import threading

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from leaderboards import ranks, selectors, services
from leaderboards.models import PointAward, PointRule, Reason
from tests.conftest import SERVICES_MODE
from tests.leaderboards.conftest import space_key

pytestmark = pytest.mark.django_db


def test_same_award_twice_pays_once(learner, space, commit, store):
    source = ContentType.objects.first()
    first = services.points_award(
        user=learner, reason=Reason.LESSON_DONE, source=source, space=space
    )
    again = services.points_award(
        user=learner, reason=Reason.LESSON_DONE, source=source, space=space
    )
    commit()
    assert again.pk == first.pk
    assert PointAward.objects.filter(user=learner).count() == 1
    assert store.score_of(space_key(space), learner.pk) == 10
    # Another reason on the same source pays again.
    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=source, space=space)
    commit()
    assert store.score_of(space_key(space), learner.pk) == 30


def test_rules_per_space_override_defaults(learner, space, commit):
    PointRule.objects.create(space=space, reason=Reason.LESSON_DONE, amount=3)
    award = services.points_award(
        user=learner, reason=Reason.LESSON_DONE, source=space, space=space
    )
    assert award.amount == 3
    PointRule.objects.create(space=space, reason=Reason.ATTENDANCE, amount=0)
    # A rule of 0 pays nothing but still records the event (badges count it).
    zero = services.points_award(user=learner, reason=Reason.ATTENDANCE, source=space, space=space)
    assert zero.amount == 0


def test_lost_race_returns_the_winners_row(learner, space, monkeypatch):
    """The existence check passes for both racers; the constraint decides."""
    source = ContentType.objects.first()
    winner = PointAward.objects.create(
        user=learner,
        space=space,
        amount=10,
        reason=Reason.LESSON_DONE,
        source_type=ContentType.objects.get_for_model(source),
        source_id=source.pk,
    )
    real_filter = PointAward.objects.filter

    class Blind:
        def first(self):
            return None

    monkeypatch.setattr(
        PointAward.objects, "filter", lambda **kw: Blind() if "reason" in kw else real_filter(**kw)
    )
    again = services.points_award(
        user=learner, reason=Reason.LESSON_DONE, source=source, space=space
    )
    assert again.pk == winner.pk
    monkeypatch.undo()
    assert PointAward.objects.filter(user=learner).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not SERVICES_MODE, reason="concurrent writers need PostgreSQL")
def test_concurrent_retries_pay_once_in_services_mode(space):
    from tests.factories import UserFactory

    learner = UserFactory(spaces=[space])
    source = ContentType.objects.first()
    barrier = threading.Barrier(4)
    errors = []

    def award():
        try:
            barrier.wait()
            services.points_award(
                user=learner, reason=Reason.LESSON_DONE, source=source, space=space
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=award) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert PointAward.objects.filter(user=learner).count() == 1
    assert ranks.get_store().score_of(space_key(space), learner.pk) == 10


def test_hidden_learner_absent_from_boards_but_sees_own_points(
    learner, learner2, space, commit, store
):
    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    services.points_award(user=learner2, reason=Reason.LESSON_DONE, source=space, space=space)
    commit()
    key = space_key(space)
    assert store.rank_of(key, learner.pk) == 1
    services.ranking_hide(user=learner)
    commit()
    assert store.rank_of(key, learner.pk) is None
    assert [e.user_id for e in store.top(key, 10)] == [learner2.pk]
    assert store.rank_of(key, learner2.pk) == 1
    # Still paid while hidden, still absent, and sees their own points.
    services.points_award(user=learner, reason=Reason.COURSE_COMPLETED, source=space, space=space)
    commit()
    assert store.rank_of(key, learner.pk) is None
    assert selectors.points_of(user=learner, space_id=space.pk)["all"] == 120
    board = selectors.board_payload(user=learner, key=key)
    assert board["me"] == {"rank": None, "score": 120, "hidden": True}
    assert [e["user"]["id"] for e in board["top"]] == [learner2.pk]
    services.ranking_show(user=learner)
    commit()
    assert store.rank_of(key, learner.pk) == 1
    assert store.score_of(key, learner.pk) == 120


def test_lesson_completion_pays_points_after_commit(course_setup, learner, space, commit, store):
    from classrooms import services as classrooms

    c = course_setup
    classrooms.activity_view(user=learner, activity=c.lesson)
    assert not PointAward.objects.filter(user=learner).exists()  # not before commit
    commit()
    award = PointAward.objects.get(user=learner)
    assert (award.reason, award.amount, award.course_id) == (
        Reason.LESSON_DONE,
        10,
        c.course.pk,
    )
    # The same event again (a retry) pays nothing more.
    services.on_activity_completed(user=learner, activity=c.lesson)
    commit()
    assert PointAward.objects.filter(user=learner).count() == 1
    assert store.score_of(ranks.board_key("course", c.course.pk, "week"), learner.pk) == 10


def test_course_completion_pays_once(course_setup, learner, space, commit):
    from classrooms import services as classrooms

    c = course_setup
    for activity in (c.lesson, c.media):
        classrooms.activity_complete(user=learner, activity=activity, source="viewed")
    classrooms.activity_complete(user=learner, activity=c.quiz, source="quiz_passed")
    commit()
    reasons = sorted(PointAward.objects.filter(user=learner).values_list("reason", flat=True))
    assert reasons == ["course_completed", "lesson_done", "lesson_done", "quiz_passed"]
    services.on_course_completed(user=learner, course=c.course)
    commit()
    assert PointAward.objects.filter(user=learner, reason="course_completed").count() == 1
    assert selectors.points_of(user=learner, space_id=space.pk)["all"] == 10 + 10 + 20 + 100


def test_team_board_counts_team_members_only(learner, learner2, manager, space, commit, store):
    from hub.accounts.models import Team
    from tests.factories import UserFactory

    team = Team.objects.get(manager=manager)
    other = UserFactory(spaces=[space])
    for user in (learner, other):
        services.points_award(user=user, reason=Reason.QUIZ_PASSED, source=space, space=space)
    commit()
    key = ranks.board_key("team", team.pk, "all")
    assert [(e.user_id, e.rank) for e in store.top(key, 10)] == [(learner.pk, 1)]
    assert store.rank_of(space_key(space), other.pk) == 1  # tied with learner


def test_rebuild_from_the_ledger(learner, learner2, space, commit, store):
    from django.core.management import call_command

    services.points_award(user=learner, reason=Reason.QUIZ_PASSED, source=space, space=space)
    services.points_award(user=learner2, reason=Reason.LESSON_DONE, source=space, space=space)
    commit()
    key = space_key(space)
    store.remove(key, learner.pk)  # the board lost an update
    call_command("rebuild_leaderboards")
    assert [(e.user_id, e.score, e.rank) for e in store.top(key, 10)] == [
        (learner.pk, 20, 1),
        (learner2.pk, 10, 2),
    ]


def test_board_keys_parse_and_refuse_nonsense():
    board = ranks.parse_board("space-3-week-2026W48")
    assert (board.scope, board.id, board.window) == ("space", 3, "week")
    assert board.start.isoformat().startswith("2026-11-23")
    assert ranks.parse_board("course-7-month-2026-11").end.month == 12
    assert ranks.parse_board("team-1-all").start is None
    for bad in ("space-x-all", "user-1-all", "space-1-month-2026-13", "space-1-all;DEL"):
        with pytest.raises(ValueError):
            ranks.parse_board(bad)
