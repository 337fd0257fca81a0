"""A "Forklift licence" certification (24 months, a 60-day window) earned by a one-lesson
course, with a refresher path as its recertification path; learner and learner2 enrolled."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from certifications import services
from classrooms import services as classrooms_services
from classrooms.models import ActivityKind
from paths import services as paths_services


def one_lesson_course(trainer, space, title):
    course = classrooms_services.course_create(
        author=trainer, space=space, title=title, published=True
    )
    module = classrooms_services.module_create(user=trainer, course=course, title="M")
    lesson = classrooms_services.activity_create(
        user=trainer, module=module, title=f"{title} lesson", kind=ActivityKind.LESSON
    )
    return course, lesson


@pytest.fixture
def f(trainer, coordinator, space, learner, learner2):
    course, lesson = one_lesson_course(trainer, space, "Forklift")
    refresher, refresher_lesson = one_lesson_course(trainer, space, "Forklift refresher")
    recert = paths_services.path_create(user=trainer, space=space, title="Forklift recert")
    paths_services.path_item_add(user=trainer, path=recert, course=refresher)
    cert = services.certification_create(
        user=coordinator,
        space=space,
        title="Forklift licence <b>",
        course=course,
        validity_months=24,
        window_days=60,
        recert_path=recert,
    )
    for person in (learner, learner2):
        classrooms_services.enrolment_create(actor=trainer, user=person, course=course)
    return SimpleNamespace(
        cert=cert, course=course, lesson=lesson, recert=recert, refresher_lesson=refresher_lesson
    )


@pytest.fixture
def receiver(settings):
    """The integrations tests' webhook receiver (a real HTTP server checking signatures with
    the Standard Webhooks library)."""
    from tests.integrations.conftest import Receiver

    # It listens on 127.0.0.1, which subscriptions may not reach by default (SSRF guard).
    settings.INTEGRATIONS_ALLOW_PRIVATE_NETWORKS = True
    r = Receiver()
    yield r
    r.close()
