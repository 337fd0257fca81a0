"""Fixtures of the leaderboards tests: a course (from the classrooms tests) and badges."""

from __future__ import annotations

import pytest

from leaderboards import ranks
from tests.classrooms.conftest import build_course


@pytest.fixture
def course_setup(trainer, space, learner, learner2, manager):
    return build_course(trainer=trainer, space=space, learners=[learner, learner2])


@pytest.fixture
def store():
    return ranks.get_store()


def space_key(space, window="all"):
    return ranks.board_key("space", space.pk, window)
