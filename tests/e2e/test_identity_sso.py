"""Single sign-on in Chromium through a real OpenID Connect provider (the npm oidc-provider,
run with node): the login page of a space offers its provider, the first sign-in makes the
account (just in time) with its name, e-mail, team, manager and roles from groups, and an
"SSO only" space shows no password form."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.conftest import close_context
from tests.peers import oidc_provider

pytestmark = pytest.mark.e2e

SETUP = """
import json
from hub.accounts.models import Role, Space, SpaceMembership, RoleGrant
from django.contrib.auth import get_user_model
from identity.models import IdentityProvider, SpaceIdentity
User = get_user_model()
cfg = json.loads('''{cfg}''')
space, _ = Space.objects.get_or_create(slug="acme", defaults={{"name": "Acme"}})
SpaceIdentity.objects.update_or_create(space=space, defaults={{"sso_only": True}})
boss, _ = User.objects.get_or_create(username="grace", defaults={{"email": "grace@acme.test"}})
SpaceMembership.objects.get_or_create(space=space, user=boss)
IdentityProvider.objects.update_or_create(space=space, slug="acme-id", defaults=dict(
    name="Acme ID", kind="oidc", issuer=cfg["issuer"], client_id="lyceum",
    client_secret="s3cret", role_groups={{"lyceum-trainers": "trainer"}}))
"""

CHECK = """
import json
from django.contrib.auth import get_user_model
from hub.accounts.selectors import managers_of
u = get_user_model().objects.get(email="ada@acme.test")
print(json.dumps({"name": u.display_name, "first": u.first_name, "roles": sorted(u.role_codes),
  "teams": sorted(u.teams.values_list("name", flat=True)),
  "managers": sorted(m.username for m in managers_of(user=u)),
  "spaces": sorted(u.spaces.values_list("slug", flat=True))}))
"""


def test_oidc_sign_in_creates_the_account_and_sso_only_hides_passwords(
    browser, lyceum_server, live_env
):
    from playwright.sync_api import expect

    client = {
        "client_id": "lyceum",
        "client_secret": "s3cret",
        "redirect_uris": [f"{lyceum_server.url}/sso/oidc/callback/"],
        "post_logout_redirect_uris": [f"{lyceum_server.url}/accounts/login/"],
        "response_types": ["code"],
        "grant_types": ["authorization_code"],
    }
    accounts = {
        "ada": {
            "email": "ada@acme.test",
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "department": "Analytical Engines",
            "manager": "grace@acme.test",
            "groups": ["lyceum-trainers", "everyone"],
        }
    }
    with oidc_provider(clients=[client], accounts=accounts) as issuer:
        live_env.manage("shell", "-c", SETUP.format(cfg=json.dumps({"issuer": issuer})))
        context = browser.new_context(base_url=lyceum_server.url)
        try:
            page = context.new_page()
            page.goto("/accounts/login/?space=acme")
            expect(page.get_by_test_id("sso-only")).to_be_visible()
            expect(page.get_by_test_id("login-form")).to_have_count(0)
            page.get_by_test_id("sso-acme-id").click()
            # The provider's own sign-in page.
            expect(page).to_have_url(re.compile(re.escape(issuer)))
            page.fill("input[name=login]", "ada")
            page.fill("input[name=password]", "anything")
            page.click("button[type=submit]")
            expect(page.locator("[data-testid=bell]")).to_be_visible()
            expect(page).to_have_url(re.compile(re.escape(lyceum_server.url)))
            # Going back through the same callback (a replay) is refused.
            page.go_back()
            # Logout ends the Lyceum session and the provider's (RP-initiated logout):
            # the provider asks to confirm, then sends the browser to our login page.
            page.goto("/")
            page.click("[data-testid=user-menu] summary")
            page.click("[data-testid=logout]")
            expect(page).to_have_url(re.compile(re.escape(issuer) + "/session/end"))
            page.get_by_role("button", name="Yes, sign me out").click()
            expect(page).to_have_url(re.compile(re.escape(lyceum_server.url) + "/accounts/login/"))
            page.goto("/")
            expect(page).to_have_url(re.compile("/accounts/login/"))
            # Signing in again needs the provider's password again: its session is over.
            page.goto("/accounts/login/?space=acme")
            page.get_by_test_id("sso-acme-id").click()
            expect(page.locator("input[name=password]")).to_be_visible()
        finally:
            close_context(context)
        facts = json.loads(live_env.manage("shell", "-c", CHECK).strip().splitlines()[-1])
        assert facts["name"] == "Ada Lovelace"
        assert facts["first"] == "Ada"
        assert "trainer" in facts["roles"]
        assert "Analytical Engines" in facts["teams"]
        assert facts["managers"] == ["grace"]
        assert "acme" in facts["spaces"]
