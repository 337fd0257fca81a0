"""In the browser: after five wrong passwords the login page refuses even the right one and
says how long to wait (it used to take 30 wrong passwords, then the right one)."""

from __future__ import annotations

import re

from tests.e2e.conftest import close_context
from tests.live_server import DEMO_PASSWORD

USERNAME = "lockout_e2e"  # an account of its own: the demo users stay usable by other tests

CREATE_USER = f"""
from hub.accounts.models import Role, Space
from hub.accounts.services import space_add_member, user_create
user = user_create(username={USERNAME!r}, password={DEMO_PASSWORD!r}, roles=[Role.LEARNER])
space_add_member(space=Space.objects.get(slug="demo"), user=user)
"""


def test_the_login_page_locks_an_account_after_five_wrong_passwords(
    browser, lyceum_server, live_env
):
    from playwright.sync_api import expect

    live_env.manage("shell", "-c", CREATE_USER)
    context = browser.new_context(base_url=lyceum_server.url)
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        alert = page.locator("[data-testid=login-form] [role=alert]")

        def attempt(password: str) -> None:
            page.fill("#id_username", USERNAME)
            page.fill("#id_password", password)
            with page.expect_navigation():  # the answer's page, not the one before it
                page.click("[data-testid=login-form] button[type=submit]")

        for n in range(4):
            attempt(f"guess-{n}")
            expect(alert).to_contain_text("Please enter a correct username and password")
        attempt("guess-4")
        expect(alert).to_contain_text(
            "Too many failed sign-in attempts. Wait 15 minutes, then try again."
        )
        attempt(DEMO_PASSWORD)  # the right one, during the lockout
        expect(alert).to_contain_text("Too many failed sign-in attempts.")
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        expect(page.locator("[data-testid=bell]")).to_have_count(0)
    finally:
        close_context(context)
