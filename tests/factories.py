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
