"""Fixtures of the live games tests: a course with a question bank, a fake clock."""

from __future__ import annotations

import pytest

from tests.classrooms.conftest import build_course
from tests.leaderboards.conftest import FakeClock


@pytest.fixture
def course_setup(trainer, space, learner, learner2):
    return build_course(trainer=trainer, space=space, learners=[learner, learner2])


@pytest.fixture
def clock(monkeypatch):
    from leaderboards import clock as clock_module

    fake = FakeClock()
    monkeypatch.setattr(clock_module, "now", fake)
    return fake


@pytest.fixture(autouse=True)
def _game_defaults(settings):
    """No timer threads (tests drive the clock; the distribution flushes at once)."""
    from games import selectors, timers
    from games.book import book

    selectors._player_ids.clear()  # ids come back after a rolled-back test
    selectors._question_ids.clear()
    book().reset()  # so do game ids (SQLite, or a new test database)
    settings.GAME_TIMERS = False
    settings.GAME_SECONDS = 20
    settings.GAME_QUESTIONS = 10
    yield
    timers.cancel_all()
    book().reset()


def right(question):
    """The right answer of a bank question, as a player sends it."""
    if question.kind == "numeric":
        return question.numeric_answer
    ids = sorted(c.pk for c in question.choices.all() if c.is_correct)
    return ids if question.kind == "multiple" else ids[0]


def wrong(question):
    if question.kind == "numeric":
        return -1
    ids = [c.pk for c in question.choices.all() if not c.is_correct]
    return [ids[0]] if question.kind == "multiple" else ids[0]
