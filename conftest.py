"""Hooks that must reach the test session itself (tests/conftest.py reaches only the items
under tests/: pytest applies a conftest's hooks to the nodes below it, and a session-scoped
fixture belongs to the session at the root)."""

from __future__ import annotations

import signal
from typing import Any

import pytest

# Building the test database (every app's migrations) is the set-up of a worker's first
# test. On a loaded machine it alone outlasts the 120 s a test gets, and the failed session
# fixture then fails every test of the worker at once; it gets a bound of its own instead,
# and the test its whole time after it (pytest-timeout's signal method: the process timer).
DB_SETUP_TIMEOUT = 900.0


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> Any:
    if fixturedef.argname != "django_db_setup" or not hasattr(signal, "setitimer"):
        yield
        return
    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    if remaining:
        signal.setitimer(signal.ITIMER_REAL, DB_SETUP_TIMEOUT)
    try:
        yield
    finally:
        if remaining:
            signal.setitimer(signal.ITIMER_REAL, remaining, interval)
