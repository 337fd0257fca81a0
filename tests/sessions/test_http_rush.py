"""60 learners register over HTTP at the same moment for a 5-seat session, served by
daphne (``manage.py serve`` in a child process) on the test's PostgreSQL database: exactly
5 confirmed, 55 waitlisted at positions 1..55. ``make bench`` runs the same rush with 200
learners (bench/sessions.py)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.authtoken.models import Token

from bench.sessions import check, rush
from hub.accounts.models import Role, User
from hub.accounts.services import roles_set, space_add_member
from sessions.models import Registration, RegistrationStatus
from tests.live_server import LiveEnvironment, running_server
from tests.sessions.conftest import make_session

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.SERVICES_MODE,
        reason="concurrent requests need PostgreSQL row locks (services mode)",
    ),
]

LEARNERS = 60
SEATS = 5


def daphne_on_the_test_database(tmp_path) -> LiveEnvironment:
    """The server process reads and writes the test's own (committed) data."""
    env = dict(os.environ)
    parts = urlsplit(settings.DATABASE_URL)
    env.update(
        DATABASE_URL=urlunsplit(parts._replace(path=f"/{connection.settings_dict['NAME']}")),
        LYCEUM_REDIS_PREFIX=f"lyceum_rush_{os.getpid()}",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # No persistent connections (one per request thread under ASGI would pile up
        # against PostgreSQL's connection limit), static files from the finders.
        LYCEUM_TESTING="1",
    )
    env.setdefault("SECRET_KEY", "lyceum-rush-test-" + "x" * 40)
    env.pop("PYTEST_VERSION", None)
    env.pop("PYTEST_CURRENT_TEST", None)
    return LiveEnvironment(env=env, workdir=tmp_path, services=True)


def test_concurrent_http_registrations_fill_exactly_the_seats(tmp_path, coordinator, space):
    session = make_session(coordinator, space, capacity=SEATS)
    people = User.objects.bulk_create([User(username=f"http{i}") for i in range(LEARNERS)])
    for user in people:
        roles_set(user=user, roles=[Role.LEARNER])
        space_add_member(space=space, user=user)
    tokens = [Token.objects.create(user=u).key for u in people]

    with running_server(daphne_on_the_test_database(tmp_path), name="rush") as server:
        result = rush(server.url, session.pk, tokens)

    answers = check(result["answers"], SEATS)
    assert answers == {
        "errors": 0,
        "error_samples": [],
        "confirmed": SEATS,
        "waitlisted": LEARNERS - SEATS,
        "positions_contiguous": True,
    }, [a for a in result["answers"] if a[0] != 201][:3]
    rows = Registration.objects.filter(session=session)
    assert rows.filter(status=RegistrationStatus.CONFIRMED).count() == SEATS
    positions = sorted(
        rows.filter(status=RegistrationStatus.WAITLISTED).values_list("position", flat=True)
    )
    assert positions == list(range(1, LEARNERS - SEATS + 1))
