"""A skills framework in the test space: "Safety" (Fire safety, First aid) and "Sales"
(Negotiation), the default four levels; a one-lesson course linked to Fire safety at 2 and
its lesson at 1; learner and learner2 (the manager's Team A) enrolled."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from skills import services
from tests.certifications.conftest import one_lesson_course


@pytest.fixture
def fw(coordinator, trainer, space, learner, learner2, manager):
    return make_framework(coordinator, trainer, space, [learner, learner2], manager)


def make_framework(coordinator, trainer, space, learners, manager) -> SimpleNamespace:
    from classrooms import services as classrooms_services

    framework = services.framework_ensure(user=coordinator, space=space)
    services.import_apply(
        user=coordinator,
        framework=framework,
        data="group,skill,description\nSafety,Fire safety,Evacuate\nSafety,First aid,\n"
        "Sales,Negotiation,Win-win\n",
    )
    skills = {s.name: s for s in framework.skills.all()}
    course, lesson = one_lesson_course(trainer, space, "Fire drills")
    for person in learners:
        classrooms_services.enrolment_create(actor=trainer, user=person, course=course)
    services.link_add(user=coordinator, skill=skills["Fire safety"], level=2, course=course)
    services.link_add(user=coordinator, skill=skills["Fire safety"], level=1, activity=lesson)
    team = manager.managed_teams.get()
    return SimpleNamespace(
        framework=framework, skills=skills, course=course, lesson=lesson, team=team
    )
