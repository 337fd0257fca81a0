"""Chat fixtures: a direct conversation, a group and a course channel."""

from __future__ import annotations

import pytest

from messaging import services


@pytest.fixture(autouse=True)
def notices_without_delay(settings):
    """Notification jobs due at once, so ``run_tasks`` runs them (the delay has its own test)."""
    settings.LYCEUM_MESSAGING = {
        **getattr(settings, "LYCEUM_MESSAGING", {}),
        "NOTIFY_DELAY_SECONDS": 0,
    }
    services.notification_jobs.forget()
    yield
    services.notification_jobs.forget()


@pytest.fixture
def direct(learner, learner2):
    return services.conversation_direct_open(user=learner, other=learner2)


@pytest.fixture
def group(trainer, learner, learner2):
    return services.conversation_group_create(
        creator=trainer, title="Study group", members=[learner, learner2]
    )


@pytest.fixture
def course(space):
    from classrooms.models import Course

    return Course.objects.create(space=space, title="Python 101")


@pytest.fixture
def channel(course, trainer, learner, learner2):
    for person in (trainer, learner, learner2):
        services.on_enrolled(user=person, course=course)
    from messaging.models import Conversation

    return Conversation.objects.get(kind="course", course_id=course.pk)
