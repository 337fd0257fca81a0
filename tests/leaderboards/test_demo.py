"""Demo data: badges, points for the demo learners' progress, a manual badge; idempotent."""

from __future__ import annotations

import pytest

from classrooms import demo as classrooms_demo
from leaderboards import demo
from leaderboards.models import BadgeAward, BadgeDefinition, PointAward

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent(space, trainer, learner, learner2, manager):
    users = {"trainer": trainer, "learner": learner, "learner2": learner2, "manager": manager}
    classrooms_demo.seed(users=users, space=space)
    demo.seed(users=users, space=space)
    counts = (
        BadgeDefinition.objects.count(),
        PointAward.objects.count(),
        BadgeAward.objects.count(),
    )
    demo.seed(users=users, space=space)
    assert counts == (
        BadgeDefinition.objects.count(),
        PointAward.objects.count(),
        BadgeAward.objects.count(),
    )
    assert PointAward.objects.filter(user=learner).exists()
    assert BadgeAward.objects.filter(user=learner, badge__name="Helping hand").exists()


def test_seed_plays_one_finished_duel(space, trainer, learner, learner2, manager):
    from leaderboards.models import Duel, DuelRating, Reason

    users = {"trainer": trainer, "learner": learner, "learner2": learner2, "manager": manager}
    classrooms_demo.seed(users=users, space=space)
    demo.seed(users=users, space=space)
    demo.seed(users=users, space=space)
    duel = Duel.objects.get()
    assert duel.status == "finished" and duel.winner_id == learner.pk
    assert DuelRating.objects.get(user=learner, course=duel.course).rating == 1216
    assert PointAward.objects.filter(user=learner, reason=Reason.DUEL_WON).count() == 1
    assert BadgeAward.objects.filter(user=learner, badge__name="Duellist").exists()
