"""LTI Dynamic Registration 1.0, the platform's side: checking a tool's registration
request (OpenID Connect client metadata with the LTI tool configuration, RFC 7591's
format) and building the registration we answer with. Reads and checks only: the writes
are ``services.registration_complete``'s."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from externaltools import lti

TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"
# A registration request is a few kilobytes; anything near this is not one.
MAX_BODY = 64 * 1024
MAX_URL = 500
MAX_URIS = 20
MAX_MESSAGES = 20
MAX_CLAIMS = 50
NAME_CLAIMS = {"name", "given_name", "family_name"}
_validate_url = URLValidator(schemes=["http", "https"])


class RegistrationError(Exception):
    """A registration request refused: ``error`` is RFC 7591's code (or ``invalid_token``
    for the bearer token), ``status`` the HTTP status; nothing was written."""

    def __init__(
        self, description: str, *, error: str = "invalid_client_metadata", status: int = 400
    ) -> None:
        super().__init__(description)
        self.error = error
        self.status = status


def url_problem(value: Any) -> str | None:
    """Why ``value`` is not a URL a tool may give us, or None. http(s) only (no
    ``javascript:``, ``data:``...), no credentials in it, at most 500 characters; plain
    http only while Lyceum itself is served over http from the same host (a development
    machine), since a production platform on https cannot frame or post to http."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL:
        return "a URL of at most 500 characters is required"
    try:
        _validate_url(value)
    except ValidationError:
        return f"{value[:100]!r} is not an http(s) URL"
    parts = urlsplit(value)
    if parts.username or parts.password:
        return "URLs with credentials are refused"
    if parts.scheme == "http":
        site = urlsplit(settings.SITE_URL)
        if site.scheme != "http" or (parts.hostname or "") != (site.hostname or ""):
            return f"{value[:100]!r} must use https"
    return None


def check_url(value: Any, what: str) -> str:
    problem = url_problem(value)
    if problem:
        raise RegistrationError(f"{what}: {problem}.", error=_error_for(what))
    return value


def _error_for(what: str) -> str:
    return "invalid_redirect_uri" if what.startswith("redirect_uris") else "invalid_client_metadata"


def _text(data: dict[str, Any], key: str, limit: int, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise RegistrationError(f"{key}: a text of at most {limit} characters is required.")
    return value.strip()


def _strings(data: dict[str, Any], key: str, limit: int) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or len(value) > limit:
        raise RegistrationError(f"{key}: a list of at most {limit} texts is required.")
    if not all(isinstance(v, str) and 0 < len(v) <= MAX_URL for v in value):
        raise RegistrationError(f"{key}: a list of short texts is required.")
    return value


@dataclass
class ToolRequest:
    """What a valid registration request asks for."""

    name: str
    description: str
    login_url: str
    launch_url: str
    deep_linking_url: str
    redirect_uris: list[str]
    jwks_url: str
    custom: Any
    scopes: list[str]
    claims: list[str] | None
    domain: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)


