"""Fixtures of the forum tests: a community forum of the test space, a thread in it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from forums.models import Forum, TrustLevel
from forums.services import thread_create
from hub.accounts.models import Role
from tests.factories import UserFactory


def age(user, days: float = 30, level: int = 1) -> None:
    """Make an account old, at trust level ``level`` in its spaces (out of level 0's limits,
    as if it had read enough: levels are only lost through upheld flags)."""
    type(user).objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=days))
    user.refresh_from_db()
    for space_id in user.space_memberships.values_list("space_id", flat=True):
        TrustLevel.objects.update_or_create(user=user, space_id=space_id, defaults={"level": level})


@pytest.fixture
def forum(space):
    return Forum.objects.create(space=space, title="Community", kind=Forum.Kind.COMMUNITY)


@pytest.fixture
def veteran(space):
    """A learner whose account is old (no new-account limits)."""
    user = UserFactory(username="veteran", roles=[Role.LEARNER], spaces=[space])
    age(user)
    return user


@pytest.fixture
def thread(forum, learner):
    age(learner)
    return thread_create(author=learner, forum=forum, title="Hello", body="First post")


@pytest.fixture
def question(forum, learner):
    age(learner)
    return thread_create(
        author=learner, forum=forum, title="How?", body="How does it work?", kind="question"
    )
