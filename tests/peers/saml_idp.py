"""pysaml2's IdP (``saml2.server.Server``) as the SAML counterpart of the SSO tests: its own
key and self-signed certificate, its metadata, and signed responses to our requests."""

from __future__ import annotations

import base64
import datetime
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

from tests.conftest import skip_or_fail

IDP = "https://idp.example.test/metadata"


def key_and_cert(folder: Path, name: str = "idp") -> tuple[str, str]:
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
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(key_path), str(cert_path)


class SamlIdP:
    def __init__(
        self,
        folder: Path,
        sp_metadata: str,
        name: str = "idp",
        base: str = "https://idp.example.test",
    ) -> None:
        xmlsec = shutil.which("xmlsec1")
        if xmlsec is None:
            skip_or_fail("xmlsec1 is missing: apt-get install xmlsec1")
        key, cert = key_and_cert(folder, name)
        config = IdPConfig()
        config.load(
            {
                "entityid": IDP,
                "xmlsec_binary": xmlsec,
                "key_file": key,
                "cert_file": cert,
                "service": {
                    "idp": {
                        "endpoints": {
                            "single_sign_on_service": [(f"{base}/sso", BINDING_HTTP_REDIRECT)],
                            "single_logout_service": [(f"{base}/slo", BINDING_HTTP_REDIRECT)],
                        },
                        "policy": {"default": {"lifetime": {"minutes": 15}}},
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                    }
                },
                "metadata": {"inline": [sp_metadata]},
            }
        )
        self.server = Server(config=config)
        self.metadata = create_metadata_string(
            None, config, 4, None, None, None, None, None
        ).decode()

    def respond(self, redirect_url: str, *, subject: str, identity: dict) -> tuple[str, str]:
        """(ACS URL, SAMLResponse) answering the AuthnRequest in ``redirect_url``."""
        query = parse_qs(urlparse(redirect_url).query)
        request = self.server.parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT)
        message = request.message
        acs = message.assertion_consumer_service_url
        response = self.server.create_authn_response(
            identity=identity,
            in_response_to=message.id,
            destination=acs,
            sp_entity_id=message.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=subject),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_assertion=True,
            sign_response=True,
        )
        return acs, base64.b64encode(str(response).encode()).decode()

    def session_index(self, saml_response: str) -> str:
        """The session index the IdP gave in a response it made."""
        from saml2.samlp import response_from_string

        response = response_from_string(base64.b64decode(saml_response).decode())
        return response.assertion[0].authn_statement[0].session_index

    def receive_logout(self, redirect_url: str, sp_entity: str):
        """Our SP's LogoutRequest (HTTP-Redirect) at the IdP's SLO URL; its query string
        signature is verified with the certificate of the SP's metadata."""
        from saml2.sigver import verify_redirect_signature

        query = {k: v[0] for k, v in parse_qs(urlparse(redirect_url).query).items()}
        certs = self.server.metadata.certs(sp_entity, "spsso", "signing")
        if not certs or not verify_redirect_signature(
            query, self.server.sec.sec_backend, certs[0][1]
        ):
            raise AssertionError("the LogoutRequest's signature does not verify")
        return self.server.parse_logout_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)

    def logout_response(self, logout_request, *, sign: bool = True) -> tuple[str, str]:
        """(SP's SLS URL, SAMLResponse): the IdP's LogoutResponse by HTTP-POST."""
        response = self.server.create_logout_response(
            logout_request.message, bindings=[BINDING_HTTP_POST], sign=sign
        )
        xml = str(response)  # signed: already the XML text
        destination = re.search(r'Destination="([^"]+)"', xml).group(1)
        return destination, base64.b64encode(xml.encode()).decode()

    def logout_request(
        self, destination: str, sp_entity: str, *, subject: str, session_index: str = ""
    ) -> str:
        """An IdP-initiated LogoutRequest (signed, for HTTP-POST): SAMLRequest."""
        _id, request = self.server.create_logout_request(
            destination,
            sp_entity,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=subject),
            session_indexes=[session_index] if session_index else None,
            sign=True,
        )
        return base64.b64encode(str(request).encode()).decode()

    def parse_logout_answer(self, redirect_url: str):
        """Our SP's LogoutResponse (HTTP-Redirect), its signature verified."""
        from saml2.sigver import verify_redirect_signature

        query = {k: v[0] for k, v in parse_qs(urlparse(redirect_url).query).items()}
        response = self.server.parse_logout_request_response(
            query["SAMLResponse"], BINDING_HTTP_REDIRECT
        )
        sp_entity = response.response.issuer.text
        certs = self.server.metadata.certs(sp_entity, "spsso", "signing")
        if not verify_redirect_signature(query, self.server.sec.sec_backend, certs[0][1]):
            raise AssertionError("the LogoutResponse's signature does not verify")
        return response.response


__all__ = ["BINDING_HTTP_POST", "SamlIdP"]
