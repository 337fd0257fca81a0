"""Fixtures of the page tests: more people than tests/conftest.py needs elsewhere."""

from __future__ import annotations

import pytest

from hub.accounts.models import Role
from tests.factories import UserFactory


@pytest.fixture
def admin(space):
    return UserFactory(username="admin1", roles=[Role.ADMIN], spaces=[space])


@pytest.fixture
def staff(space):
    """Staff may open the back-office without holding the admin role."""
    user = UserFactory(username="staff1", roles=[Role.LEARNER], spaces=[space])
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Hash test passwords cheaply: the page tests create many people."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
