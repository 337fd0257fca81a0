"""Passkeys in a real browser: Chromium's virtual authenticator (CDP ``WebAuthn`` domain:
CTAP2, internal transport, resident keys, user verification) registers a passkey on
"Security and data", then the next login's second step is passed with it, and the audit
page shows both.

WebAuthn refuses IP addresses as the relying party, so this module's server is reached at
``localhost`` and its ``SITE_URL`` (origin and RP ID) says so."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import EXPECT_TIMEOUT_MS, close_context
from tests.live_server import DEMO_PASSWORD, LiveServer, free_port, live_environment, start_server


@pytest.fixture(scope="module")
def passkey_site(tmp_path_factory) -> Iterator[str]:
    with live_environment(tmp_path_factory.mktemp("live-passkeys"), label="passkeys") as live:
        port = free_port()
        live.env["SITE_URL"] = f"http://localhost:{port}"
        server: LiveServer = start_server(live, name="passkeys", port=port)
        try:
            yield f"http://localhost:{port}"
        finally:
            server.stop()


def test_register_a_passkey_then_log_in_with_it(browser, passkey_site):
    from playwright.sync_api import expect

    contexts = []

    def new_page():
        context = browser.new_context(base_url=passkey_site)
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    def log_in(page, username):
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("[data-testid=login-form] button[type=submit]")

    try:
        page = new_page()
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        authenticator = cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )["authenticatorId"]

        # Register a passkey on "Security and data".
        log_in(page, "learner")
        expect(page.locator("[data-testid=bell]")).to_be_visible()
        page.goto("/accounts/security/")
        expect(page.locator("[data-testid=no-passkeys]")).to_be_visible()
        page.fill("[data-testid=passkey-name]", "Test laptop")
        page.click("[data-testid=passkey-add]")
        item = page.locator("[data-testid=passkey]")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("Test laptop")
        expect(item).to_contain_text("never used")
        credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        assert len(credentials["credentials"]) == 1
        assert credentials["credentials"][0]["rpId"] == "localhost"

        # Sign out; the next login asks for the second step, passed with the passkey.
        page.context.clear_cookies()
        log_in(page, "learner")
        expect(page).to_have_url(re.compile(r"/accounts/login/second-factor/$"))
        # The button works once the page's deferred script has run (a click before that,
        # on a loaded machine, did nothing).
        page.wait_for_load_state("domcontentloaded")
        page.click("[data-testid=passkey-use]")
        error = page.locator("[data-passkey-error]")
        expect(page.locator("[data-testid=bell]").or_(error)).to_be_visible()
        assert error.is_hidden(), error.inner_text()
        page.goto("/accounts/security/")
        expect(page.locator("[data-testid=passkey]")).to_contain_text("last used")
        credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        assert credentials["credentials"][0]["signCount"] >= 1

        # The administrator sees the addition in the audit log.
        admin = new_page()
        log_in(admin, "admin")
        expect(admin.locator("[data-testid=bell]")).to_be_visible()
        admin.goto("/audit/?actor=learner")
        expect(admin.locator("main")).to_contain_text("mfa.passkey_added")
    finally:
        for context in contexts:
            close_context(context)
