"""SAML single logout against pysaml2's IdP, both directions: our logout sends a signed
LogoutRequest and verifies the IdP's LogoutResponse (a forged, unsigned, misdirected or
replayed one is refused and changes nothing); a signed LogoutRequest from the IdP ends the
person's sessions for that NameID and session index and is answered with a signed
LogoutResponse."""

from __future__ import annotations

import base64
import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from hub.audit.models import Entry as AuditEntry
from identity import saml
from identity.models import IdentityProvider
from tests.identity import test_saml_flow
from tests.identity.test_saml_flow import IDENTITY, TestRequest, start
from tests.peers.saml_idp import SamlIdP

pytestmark = pytest.mark.django_db

setup = test_saml_flow.setup  # the provider and pysaml2's IdP

SP_ENTITY = "http://testserver/sso/saml/{pk}/metadata/"


def sign_in(client, space, idp) -> tuple[object, str]:
    acs, response = idp.respond(start(client, space), subject="sam-1", identity=IDENTITY)
    r = client.post(acs.replace("http://testserver", ""), {"SAMLResponse": response})
    assert r.status_code == 302, r.content[:800]
    return get_user_model().objects.get(email="sam@acme.test"), idp.session_index(response)


def logout(client, provider) -> str:
    page = client.post("/accounts/logout/")
    assert page.status_code == 200, page.content[:400]
    assert "_auth_user_id" not in client.session
    url = re.search(r'href="([^"]+)" data-testid="sso-continue"', page.content.decode()).group(1)
    return url.replace("&amp;", "&")


def actions() -> list[str]:
    return list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))


def test_sp_initiated_logout_sends_a_signed_request_and_verifies_the_answer(client, space, setup):
    provider, idp = setup
    sam, index = sign_in(client, space, idp)
    url = logout(client, provider)
    assert url.startswith("https://idp.example.test/slo?")
    assert "Signature=" in url and "SigAlg=" in url
    request = idp.receive_logout(url, SP_ENTITY.format(pk=provider.pk))
    assert request.message.name_id.text == "sam-1"
    assert [si.text for si in request.message.session_index] == [index]
    sls, response = idp.logout_response(request)
    assert sls == f"http://testserver/sso/saml/{provider.pk}/sls/"
    r = client.post(sls.replace("http://testserver", ""), {"SAMLResponse": response})
    assert r.status_code == 302 and r["Location"] == "/accounts/login/"
    assert "sso.logout" in actions() and "sso.logout_confirmed" in actions()
    confirmed = AuditEntry.objects.get(action="sso.logout_confirmed")
    assert confirmed.target_id == str(sam.pk)
    # The same answer again (a replay) is refused and changes nothing.
    before = AuditEntry.objects.count()
    again = client.post(sls.replace("http://testserver", ""), {"SAMLResponse": response})
    assert again.status_code == 400
    assert AuditEntry.objects.count() == before


def test_forged_unsigned_and_misdirected_logout_responses_are_refused(
    client, space, setup, tmp_path
):
    provider, idp = setup
    sign_in(client, space, idp)
    url = logout(client, provider)
    request = idp.receive_logout(url, SP_ENTITY.format(pk=provider.pk))
    sls = f"/sso/saml/{provider.pk}/sls/"
    before = AuditEntry.objects.count()
    # Unsigned.
    _sls, unsigned = idp.logout_response(request, sign=False)
    assert client.post(sls, {"SAMLResponse": unsigned}).status_code == 400
    # Signed by another key under the IdP's entity id.
    (tmp_path / "other").mkdir()
    other = SamlIdP(tmp_path / "other", saml.metadata_xml(TestRequest(), provider), name="o")
    _sls, foreign = other.logout_response(request)
    assert client.post(sls, {"SAMLResponse": foreign}).status_code == 400
    # Tampered after signing (InResponseTo changed).
    _sls, good = idp.logout_response(request)
    xml = base64.b64decode(good).decode()
    tampered = xml.replace(request.message.id, "_forged0000")
    assert tampered != xml
    r = client.post(sls, {"SAMLResponse": base64.b64encode(tampered.encode()).decode()})
    assert r.status_code == 400
    # Not base64 / not XML.
    assert client.post(sls, {"SAMLResponse": "bm90IHhtbA=="}).status_code == 400
    # Posted to the SLS of another provider with the same IdP (its destination is not
    # that one): refused.
    twin = IdentityProvider.objects.create(
        space=space, slug="twin", name="Twin", kind="saml", idp_metadata=provider.idp_metadata
    )
    assert client.post(f"/sso/saml/{twin.pk}/sls/", {"SAMLResponse": good}).status_code == 400
    assert AuditEntry.objects.count() == before
    # The genuine answer is still accepted once: nothing above used it up.
    assert client.post(sls, {"SAMLResponse": good}).status_code == 302


