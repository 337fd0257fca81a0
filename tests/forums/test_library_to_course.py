"""An approved library item becomes a course activity, added by the course's trainer."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from notifications.models import Notification

from classrooms import services as course_services
from classrooms.models import Activity, ActivityKind
from forums import services
from forums.models import LibraryItem
from hub.accounts.models import Role
from tests.factories import SpaceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(trainer, space):
    course = course_services.course_create(author=trainer, space=space, title="Onboarding")
    course_services.module_create(user=trainer, course=course, title="Week 1")
    return course


def submit(author, space, kind, **fields) -> LibraryItem:
    return services.library_item_submit(author=author, space=space, kind=kind, **fields)


def approve(item, reviewer) -> LibraryItem:
    return services.library_item_review(reviewer=reviewer, item=item, approve=True)


def test_article_becomes_a_lesson_once(trainer, learner, space, course):
    item = approve(submit(learner, space, "article", title="My tips", body="**Do** this"), trainer)
    module = course.modules.get()
    activity = services.library_item_add_to_course(user=trainer, item=item, module=module)
    assert activity.kind == ActivityKind.LESSON
    assert activity.title == "My tips" and "<strong>Do</strong>" in activity.body_html
    again = services.library_item_add_to_course(user=trainer, item=item, module=module)
    assert again.pk == activity.pk
    assert Activity.objects.filter(course=course).count() == 1
    told = Notification.objects.filter(recipient=learner, verb__contains="Onboarding")
    assert told.count() == 1


def test_link_becomes_a_document(trainer, learner, space, course):
    item = approve(
        submit(learner, space, "link", title="Guide", url="https://example.org/g"), trainer
    )
    activity = services.library_item_add_to_course(
        user=trainer, item=item, module=course.modules.get()
    )
    assert activity.kind == ActivityKind.MEDIA and activity.media_url == "https://example.org/g"


def test_refusals_change_nothing(trainer, learner, learner2, space, course):
    waiting = submit(learner, space, "article", title="Not yet", body="x")
    module = course.modules.get()
    with pytest.raises(ValidationError):
        services.library_item_add_to_course(user=trainer, item=waiting, module=module)
    item = approve(submit(learner, space, "article", title="Fine", body="x"), trainer)
    with pytest.raises(PermissionDenied):
        services.library_item_add_to_course(user=learner2, item=item, module=module)
    other_trainer = UserFactory(roles=[Role.TRAINER], spaces=[space])
    with pytest.raises(PermissionDenied):  # not a trainer of this course
        services.library_item_add_to_course(user=other_trainer, item=item, module=module)
    elsewhere = SpaceFactory()
    foreign = course_services.course_create(
        author=UserFactory(roles=[Role.TRAINER], spaces=[elsewhere]), space=elsewhere, title="F"
    )
    foreign_module = course_services.module_create(
        user=foreign.trainers.get(), course=foreign, title="M"
    )
    with pytest.raises(ValidationError):
        services.library_item_add_to_course(
            user=foreign.trainers.get(), item=item, module=foreign_module
        )
    assert not Activity.objects.exists()


def test_rest_and_page(api_client_for, client, trainer, learner, space, course):
    item = approve(submit(learner, space, "article", title="Shared", body="x"), trainer)
    module = course.modules.get()
    url = f"/api/v1/forums/library/{item.pk}/add-to-course/"
    assert (
        api_client_for(learner).post(url, {"module": module.pk}, format="json").status_code == 403
    )
    assert api_client_for(trainer).post(url, {"module": 999999}, format="json").status_code == 400
    response = api_client_for(trainer).post(url, {"module": module.pk}, format="json")
    assert response.status_code == 201
    assert response.json()["course"] == course.pk
    client.force_login(trainer)
    page = client.get(item.get_absolute_url()).content.decode()
    assert 'data-testid="add-to-course-form"' in page and "Onboarding" in page
    assert (
        client.post(item.get_absolute_url(), {"action": "add_to_course", "module": "x"}).status_code
        == 404
    )
    client.force_login(learner)
    assert (
        'data-testid="add-to-course-form"'
        not in client.get(item.get_absolute_url()).content.decode()
    )
