"""Demo live classes: one planned the trainer can start, one ended with its attendance."""

from __future__ import annotations

import pytest

from classrooms import demo, selectors
from classrooms.models import LiveClass, LiveClassStatus

pytestmark = pytest.mark.django_db


def test_demo_live_classes_are_seeded_once(space, trainer, learner, learner2, manager):
    users = {"trainer": trainer, "learner": learner, "learner2": learner2, "manager": manager}
    demo.seed(users=users, space=space)
    demo.seed(users=users, space=space)
    planned = LiveClass.objects.get(status=LiveClassStatus.SCHEDULED)
    assert planned.activity is not None and planned.scheduled_start is not None
    assert selectors.liveclass_role(trainer, planned) == "trainer"
    assert selectors.can_join_liveclass(learner, planned)
    ended = LiveClass.objects.get(status=LiveClassStatus.ENDED)
    rows = {r["user"]: r for r in selectors.attendance_rows(ended)}
    assert rows[learner.pk]["percent"] == 100
    assert rows[learner2.pk]["percent"] == 40 and len(rows[learner2.pk]["intervals"]) == 2
