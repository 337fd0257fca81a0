"""Demo data: two courses, a bank of 20+ questions, learners at different progress."""

from __future__ import annotations

import pytest

from classrooms import demo
from classrooms.models import ActivityKind, Course, Enrolment

pytestmark = pytest.mark.django_db


def test_seed_is_complete_and_idempotent(space, trainer, learner, learner2, manager):
    users = {"trainer": trainer, "learner": learner, "learner2": learner2, "manager": manager}
    demo.seed(users=users, space=space)
    demo.seed(users=users, space=space)
    courses = Course.objects.filter(space=space)
    assert courses.count() == 2
    safety = courses.get(title="Workplace safety")
    assert safety.questions.count() >= 20
    kinds = set(safety.activities.values_list("kind", flat=True))
    assert {ActivityKind.LESSON, ActivityKind.MEDIA, ActivityKind.QUIZ} <= kinds
    progress = sorted(Enrolment.objects.filter(course=safety).values_list("progress", flat=True))
    assert len(set(progress)) == 2 and progress[-1] == 100
