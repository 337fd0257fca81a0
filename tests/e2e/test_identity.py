"""Identity in a real browser: an invitation e-mailed and accepted, the new person's address
confirmed through the e-mailed link, a forgotten password reset through the e-mailed link,
then a second factor set up and asked at the next login.

The server runs in a child process, so its e-mails go to files (Django's file backend, the
embedded mode's default) in a folder of this module's own, read here as they arrive."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest

from tests.e2e.conftest import EXPECT_TIMEOUT_MS, close_context
from tests.live_server import (
    DEMO_PASSWORD,
    ROOT,
    LiveServer,
    live_environment,
    running_server,
)


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("identity-mail")


@pytest.fixture(scope="module")
def identity_server(tmp_path_factory, mail_dir) -> Iterator[LiveServer]:
    with live_environment(tmp_path_factory.mktemp("live-identity"), label="identity") as live:
        live.env["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"
        live.env["EMAIL_FILE_PATH"] = str(mail_dir)
        worker = None
        if live.services:  # `serve` runs jobs itself only in embedded mode
            worker = subprocess.Popen(
                [sys.executable, "manage.py", "db_worker", "--interval", "0.5"],
                cwd=ROOT,
                env=live.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )
        try:
            with running_server(live, name="identity") as server:
                yield server
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=30)


def wait_for_mail(mail_dir: Path, to: str, path: str, seen: set[str]) -> str:
    """The link to ``path...`` in the next e-mail to ``to`` that has one (other e-mails, such
    as the demo's notifications, are passed over)."""
    deadline = time.monotonic() + EXPECT_TIMEOUT_MS / 1000
    pattern = re.compile(r"https?://[^/\s]+(" + re.escape(path) + r"\S*)")
    while time.monotonic() < deadline:
        for file in sorted(mail_dir.glob("*.log")):
            for chunk in file.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                if not chunk.strip():
                    continue
                message = message_from_bytes(chunk.strip())
                if to not in (message.get("To") or ""):
                    continue
                for part in message.walk():
                    if part.get_content_type() != "text/plain":
                        continue
                    text = (part.get_payload(decode=True) or b"").decode(errors="replace")
                    found = pattern.search(text)
                    if found and found.group(1) not in seen:
                        seen.add(found.group(1))
                        return found.group(1)
        time.sleep(0.2)
    raise AssertionError(f"no e-mail to {to} with a link to {path}")


def test_invitation_verification_reset_and_second_factor(browser, identity_server, mail_dir):
    from playwright.sync_api import expect

    seen: set[str] = set()
    contexts = []

    def new_page():
        context = browser.new_context(base_url=identity_server.url)
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    def log_in(page, username, password):
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("[data-testid=login-form] button[type=submit]")

    try:
        # An administrator invites a new trainer.
        admin = new_page()
        log_in(admin, "admin", DEMO_PASSWORD)
        expect(admin.locator("[data-testid=bell]")).to_be_visible()
        admin.goto("/spaces/demo/invitations/")
        admin.fill("#id_email", "newtrainer@example.org")
        admin.check("input[name=roles][value=trainer]")
        admin.click("[data-testid=invite-form] button[type=submit]")
        expect(admin.locator("[data-testid=invitations]")).to_contain_text("newtrainer@example.org")

        # The invited person follows the e-mailed link and creates an account.
        person = new_page()
        person.goto(wait_for_mail(mail_dir, "newtrainer@example.org", "/invite/", seen))
        person.fill("#id_username", "newtrainer")
        person.fill("#id_password", "A-long-pass-phrase-9")
        person.click("[data-testid=accept-form] button[type=submit]")
        expect(person.locator("[data-testid=bell]")).to_be_visible()

        # Their address is already proven by the invitation; the security page says so.
        person.click("[data-testid=user-menu] summary")
        person.click("[data-testid=menu-security]")
        expect(person.locator("[data-testid=email-verified]")).to_be_visible()

        # A demo learner confirms their address through the e-mailed link.
        learner = new_page()
        log_in(learner, "learner", DEMO_PASSWORD)
        learner.goto("/accounts/security/")
        learner.click("[data-testid=verify-send]")
        learner.goto(wait_for_mail(mail_dir, "learner@example.com", "/accounts/verify/", seen))
        learner.click("[data-testid=verify-form] button[type=submit]")
        expect(learner.locator("[data-testid=account-message]")).to_contain_text("confirmed")
        learner.goto("/accounts/security/")
        expect(learner.locator("[data-testid=email-verified]")).to_be_visible()
        # Their data export is built by the job worker; the page shows it become ready live
        # (export.progress over /ws/), without a reload.
        learner.click("[data-testid=export-request]")
        item = learner.locator("[data-testid=export]").first
        expect(item.locator(".export-download")).to_be_visible()
        download = learner.request.get(item.locator(".export-download").get_attribute("href"))
        assert download.ok and download.body()[:2] == b"PK"

        # The new trainer forgets their password and resets it by e-mail.
        stranger = new_page()
        stranger.goto("/accounts/login/")
        stranger.click("[data-testid=forgot-password]")
        stranger.fill("#id_email", "newtrainer@example.org")
        stranger.click("[data-testid=password-reset-form] button[type=submit]")
        expect(stranger.locator("[data-testid=password-reset-sent]")).to_be_visible()
        reset = wait_for_mail(mail_dir, "newtrainer@example.org", "/accounts/password/reset/", seen)
        stranger.goto(reset)
        stranger.fill("#id_new_password1", "Another-pass-phrase-7")
        stranger.fill("#id_new_password2", "Another-pass-phrase-7")
        stranger.click("[data-testid=password-reset-confirm-form] button[type=submit]")
        expect(stranger.locator("[data-testid=password-reset-complete]")).to_be_visible()
        # The same link again: refused, clearly.
        stranger.goto(reset)
        expect(stranger.locator("[data-testid=bad-link]")).to_be_visible()
        log_in(stranger, "newtrainer", "Another-pass-phrase-7")
        expect(stranger.locator("[data-testid=bell]")).to_be_visible()

        # They set up an authenticator app; the next login asks for a code (a recovery
        # code here: a fresh app code may need the next 30-second step).
        from hub.accounts.mfa import current_step, totp_code

        stranger.goto("/accounts/security/")
        stranger.click("[data-testid=totp-begin]")
        secret = stranger.locator("[data-testid=totp-secret]").inner_text()
        stranger.fill("#id_code", totp_code(secret, current_step()))
        stranger.click("[data-testid=totp-confirm-form] button[type=submit]")
        codes = stranger.locator("[data-testid=recovery-codes] code")
        expect(codes).to_have_count(10)
        recovery = codes.first.inner_text()
        stranger.click("[data-testid=user-menu] summary")
        stranger.click("[data-testid=logout]")
        log_in(stranger, "newtrainer", "Another-pass-phrase-7")
        expect(stranger).to_have_url(re.compile(r"/accounts/login/second-factor/$"))
        stranger.fill("#id_code", "000000")
        stranger.click("[data-testid=second-factor-form] button[type=submit]")
        expect(stranger.locator("[data-testid=second-factor-form] .alert")).to_be_visible()
        stranger.fill("#id_code", recovery)
        stranger.click("[data-testid=second-factor-form] button[type=submit]")
        expect(stranger.locator("[data-testid=bell]")).to_be_visible()

        # The administrator sees it all in the audit log.
        admin.goto("/audit/?actor=newtrainer")
        table = admin.locator("[data-testid=audit-table]")
        for action in (
            "accounts.password_reset_done",
            "mfa.totp_enabled",
            "mfa.recovery_code_used",
        ):
            expect(table).to_contain_text(action)
        admin.goto("/audit/?action=accounts.invited")
        expect(admin.locator("[data-testid=audit-table]")).to_contain_text("newtrainer@example.org")
    finally:
        for context in contexts:
            close_context(context)