def _in_domain(url: str, domains: list[str]) -> bool:
    """``url``'s host is one of the tool's domains (``host:port`` compares the port too;
    a bare host admits its subdomains)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    for domain in (d.lower() for d in domains):
        if ":" in domain:
            if parts.netloc.lower().rpartition("@")[2] == domain:
                return True
        elif host == domain or host.endswith("." + domain):
            return True
    return False


def parse(body: bytes) -> ToolRequest:
    """The tool's registration request, checked; :class:`RegistrationError` otherwise."""
    if len(body) > MAX_BODY:
        raise RegistrationError("The registration request is too large.", status=413)
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: nesting deeper than the parser's stack (a 64 KB body holds 32,000 levels).
        raise RegistrationError("The registration request is not JSON.") from exc
    if not isinstance(data, dict):
        raise RegistrationError("The registration request is not a JSON object.")
    config = data.get(TOOL_CONFIGURATION)
    if not isinstance(config, dict):
        raise RegistrationError(f"{TOOL_CONFIGURATION} is required.")
    if data.get("application_type", "web") != "web":
        raise RegistrationError("application_type must be web.")
    if "id_token" not in _strings(data, "response_types", 10):
        raise RegistrationError("response_types must include id_token.")
    grants = _strings(data, "grant_types", 10)
    if not {"implicit", "client_credentials"} <= set(grants):
        raise RegistrationError("grant_types must include implicit and client_credentials.")
    if data.get("token_endpoint_auth_method", "private_key_jwt") != "private_key_jwt":
        raise RegistrationError("token_endpoint_auth_method must be private_key_jwt.")

    login_url = check_url(data.get("initiate_login_uri"), "initiate_login_uri")
    jwks_url = check_url(data.get("jwks_uri"), "jwks_uri")
    redirect_uris = _strings(data, "redirect_uris", MAX_URIS)
    if not redirect_uris:
        raise RegistrationError(
            "redirect_uris: at least one is required.", error=_error_for("redirect_uris")
        )
    for i, uri in enumerate(redirect_uris):
        check_url(uri, f"redirect_uris[{i}]")
    launch_url = check_url(config.get("target_link_uri"), "target_link_uri")

    scope = data.get("scope", "")
    if not isinstance(scope, str) or len(scope) > 2000:
        raise RegistrationError("scope: a space-separated text is required.")
    scopes = list(dict.fromkeys(scope.split()))
    unknown = [s for s in scopes if s not in lti.SCOPES]
    if unknown:
        raise RegistrationError(f"scope: {unknown[0][:200]!r} is not a scope this platform knows.")

    messages = config.get("messages", [])
    if not isinstance(messages, list) or len(messages) > MAX_MESSAGES:
        raise RegistrationError(f"messages: a list of at most {MAX_MESSAGES} is required.")
    deep_linking_url = ""
    supported: list[dict[str, Any]] = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise RegistrationError("messages: each needs a type.")
        if message["type"] not in (RESOURCE_LINK, DEEP_LINKING):
            continue  # a message we do not send: not registered, not an error
        target = message.get("target_link_uri")
        if target is not None:
            check_url(target, f"messages ({message['type']}) target_link_uri")
        if message["type"] == DEEP_LINKING:
            deep_linking_url = target or launch_url
        supported.append(
            {"type": message["type"], **({"target_link_uri": target} if target else {})}
        )

    claims = None
    if "claims" in config:
        claims = _strings(config, "claims", MAX_CLAIMS)

    domain = _text(config, "domain", 253)
    if domain:
        secondary = _strings(config, "secondary_domains", MAX_URIS)
        urls = [login_url, jwks_url, launch_url, *redirect_uris]
        urls += [m["target_link_uri"] for m in supported if "target_link_uri" in m]
        outside = [u for u in urls if not _in_domain(u, [domain, *secondary])]
        if outside:
            raise RegistrationError(f"{outside[0][:100]!r} is not within the tool's domain.")

    custom = config.get("custom_parameters", {})
    if not isinstance(custom, dict):
        raise RegistrationError("custom_parameters must be an object.")
    return ToolRequest(
        name=_text(data, "client_name", 200, required=True),
        description=_text(config, "description", 500),
        login_url=login_url,
        launch_url=launch_url,
        deep_linking_url=deep_linking_url,
        redirect_uris=redirect_uris,
        jwks_url=jwks_url,
        custom=custom,
        scopes=scopes,
        claims=claims,
        domain=domain,
        messages=supported,
    )


def granted_claims(*, share_name: bool, share_email: bool) -> list[str]:
    claims = ["iss", "sub"]
    if share_name:
        claims += ["name", "given_name", "family_name"]
    if share_email:
        claims.append("email")
    return claims


def response(tool: Any, request: ToolRequest) -> dict[str, Any]:
    """The registration we answer with (RFC 7591's echo of the client metadata): our
    client id, the scopes granted, and the deployment id in the LTI tool configuration."""
    config: dict[str, Any] = {
        "deployment_id": tool.deployment_id,
        "target_link_uri": tool.launch_url,
        "custom_parameters": tool.custom,
        "claims": granted_claims(share_name=tool.share_name, share_email=tool.share_email),
        "messages": request.messages,
    }
    if request.domain:
        config["domain"] = request.domain
    if tool.description:
        config["description"] = tool.description
    return {
        "client_id": tool.client_id,
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": tool.login_url,
        "redirect_uris": request.redirect_uris,
        "client_name": tool.name,
        "jwks_uri": tool.jwks_url,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(tool.scopes),
        TOOL_CONFIGURATION: config,
    }