def test_a_logout_response_for_a_request_we_never_sent_is_refused(client, space, setup):
    provider, idp = setup
    sign_in(client, space, idp)
    # The IdP answers a LogoutRequest it made up (signed, right destination).
    fake = idp.server.parse_logout_request(
        idp_request_for(idp, provider), "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    )
    _sls, response = idp.logout_response(fake)
    r = client.post(f"/sso/saml/{provider.pk}/sls/", {"SAMLResponse": response})
    assert r.status_code == 400
    assert "sso.logout_confirmed" not in actions()
    assert "_auth_user_id" in client.session  # still signed in


def idp_request_for(idp, provider) -> str:
    """A LogoutRequest as if the SP had sent it (issuer = our SP) to the IdP, for POST."""
    import uuid

    from saml2.saml import NAMEID_FORMAT_PERSISTENT, Issuer, NameID
    from saml2.samlp import LogoutRequest

    req = LogoutRequest(
        id="_" + uuid.uuid4().hex,
        version="2.0",
        issue_instant=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        destination="https://idp.example.test/slo",
        issuer=Issuer(text=SP_ENTITY.format(pk=provider.pk)),
        name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text="sam-1"),
    )
    return base64.b64encode(str(req).encode()).decode()


def test_idp_initiated_logout_ends_the_sessions_of_that_name_id(
    client, space, setup, learner, monkeypatch
):
    provider, idp = setup
    sam, index = sign_in(client, space, idp)
    # A second browser of Sam's (same IdP session), and someone else signed in.
    other_browser = Client()
    other_browser.force_login(sam)
    other_person = Client()
    other_person.force_login(learner)
    sls = f"http://testserver/sso/saml/{provider.pk}/sls/"
    sp_entity = SP_ENTITY.format(pk=provider.pk)
    # Another session index: nothing ends.
    wrong = idp.logout_request(sls, sp_entity, subject="sam-1", session_index="elsewhere")
    r = other_person.post(sls.replace("http://testserver", ""), {"SAMLRequest": wrong})
    assert r.status_code == 302
    assert "_auth_user_id" in client.session
    message = idp.logout_request(sls, sp_entity, subject="sam-1", session_index=index)
    # Unsigned or foreign-signed requests are refused and end nothing.
    xml = base64.b64decode(message).decode()
    stripped = re.sub(r"<(\w+):Signature .*?</\1:Signature>", "", xml, flags=re.S)
    assert stripped != xml
    r = other_person.post(
        sls.replace("http://testserver", ""),
        {"SAMLRequest": base64.b64encode(stripped.encode()).decode()},
    )
    assert r.status_code == 400
    assert "_auth_user_id" in client.session
    # The same request 11 minutes later (stale) is refused.
    real_now = saml.timezone.now
    with monkeypatch.context() as later:
        later.setattr(saml.timezone, "now", lambda: real_now() + datetime.timedelta(minutes=11))
        r = Client().post(sls.replace("http://testserver", ""), {"SAMLRequest": message})
    assert r.status_code == 400
    assert "_auth_user_id" in client.session
    # The IdP's signed request (sent by the browser, cross-site: no Lyceum cookie needed).
    r = Client().post(sls.replace("http://testserver", ""), {"SAMLRequest": message})
    assert r.status_code == 302
    answer = idp.parse_logout_answer(r["Location"])
    assert answer.status.status_code.value == "urn:oasis:names:tc:SAML:2.0:status:Success"
    assert answer.in_response_to == re.search(r'ID="([^"]+)"', xml).group(1)
    # Sam's SSO session is over; the other person's (and Sam's forced one, which did not
    # come through this IdP) are not.
    assert "_auth_user_id" not in client.session
    assert "_auth_user_id" in other_person.session
    assert "_auth_user_id" in other_browser.session
    entry = AuditEntry.objects.get(action="sso.logout_by_idp")
    assert entry.details["sessions_ended"] == 1
    # A replay is refused.
    r = Client().post(sls.replace("http://testserver", ""), {"SAMLRequest": message})
    assert r.status_code == 400
    assert AuditEntry.objects.filter(action="sso.logout_by_idp").count() == 1
