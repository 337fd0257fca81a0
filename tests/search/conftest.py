"""Fixtures of the search tests: a group conversation with a message, a forum topic, a
library item and courses, all indexed as the app's own writes index them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from forums.models import Forum
from hub.accounts.models import Role
from messaging import services as chat
from search import selectors
from tests.factories import SpaceFactory, UserFactory
from tests.forums.conftest import age


@pytest.fixture
def find(commit) -> Callable[..., list[Any]]:
    """``find(user, "words", where=...)``: the hits ``user`` gets (after commit hooks ran)."""

    def run(user: Any, query: str, **filters: Any) -> list[Any]:
        commit()
        return selectors.search(user=user, query=query, filters=selectors.Filters(**filters)).hits

    return run


@pytest.fixture
def group(trainer, learner, learner2):
    return chat.conversation_group_create(
        creator=trainer, title="Study group", members=[learner, learner2]
    )


@pytest.fixture
def forum(space):
    return Forum.objects.create(space=space, title="Community", kind=Forum.Kind.COMMUNITY)


@pytest.fixture
def elsewhere(db):
    """Another space, with its own member and forum."""
    other = SpaceFactory(name="Other", slug="other")
    member = UserFactory(username="other1", roles=[Role.LEARNER], spaces=[other])
    age(member)
    return other, member, Forum.objects.create(space=other, title="Theirs")
