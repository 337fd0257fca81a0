"""SAML 2.0 service provider per identity provider (pysaml2; signatures checked by xmlsec1).

The AuthnRequest goes by HTTP-Redirect, the Response comes back by HTTP-POST to
``/sso/saml/<id>/acs/``. A response is accepted only when it is signed by the IdP of the
metadata, is meant for us (audience, destination), is in its validity window, answers a
request we made (``InResponseTo``, single use) and its assertion was not seen before.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.xmldsig import SIG_RSA_SHA256

from identity.models import IdentityProvider, SamlAssertionSeen
from identity.sso import SSOError

REQUEST_TTL = 600
logger = logging.getLogger("lyceum.identity")


def sp_urls(request: Any, provider: IdentityProvider) -> dict[str, str]:
    base = request.build_absolute_uri(f"/sso/saml/{provider.pk}/")
    return {"entity": base + "metadata/", "acs": base + "acs/", "sls": base + "sls/"}


def signing_files(provider: IdentityProvider) -> tuple[str, str]:
    """(key file, certificate file) of our signing key for this IdP, made on first use.
    pysaml2 and xmlsec1 read files: they are written once under the temporary folder,
    readable by this user only, named by the certificate's digest."""
    if not provider.sp_private_key or not provider.sp_certificate:
        key, cert = new_key_and_certificate(f"lyceum-sp-{provider.pk}")
        IdentityProvider.objects.filter(pk=provider.pk, sp_private_key="").update(
            sp_private_key=key, sp_certificate=cert
        )
        provider.refresh_from_db(fields=["sp_private_key", "sp_certificate"])
    folder = Path(tempfile.gettempdir()) / f"lyceum-saml-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    digest = hashlib.sha256(provider.sp_certificate.encode()).hexdigest()[:32]
    paths = (folder / f"{digest}.key", folder / f"{digest}.crt")
    for path, text in zip(paths, (provider.sp_private_key, provider.sp_certificate), strict=True):
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
    return str(paths[0]), str(paths[1])


def new_key_and_certificate(name: str) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def sp_config(request: Any, provider: IdentityProvider, *, with_idp: bool = True) -> SPConfig:
    urls = sp_urls(request, provider)
    key_file, cert_file = signing_files(provider)
    config = SPConfig()
    config.load(
        {
            "entityid": urls["entity"],
            "xmlsec_binary": shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
            "key_file": key_file,
            "cert_file": cert_file,
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(urls["acs"], BINDING_HTTP_POST)],
                        # The IdP posts its LogoutRequest and LogoutResponse here (signed
                        # XML); a GET would change state.
                        "single_logout_service": [(urls["sls"], BINDING_HTTP_POST)],
                    },
                    "allow_unsolicited": True,  # InResponseTo is checked below, single use
                    "want_assertions_or_response_signed": True,
                    "authn_requests_signed": False,
                    "logout_requests_signed": True,
                    "name_id_format_allow_create": True,
                }
            },
            "metadata": {"inline": [provider.idp_metadata] if with_idp else []},
            "allow_unknown_attributes": True,
        }
    )
    return config


def client(request: Any, provider: IdentityProvider) -> Saml2Client:
    return Saml2Client(sp_config(request, provider))


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
        None, sp_config(request, provider, with_idp=False), 4, None, None, None, None, None
    ).decode()


# -- single logout ------------------------------------------------------------------------
def idp_slo(saml_client: Saml2Client) -> tuple[str, str, str] | None:
    """(IdP entity id, SLO URL, binding) when the IdP's metadata offers single logout."""
    idp = idp_entity(saml_client)
    for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
        slo = saml_client.metadata.single_logout_service(idp, binding, "idpsso")
        if slo:
            return idp, slo[0]["location"], binding
    return None


def logout_begin(*, request: Any, provider: IdentityProvider, user: Any) -> str | None:
    """The IdP's single logout URL with our signed LogoutRequest (HTTP-Redirect), when its
    metadata offers one; the request id is remembered (10 minutes, single use) so that the
    IdP's LogoutResponse can be matched."""
    from saml2.saml import NAMEID_FORMAT_UNSPECIFIED, NameID

    from identity.models import ExternalIdentity

    link = ExternalIdentity.objects.filter(provider=provider, user=user).first()
    if link is None:
        return None
    try:
        saml_client = client(request, provider)
        found = idp_slo(saml_client)
        if found is None or found[2] != BINDING_HTTP_REDIRECT:
            return None
        idp, destination, binding = found
        request_id, logout_request = saml_client.create_logout_request(
            destination,
            idp,
            name_id=NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=link.subject),
            session_indexes=[link.session_index] if link.session_index else None,
            sign=False,  # HTTP-Redirect: the query string is signed (apply_binding below)
        )
        info = saml_client.apply_binding(
            binding,
            str(logout_request),
            destination,
            relay_state="",
            sign=True,
            sigalg=SIG_RSA_SHA256,
        )
    except Exception:
        logger.warning("SAML logout request for provider %s failed", provider.pk, exc_info=True)
        return None
    cache.set(
        f"identity:saml:logout:{request_id}",
        {"provider": provider.pk, "user": user.pk},
        REQUEST_TTL,
    )
    return dict(info["headers"])["Location"]


def _decoded(message: str) -> str:
    if not message or len(message) > 500_000:
        raise SSOError(_("The identity provider's answer is missing."))
    try:
        return base64.b64decode(message, validate=False).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise SSOError(_("The identity provider's answer could not be verified.")) from exc


