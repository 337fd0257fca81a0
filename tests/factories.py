"""Factories for tests: people with roles, spaces, teams."""

from __future__ import annotations

import factory

from hub.accounts.models import Role, Space, Team, User
from hub.accounts.services import roles_set, space_add_member

PASSWORD = "lyceum-test-pw"


class SpaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Space

    name = factory.Sequence(lambda n: f"Space {n}")
    slug = factory.Sequence(lambda n: f"space-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    """``UserFactory(roles=["trainer"], spaces=[space])``."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    display_name = factory.LazyAttribute(lambda u: u.username.title())
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted: list[str] | None, **kwargs) -> None:
        self.save()
        roles_set(user=self, roles=extracted if extracted is not None else [Role.LEARNER])

    @factory.post_generation
    def spaces(self, create: bool, extracted: list[Space] | None, **kwargs) -> None:
        for space in extracted or []:
            space_add_member(space=space, user=self)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    space = factory.SubFactory(SpaceFactory)
    manager = factory.SubFactory(UserFactory, roles=[Role.MANAGER])

    @factory.post_generation
    def members(self, create: bool, extracted: list[User] | None, **kwargs) -> None:
        if extracted:
            self.members.set(extracted)


def build_live_class(*, trainer, space, learners=(), capacity=None, start=True):
    """A course with a live-class activity, ``learners`` enrolled, and a live class for the
    activity that ``trainer`` has joined (and started, unless ``start=False``)."""
    from types import SimpleNamespace

    from classrooms import services
    from classrooms.models import ActivityKind

    course = services.course_create(
        author=trainer, space=space, title="Live French", summary="", published=True
    )
    module = services.module_create(user=trainer, course=course, title="Week 1")
    activity = services.activity_create(
        user=trainer, module=module, title="Conversation class", kind=ActivityKind.LIVE_CLASS
    )
    for learner in learners:
        services.enrolment_create(actor=trainer, user=learner, course=course)
    live_class = services.liveclass_create(
        actor=trainer,
        space=space,
        course=course,
        activity=activity,
        title="Conversation class",
        capacity=capacity,
    )
    services.liveclass_join(user=trainer, live_class=live_class)
    if start:
        services.liveclass_start(actor=trainer, live_class=live_class)
    live_class.refresh_from_db()
    return SimpleNamespace(course=course, activity=activity, live_class=live_class)
