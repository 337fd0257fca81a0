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


# -- one migration per run (tests/shared_db.py) ------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    from tests import shared_db

    # The controller (or the only process) names the run before the xdist workers start:
    # they inherit its shared directory through the environment.
    owner = shared_db.start_run()
    config._lyceum_owns_test_run = owner  # type: ignore[attr-defined]
    # With xdist the controller runs no test: it starts the migration at once, in the
    # background, so it overlaps the workers' start-up and collection instead of following.
    if (
        owner
        and getattr(config.option, "numprocesses", None)
        and not config.getoption("reuse_db", False)
        and not config.getoption("nomigrations", False)
    ):
        shared_db.start_migrating_early()


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, "_lyceum_owns_test_run", False):
        from tests import shared_db

        shared_db.end_run()


@pytest.fixture(scope="session")
def django_db_setup(
    request: pytest.FixtureRequest,
    django_test_environment: None,
    django_db_blocker: Any,
    django_db_use_migrations: bool,
    django_db_keepdb: bool,
    django_db_createdb: bool,
    django_db_modify_db_settings: None,
) -> Any:
    """pytest-django's test databases, copied from the run's one migrated database.

    Each worker used to migrate its own; now the first one to get here builds it once (see
    tests/shared_db.py). ``--reuse-db``, ``--nomigrations`` and a SQLITE_TEST_PATH file keep
    pytest-django's own behaviour.
    """
    from django.test.utils import setup_databases, teardown_databases
    from pytest_django.fixtures import _disable_migrations, _get_databases_for_setup

    from tests import shared_db

    verbosity = request.config.option.verbose
    shared = django_db_use_migrations and not django_db_keepdb
    with django_db_blocker.unblock():
        if shared and shared_db.can_share_test_database():
            db_cfg = shared_db.setup_test_databases(verbosity)
        else:
            if not django_db_use_migrations:
                _disable_migrations()
            aliases, serialized_aliases = _get_databases_for_setup(request.session.items)
            db_cfg = setup_databases(
                verbosity=verbosity,
                interactive=False,
                aliases=aliases,
                serialized_aliases=serialized_aliases,
                keepdb=django_db_keepdb and not django_db_createdb,
            )
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            if shared:
                # A connection another thread of this worker left open (asgiref's executor
                # threads keep theirs) would make PostgreSQL refuse the DROP DATABASE.
                shared_db.close_other_sessions()
            teardown_databases(db_cfg, verbosity=verbosity)
