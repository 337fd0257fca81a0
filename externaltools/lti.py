"""The LTI 1.3 platform's cryptography: our key pairs and JWKS, the id_tokens we sign
(RS256), the tools' keys (JWKS URL or PEM) and the checks of the JWTs they send us
(deep linking responses, client assertions). joserfc does the JOSE work."""

from __future__ import annotations

import json
import logging
import time
import uuid
from base64 import urlsafe_b64decode
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from externaltools.models import PlatformKey, Tool, UsedNonce

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
# id_tokens live this long; what tools send us may be this old at most (and clocks drift).
ID_TOKEN_TTL = 300
MAX_MESSAGE_AGE = 3600
LEEWAY = 60
HTTP_TIMEOUT = 10
JWKS_CACHE_SECONDS = 300

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS_SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
)
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPES = (*AGS_SCOPES, NRPS_SCOPE)


class LTIError(Exception):
    """A message from a tool refused; the text says why (no secrets in it)."""


# -- where we are ---------------------------------------------------------------------------
def issuer() -> str:
    """Our issuer: the site's address (``SITE_URL``), as tools register it."""
    return settings.SITE_URL.rstrip("/")


def absolute(name: str, *args: Any) -> str:
    return issuer() + reverse(name, args=args)


def openid_configuration(space_id: int | None = None) -> dict[str, Any]:
    """The platform's OpenID configuration (LTI Dynamic Registration's platform metadata).
    A space's names the registration endpoint of that space (tools register per space);
    the site-wide one has none."""
    config: dict[str, Any] = {
        "issuer": issuer(),
        "authorization_endpoint": absolute("externaltools-authorize"),
        "token_endpoint": absolute("externaltools-token"),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": [ALGORITHM],
        "jwks_uri": absolute("externaltools-jwks"),
        "scopes_supported": ["openid", *SCOPES],
        "response_types_supported": ["id_token"],
        "response_modes_supported": ["form_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email"],
        "https://purl.imsglobal.org/spec/lti-platform-configuration": {
            "product_family_code": "lyceum",
            "version": "1",
            "messages_supported": [
                {"type": "LtiResourceLinkRequest"},
                {"type": "LtiDeepLinkingRequest"},
            ],
        },
    }
    if space_id is not None:
        config["registration_endpoint"] = absolute("externaltools-register", space_id)
    return config


# -- our keys -------------------------------------------------------------------------------
def key_ensure() -> PlatformKey:
    """The newest active key pair, made on first need (a tool registration, a command)."""
    key = PlatformKey.objects.filter(is_active=True).first()
    if key is None:
        key = key_rotate()
    return key


def key_rotate() -> PlatformKey:
    """A new key pair that signs from now on; the previous ones stay published (tools
    cache our JWKS) until ``keep`` of them are newer."""
    kid = uuid.uuid4().hex
    pair = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": ALGORITHM})
    pem = pair.as_pem(private=True).decode()
    key = PlatformKey.objects.create(kid=kid, private_pem=pem)
    stale = PlatformKey.objects.filter(is_active=True).values_list("pk", flat=True)[3:]
    PlatformKey.objects.filter(pk__in=list(stale)).update(is_active=False)
    return key


def _private(key: PlatformKey) -> RSAKey:
    return RSAKey.import_key(
        key.private_pem, parameters={"kid": key.kid, "use": "sig", "alg": ALGORITHM}
    )


def public_jwks() -> dict[str, Any]:
    return {
        "keys": [
            _private(key).as_dict(private=False)
            for key in PlatformKey.objects.filter(is_active=True)
        ]
    }


def sign(claims: dict[str, Any]) -> str:
    """``claims`` signed with our current key (``kid`` in the header)."""
    key = PlatformKey.objects.filter(is_active=True).first()
    if key is None:
        raise LTIError("No platform key: register a tool first.")
    header = {"alg": ALGORITHM, "typ": "JWT", "kid": key.kid}
    return jwt.encode(header, claims, _private(key))


