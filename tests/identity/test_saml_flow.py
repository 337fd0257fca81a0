"""SAML 2.0 sign-in answered by pysaml2's IdP: just-in-time account and attribute mapping;
a replayed, tampered or foreign-signed response is refused."""

from __future__ import annotations

import base64
import re

import pytest
from django.contrib.auth import get_user_model

from identity import saml
from identity.models import IdentityProvider
from tests.peers.saml_idp import SamlIdP

pytestmark = pytest.mark.django_db

IDENTITY = {
    "mail": ["sam@acme.test"],
    "givenName": ["Sam"],
    "sn": ["Saml"],
    "displayName": ["Sam Saml"],
    "ou": ["Legal"],
    "groups": ["lyceum-coordinators"],
}
MAPPING = {
    "email": "mail",
    "first_name": "givenName",
    "last_name": "sn",
    "display_name": "displayName",
    "team": "ou",
    "groups": "groups",
}


@pytest.fixture
def setup(client, space, admin, tmp_path):
    provider = IdentityProvider.objects.create(
        space=space,
        slug="acme-saml",
        name="Acme SAML",
        kind="saml",
        idp_metadata="",
        mapping=MAPPING,
        role_groups={"lyceum-coordinators": "coordinator"},
    )
    # Our SP metadata for the IdP, the IdP's for us.
    sp_meta = saml.metadata_xml(TestRequest(), provider)
    idp = SamlIdP(tmp_path, sp_meta)
    provider.idp_metadata = idp.metadata
    provider.save()
    return provider, idp


class TestRequest:
    def build_absolute_uri(self, path: str) -> str:
        return "http://testserver" + path


def start(client, space) -> str:
    page = client.post(f"/sso/{space.slug}/acme-saml/start/", {"next": "/"})
    assert page.status_code == 200, page.content[:400]
    url = re.search(r'href="([^"]+)" data-testid="sso-continue"', page.content.decode()).group(1)
    return url.replace("&amp;", "&")


def test_saml_sign_in_maps_attributes_and_refuses_a_replay(client, space, setup):
    _provider, idp = setup
    acs, response = idp.respond(start(client, space), subject="sam-1", identity=IDENTITY)
    r = client.post(acs.replace("http://testserver", ""), {"SAMLResponse": response})
    assert r.status_code == 302, r.content[:800]
    sam = get_user_model().objects.get(email="sam@acme.test")
    assert (sam.first_name, sam.last_name, sam.display_name) == ("Sam", "Saml", "Sam Saml")
    assert sam.has_role("coordinator")
    assert sam.teams.filter(name="Legal").exists()
    client.logout()
    again = client.post(acs.replace("http://testserver", ""), {"SAMLResponse": response})
    assert again.status_code == 400
    assert "_auth_user_id" not in client.session


def test_tampered_and_foreign_responses_are_refused(client, space, setup, tmp_path):
    provider, idp = setup
    acs, response = idp.respond(start(client, space), subject="sam-1", identity=IDENTITY)
    xml = base64.b64decode(response).decode()
    tampered = base64.b64encode(xml.replace("sam@acme.test", "root@acme.test").encode())
    r = client.post(acs.replace("http://testserver", ""), {"SAMLResponse": tampered.decode()})
    assert r.status_code == 400
    # Signed by another IdP key (same entity id): refused.
    (tmp_path / "other").mkdir()
    other = SamlIdP(tmp_path / "other", saml.metadata_xml(TestRequest(), provider), name="other")
    acs, foreign = other.respond(start(client, space), subject="sam-1", identity=IDENTITY)
    r = client.post(acs.replace("http://testserver", ""), {"SAMLResponse": foreign})
    assert r.status_code == 400
    # Not answering any request of ours.
    r = client.post(acs.replace("http://testserver", ""), {"SAMLResponse": "bm90IHhtbA=="})
    assert r.status_code == 400
    assert (
        not get_user_model().objects.filter(email__in=["sam@acme.test", "root@acme.test"]).exists()
    )