def _signed_by_idp(saml_client: Saml2Client, xml: str, kind: str) -> None:
    """The message itself must carry a signature by the key in the IdP's metadata (an
    unsigned one is refused; pysaml2 alone would accept it)."""
    check = getattr(saml_client.sec, f"correctly_signed_logout_{kind}")
    try:
        ok = check(xml, must=True)
    except Exception as exc:
        raise SSOError(_("The identity provider's answer could not be verified.")) from exc
    if not ok:
        raise SSOError(_("The identity provider's answer could not be verified."))


def logout_response_complete(
    *, request: Any, provider: IdentityProvider, saml_response: str
) -> dict[str, Any]:
    """Verify the IdP's LogoutResponse (signature by the IdP, destination our SLS, issuer,
    InResponseTo a LogoutRequest we sent, single use): the pending entry
    ({"provider", "user", "status"})."""
    from saml2.response import LogoutResponse

    xml = _decoded(saml_response)
    saml_client = client(request, provider)
    _signed_by_idp(saml_client, xml, "response")
    try:
        response = saml_client._parse_response(
            saml_response, LogoutResponse, "single_logout_service", BINDING_HTTP_POST
        )
    except Exception as exc:
        raise SSOError(_("The identity provider's answer could not be verified.")) from exc
    if response is None or response.response is None:
        raise SSOError(_("The identity provider's answer could not be verified."))
    message = response.response
    if message.issuer is None or message.issuer.text != idp_entity(saml_client):
        raise SSOError(_("The identity provider's answer could not be verified."))
    if message.destination != sp_urls(request, provider)["sls"]:
        raise SSOError(_("The identity provider's answer could not be verified."))
    key = f"identity:saml:logout:{message.in_response_to}"
    pending = cache.get(key) if message.in_response_to else None
    if not pending or pending["provider"] != provider.pk or not cache.delete(key):
        raise SSOError(_("This logout answer was already used or does not come from here."))
    status = message.status.status_code.value if message.status else ""
    return {**pending, "status": status}


def logout_request_complete(
    *, request: Any, provider: IdentityProvider, saml_request: str
) -> tuple[Any, str]:
    """An IdP-initiated LogoutRequest, verified (signature by the IdP, issuer, destination,
    not seen before): the pysaml2 request and the IdP's entity id."""
    xml = _decoded(saml_request)
    saml_client = client(request, provider)
    _signed_by_idp(saml_client, xml, "request")
    try:
        parsed = saml_client.parse_logout_request(saml_request, BINDING_HTTP_POST)
    except Exception as exc:
        raise SSOError(_("The identity provider's request could not be verified.")) from exc
    if parsed is None or parsed.message is None:
        raise SSOError(_("The identity provider's request could not be verified."))
    message = parsed.message
    idp = idp_entity(saml_client)
    if message.issuer is None or message.issuer.text != idp:
        raise SSOError(_("The identity provider's request could not be verified."))
    if message.destination and message.destination != sp_urls(request, provider)["sls"]:
        raise SSOError(_("The identity provider's request could not be verified."))
    if message.name_id is None or not message.name_id.text:
        raise SSOError(_("The identity provider's request could not be verified."))
    # Fresh (pysaml2 alone allows a day): issued in the last 10 minutes, 1 minute of clock
    # skew; its id is kept an hour, so a replay is refused for as long as it is fresh.
    try:
        issued = datetime.datetime.strptime(message.issue_instant[:19], "%Y-%m-%dT%H:%M:%S")
    except (TypeError, ValueError) as exc:
        raise SSOError(_("The identity provider's request could not be verified.")) from exc
    age = (timezone.now() - issued.replace(tzinfo=datetime.UTC)).total_seconds()
    if not -60 <= age <= REQUEST_TTL:
        raise SSOError(_("This logout request is too old."))
    SamlAssertionSeen.objects.filter(expires_at__lt=timezone.now()).delete()
    _seen, created = SamlAssertionSeen.objects.get_or_create(
        assertion_id=f"logout:{message.id}"[:255],
        defaults={"expires_at": timezone.now() + datetime.timedelta(hours=1)},
    )
    if not created:
        raise SSOError(_("This logout request was already used."))
    return message, idp


def logout_answer(
    *, request: Any, provider: IdentityProvider, message: Any, success: bool
) -> str | None:
    """The IdP's SLO URL carrying our signed LogoutResponse (HTTP-Redirect)."""
    from saml2.samlp import STATUS_UNKNOWN_PRINCIPAL, Status, StatusCode

    saml_client = client(request, provider)
    found = idp_slo(saml_client)
    if found is None or found[2] != BINDING_HTTP_REDIRECT:
        return None
    _idp, destination, binding = found
    status = None
    if not success:
        status = Status(status_code=StatusCode(value=STATUS_UNKNOWN_PRINCIPAL))
    try:
        response = saml_client.create_logout_response(
            message, bindings=[BINDING_HTTP_REDIRECT], status=status, sign=False
        )
        info = saml_client.apply_binding(
            binding,
            str(response),
            destination,
            relay_state="",
            response=True,
            sign=True,
            sigalg=SIG_RSA_SHA256,
        )
    except Exception:
        logger.warning("SAML logout response for provider %s failed", provider.pk, exc_info=True)
        return None
    return dict(info["headers"])["Location"]
