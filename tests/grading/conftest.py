"""A course with one graded assignment (passed when graded, rubric of two criteria) taught
by ``trainer``; ``learner`` and ``learner2`` enrolled."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from classrooms import services as classrooms_services
from classrooms.models import ActivityKind, CompletionRule
from grading import services


def build_assignment(*, trainer, space, learners=(), title="Report writing"):
    course = classrooms_services.course_create(
        author=trainer, space=space, title=title, published=True
    )
    module = classrooms_services.module_create(user=trainer, course=course, title="Write")
    essay = classrooms_services.activity_create(
        user=trainer, module=module, title="Essay", kind=ActivityKind.ASSIGNMENT
    )
    essay = classrooms_services.activity_update(
        user=trainer, activity=essay, completion_rule=CompletionRule.GRADED
    )
    for person in learners:
        classrooms_services.enrolment_create(actor=trainer, user=person, course=course)
    rubric = services.rubric_save(
        user=trainer,
        activity=essay,
        criteria=[
            {"title": "Structure", "max_points": 10, "description": "A *plan*"},
            {"title": "Content", "max_points": 10},
        ],
        pass_mark=60,
        max_submissions=2,
    )
    criteria = list(rubric.criteria.all())
    return SimpleNamespace(course=course, essay=essay, rubric=rubric, criteria=criteria)


def scores(criteria, *points, comment=""):
    return [
        {"criterion": c.pk, "points": p, "comment": comment}
        for c, p in zip(criteria, points, strict=True)
    ]


@pytest.fixture
def g(trainer, space, learner, learner2):
    return build_assignment(trainer=trainer, space=space, learners=[learner, learner2])
