"""Someone in no space yet (just registered, or removed from their last space) opens the
forums and the library in a real browser: the page says so and whom to ask (both pages
answered a server error before)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.live_server import DEMO_PASSWORD

pytestmark = pytest.mark.e2e

MAKE_SPACELESS = f"""
from hub.accounts.models import User
from hub.accounts.services import roles_set
user, _ = User.objects.get_or_create(username="nospace", email="nospace@example.com")
user.set_password({DEMO_PASSWORD!r})
user.save()
roles_set(user=user, roles=["learner"])
user.space_memberships.all().delete()
"""


@pytest.mark.parametrize("path", ["/forums/", "/forums/library/"])
def test_someone_in_no_space_is_told_what_to_do(live_env, login, path) -> None:
    live_env.manage("shell", "-c", MAKE_SPACELESS)
    page = login("nospace")
    response = page.goto(path)
    assert response is not None and response.status == 200
    notice = page.locator("[data-testid=no-space]")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("You are not a member of any space yet.")
    expect(notice).to_contain_text("Ask your coordinator or administrator")
