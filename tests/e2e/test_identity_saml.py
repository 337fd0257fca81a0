"""SAML 2.0 sign-in in Chromium through pysaml2's IdP, served over HTTP by a small WSGI app
(its own sign-in form, then the signed response posted to our ACS by the browser)."""

from __future__ import annotations

import html
import json
import re
import shutil
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from tests.e2e.conftest import close_context
from tests.live_server import free_port

pytestmark = pytest.mark.e2e

SETUP = """
from hub.accounts.models import Space
from identity.models import IdentityProvider
space, _ = Space.objects.get_or_create(slug="saml-co", defaults={"name": "Saml Co"})
p, _ = IdentityProvider.objects.update_or_create(space=space, slug="saml-co-id", defaults=dict(
    name="Saml Co ID", kind="saml", idp_metadata="",
    mapping={"email": "mail", "first_name": "givenName", "last_name": "sn",
             "display_name": "displayName", "team": "ou", "groups": "groups"},
    role_groups={"lyceum-coordinators": "coordinator"}))
print(p.pk)
"""

CHECK = """
import json
from django.contrib.auth import get_user_model
u = get_user_model().objects.get(email="sam@saml.test")
print(json.dumps({"name": u.display_name, "roles": sorted(u.role_codes),
  "teams": sorted(u.teams.values_list("name", flat=True))}))
"""


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def sp_metadata(base: str, pk: int) -> str:
    from saml2.config import SPConfig
    from saml2.metadata import create_metadata_string

    config = SPConfig()
    config.load(
        {
            "entityid": f"{base}/sso/saml/{pk}/metadata/",
            "xmlsec_binary": shutil.which("xmlsec1"),
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [
                            (
                                f"{base}/sso/saml/{pk}/acs/",
                                "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                            )
                        ]
                    }
                }
            },
        }
    )
    return create_metadata_string(None, config, 4, None, None, None, None, None).decode()


def test_saml_sign_in_in_the_browser(browser, lyceum_server, live_env, tmp_path):
    from playwright.sync_api import expect

    from tests.peers.saml_idp import SamlIdP

    pk = int(live_env.manage("shell", "-c", SETUP).strip().splitlines()[-1])
    port = free_port()
    idp_base = f"http://127.0.0.1:{port}"
    idp = SamlIdP(tmp_path, sp_metadata(lyceum_server.url, pk), base=idp_base)
    metadata = idp.metadata
    live_env.manage(
        "shell",
        "-c",
        "from identity.models import IdentityProvider; import json; "
        f"IdentityProvider.objects.filter(pk={pk}).update(idp_metadata=json.loads("
        f"{json.dumps(json.dumps(metadata))}))",
    )
    identity = {
        "mail": ["sam@saml.test"],
        "givenName": ["Sam"],
        "sn": ["Saml"],
        "displayName": ["Sam Saml"],
        "ou": ["Legal"],
        "groups": ["lyceum-coordinators"],
    }

    def app(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if environ["REQUEST_METHOD"] == "GET":
            body = (
                f'<form method="post" action="/sso?{html.escape(query)}">'
                '<input name="login"><button type="submit">Sign in</button></form>'
            )
        else:
            redirect = f"{idp_base}/sso?{query}"
            acs, response = idp.respond(redirect, subject="sam-1", identity=identity)
            body = (
                f'<form id="f" method="post" action="{html.escape(acs)}">'
                f'<input type="hidden" name="SAMLResponse" value="{response}">'
                '<button type="submit" id="go">Continue</button></form>'
            )
        start_response("200 OK", [("Content-Type", "text/html")])
        return [body.encode()]

    server = make_server("127.0.0.1", port, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = browser.new_context(base_url=lyceum_server.url)
    try:
        page = context.new_page()
        page.goto("/accounts/login/?space=saml-co")
        page.get_by_test_id("sso-saml-co-id").click()
        expect(page).to_have_url(re.compile(re.escape(idp_base)))
        page.fill("input[name=login]", "sam")
        page.click("button[type=submit]")
        page.click("#go")
        expect(page.locator("[data-testid=bell]")).to_be_visible()
    finally:
        close_context(context)
        server.shutdown()
    facts = json.loads(live_env.manage("shell", "-c", CHECK).strip().splitlines()[-1])
    assert facts["name"] == "Sam Saml"
    assert "coordinator" in facts["roles"]
    assert "Legal" in facts["teams"]
