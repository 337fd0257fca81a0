"""SAML 2.0 service provider per identity provider (pysaml2; signatures checked by xmlsec1).

The AuthnRequest goes by HTTP-Redirect, the Response comes back by HTTP-POST to
``/sso/saml/<id>/acs/``. A response is accepted only when it is signed by the IdP of the
metadata, is meant for us (audience, destination), is in its validity window, answers a
request we made (``InResponseTo``, single use) and its assertion was not seen before.
"""

from __future__ import annotations

import datetime
import shutil
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig

from identity.models import IdentityProvider, SamlAssertionSeen
from identity.sso import SSOError

REQUEST_TTL = 600


def sp_urls(request: Any, provider: IdentityProvider) -> dict[str, str]:
    base = request.build_absolute_uri(f"/sso/saml/{provider.pk}/")
    return {"entity": base + "metadata/", "acs": base + "acs/", "sls": base + "sls/"}


def client(request: Any, provider: IdentityProvider) -> Saml2Client:
    urls = sp_urls(request, provider)
    config = SPConfig()
    config.load(
        {
            "entityid": urls["entity"],
            "xmlsec_binary": shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(urls["acs"], BINDING_HTTP_POST)],
                        "single_logout_service": [(urls["sls"], BINDING_HTTP_REDIRECT)],
                    },
                    "allow_unsolicited": True,  # InResponseTo is checked below, single use
                    "want_assertions_or_response_signed": True,
                    "authn_requests_signed": False,
                    "name_id_format_allow_create": True,
                }
            },
            "metadata": {"inline": [provider.idp_metadata]},
            "allow_unknown_attributes": True,
        }
    )
    return Saml2Client(config)


def idp_entity(saml_client: Saml2Client) -> str:
    entities = list(saml_client.metadata.identity_providers())
    if len(entities) != 1:
        raise SSOError(_("The SAML metadata must describe one identity provider."))
    return entities[0]


def begin(*, request: Any, provider: IdentityProvider, next_url: str) -> str:
    try:
        saml_client = client(request, provider)
        request_id, info = saml_client.prepare_for_authenticate(
            entityid=idp_entity(saml_client), binding=BINDING_HTTP_REDIRECT
        )
    except SSOError:
        raise
    except Exception as exc:
        raise SSOError(_("The SAML identity provider is not set up correctly.")) from exc
    cache.set(
        f"identity:saml:req:{request_id}", {"provider": provider.pk, "next": next_url}, REQUEST_TTL
    )
    return dict(info["headers"])["Location"]


def complete(
    *, request: Any, provider: IdentityProvider, saml_response: str
) -> tuple[str, dict[str, Any], str, str]:
    """(subject, attributes, session index, next URL) of a verified response."""
    if not saml_response or len(saml_response) > 500_000:
        raise SSOError(_("The identity provider's answer is missing."))
    saml_client = client(request, provider)
    try:
        response = saml_client.parse_authn_request_response(saml_response, BINDING_HTTP_POST)
    except Exception as exc:
        raise SSOError(_("The identity provider's answer could not be verified.")) from exc
    if response is None or response.assertion is None:
        raise SSOError(_("The identity provider's answer could not be verified."))
    pending = (
        cache.get(f"identity:saml:req:{response.in_response_to}")
        if (response.in_response_to)
        else None
    )
    if (
        not pending
        or pending["provider"] != provider.pk
        or not cache.delete(f"identity:saml:req:{response.in_response_to}")
    ):
        raise SSOError(_("This sign-in was already used or does not come from here."))
    assertion_id = response.assertion.id
    expires = timezone.now() + datetime.timedelta(hours=1)
    SamlAssertionSeen.objects.filter(expires_at__lt=timezone.now()).delete()
    _seen, created = SamlAssertionSeen.objects.get_or_create(
        assertion_id=assertion_id[:255], defaults={"expires_at": expires}
    )
    if not created:
        raise SSOError(_("This sign-in was already used or does not come from here."))
    subject = response.get_subject().text or ""
    attributes = {k: v for k, v in (response.get_identity() or {}).items()}
    session_index = ""
    statements = response.assertion.authn_statement or []
    if statements and statements[0].session_index:
        session_index = statements[0].session_index
    return subject, attributes, session_index, pending["next"]


def metadata_xml(request: Any, provider: IdentityProvider) -> str:
    from saml2.metadata import create_metadata_string

    return create_metadata_string(
        None, client(request, provider).config, 4, None, None, None, None, None
    ).decode()


def logout_url(*, request: Any, provider: IdentityProvider, user: Any) -> str | None:
    """The IdP's single logout URL with our LogoutRequest, when its metadata has one."""
    from saml2.saml import NAMEID_FORMAT_UNSPECIFIED, NameID

    from identity.models import ExternalIdentity

    link = ExternalIdentity.objects.filter(provider=provider, user=user).first()
    if link is None:
        return None
    try:
        saml_client = client(request, provider)
        idp = idp_entity(saml_client)
        slo = saml_client.metadata.single_logout_service(idp, BINDING_HTTP_REDIRECT, "idpsso")
        if not slo:
            return None
        destination = slo[0]["location"]
        _req_id, logout_request = saml_client.create_logout_request(
            destination,
            idp,
            name_id=NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=link.subject),
            session_indexes=[link.session_index] if link.session_index else None,
        )
        info = saml_client.apply_binding(
            BINDING_HTTP_REDIRECT, str(logout_request), destination, relay_state=""
        )
        return dict(info["headers"])["Location"]
    except Exception:
        return None
