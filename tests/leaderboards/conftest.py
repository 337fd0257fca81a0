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


# -- quiz duels --------------------------------------------------------------------------------
class FakeClock:
    """The duels' clock (``leaderboards.clock.now``), moved by hand."""

    def __init__(self) -> None:
        import datetime as dt

        self.now = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)

    def __call__(self):
        return self.now

    def advance(self, seconds: float) -> None:
        import datetime as dt

        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    from leaderboards import clock as clock_module

    fake = FakeClock()
    monkeypatch.setattr(clock_module, "now", fake)
    return fake


@pytest.fixture(autouse=True)
def _duel_defaults(settings):
    """No timer threads in unit tests (they drive the clock); quick reveal and start. A
    test that turns timers on has them disarmed when it ends (none fires into the next)."""
    from leaderboards import timers

    # Settings win over the LYCEUM_DUEL_* environment (which the browser tests set for
    # their live server): every test here starts from the product's own timing.
    settings.DUEL_TIMERS = False
    settings.DUEL_QUESTIONS = 7
    settings.DUEL_SECONDS = 10
    settings.DUEL_REVEAL_SECONDS = 2
    settings.DUEL_START_SECONDS = 3
    settings.DUEL_READY_SECONDS = 60
    settings.DUEL_ASYNC_HOURS = 24
    settings.DUEL_CHALLENGE_HOURS = 24
    yield
    timers.cancel_all()


@pytest.fixture(autouse=True)
def online(monkeypatch, request):
    """Who counts as online for a live duel: ``online.add(user)`` (nobody by default).
    WebSocket tests (``communicator_for``) use the gateway's real presence instead."""
    from leaderboards import duel_selectors

    people: set[int] = set()
    if "communicator_for" in request.fixturenames:
        return None

    class Online:
        def add(self, *users) -> None:
            people.update(u.pk for u in users)

        def discard(self, user) -> None:
            people.discard(user.pk)

    monkeypatch.setattr(duel_selectors, "is_online", lambda user_id: user_id in people)
    return Online()