# -- the tools' keys ------------------------------------------------------------------------
def _fetch_jwks(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT, allow_redirects=False)
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("tool JWKS %s: %s", url, exc)
        raise LTIError("The tool's key set cannot be read.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise LTIError("The tool's key set is not a JWKS.")
    return data


def tool_keys(tool: Tool, *, refresh: bool = False) -> KeySet | RSAKey:
    """The tool's keys: its JWKS (cached), or the one PEM key it registered (a PEM has no
    ``kid``, so it is used whatever ``kid`` a token names)."""
    if tool.public_key.strip():
        try:
            return RSAKey.import_key(tool.public_key.strip())
        except (JoseError, ValueError) as exc:
            raise LTIError("The tool's public key cannot be read.") from exc
    if not tool.jwks_url:
        raise LTIError("The tool has no key.")
    cache_key = f"externaltools:jwks:{tool.pk}:{tool.jwks_url}"
    jwks = None if refresh else cache.get(cache_key)
    if jwks is None:
        jwks = _fetch_jwks(tool.jwks_url)
        cache.set(cache_key, jwks, JWKS_CACHE_SECONDS)
    try:
        return KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError) as exc:
        raise LTIError("The tool's key set cannot be read.") from exc


def verify_tool_jwt(tool: Tool, token: str, *, audience: str | list[str]) -> dict[str, Any]:
    """The claims of ``token`` once it is proven the tool's: signed by one of its keys
    (RS256 only), issued by its client id, for ``audience``, not expired, not from the
    future, not older than an hour. Raises :class:`LTIError` otherwise."""
    if not isinstance(token, str) or not token or len(token) > 100_000:
        raise LTIError("No token.")
    try:
        try:
            decoded = jwt.decode(token, tool_keys(tool), algorithms=[ALGORITHM])
        except (JoseError, ValueError):
            # The tool may have rotated its key since we cached its set.
            decoded = jwt.decode(token, tool_keys(tool, refresh=True), algorithms=[ALGORITHM])
    except (JoseError, ValueError, TypeError) as exc:
        raise LTIError("The token's signature is not the tool's.") from exc
    claims = decoded.claims
    audiences = [audience] if isinstance(audience, str) else audience
    aud = claims.get("aud")
    aud_list = aud if isinstance(aud, list) else [aud]
    if not any(a in audiences for a in aud_list):
        raise LTIError("The token is not meant for this platform.")
    if claims.get("iss") != tool.client_id:
        raise LTIError("The token's issuer is not the tool.")
    now = time.time()
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + LEEWAY < now:
        raise LTIError("The token has expired.")
    if isinstance(iat, int | float) and (iat - LEEWAY > now or iat + MAX_MESSAGE_AGE < now):
        raise LTIError("The token's issue time is not acceptable.")
    return claims


def unverified_claims(token: Any) -> dict[str, Any]:
    """The claims of a JWT before its signature is checked: only to find which tool sent
    it (whose keys then check it). Raises :class:`LTIError` if it is not a JWT."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, TypeError, AttributeError) as exc:
        raise LTIError("This is not a JWT.") from exc
    if not isinstance(claims, dict):
        raise LTIError("This is not a JWT.")
    return claims


def nonce_use(tool: Tool, value: Any, *, until: float | None = None) -> None:
    """Remember ``value`` as used by ``tool``; refuse it if it was (a replay)."""
    if not isinstance(value, str) or not value or len(value) > 200:
        raise LTIError("The token has no nonce.")
    expires = timezone.now() + timedelta(seconds=MAX_MESSAGE_AGE + LEEWAY)
    UsedNonce.objects.filter(expires_at__lt=timezone.now()).delete()
    try:
        with transaction.atomic():
            UsedNonce.objects.create(tool=tool, value=value, expires_at=expires)
    except IntegrityError:
        raise LTIError("This message was already used.") from None
