from __future__ import annotations

import pytest

from hub.accounts.models import Role
from identity.models import ScimToken, hash_token
from tests.factories import SpaceFactory, UserFactory


@pytest.fixture
def admin(space):
    return UserFactory(username="admin1", roles=[Role.ADMIN], spaces=[space])


def make_token(space, owner, name="HR") -> str:
    raw = ScimToken.new_secret()
    ScimToken.objects.create(
        space=space, name=name, token_hash=hash_token(raw), prefix=raw[:8], created_by=owner
    )
    return raw


@pytest.fixture
def scim_token(space, admin) -> str:
    return make_token(space, admin)


@pytest.fixture
def other_space(db):
    return SpaceFactory(name="Other", slug="other")
