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


@pytest.fixture(autouse=True)
def _catch_up_at_once(settings):
    """New chat messages are indexed by a catch-up job queued for a second later: here it is
    due at once (``find`` runs the jobs), and no process-local wait carries over."""
    from search import indexing

    settings.LYCEUM_SEARCH = {**getattr(settings, "LYCEUM_SEARCH", {}), "CATCH_UP_SECONDS": 0}
    indexing.catch_up_jobs.forget()


@pytest.fixture
def find(run_tasks) -> Callable[..., list[Any]]:
    """``find(user, "words", where=...)``: the hits ``user`` gets (after commit hooks and
    background jobs ran: new chat messages are indexed by a catch-up job)."""

    def run(user: Any, query: str, **filters: Any) -> list[Any]:
        run_tasks()
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
