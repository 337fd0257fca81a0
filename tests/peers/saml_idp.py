"""pysaml2's IdP (``saml2.server.Server``) as the SAML counterpart of the SSO tests: its own
key and self-signed certificate, its metadata, and signed responses to our requests."""

from __future__ import annotations

import base64
import datetime
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


__all__ = ["BINDING_HTTP_POST", "SamlIdP"]
