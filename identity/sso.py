"""Single sign-on: OpenID Connect (authorization code + PKCE) and the
just-in-time account every protocol ends in (``sign_in``).

An ID token is accepted only when its signature verifies against the provider's JWKS (RS/ES/PS
algorithms: never ``none`` nor a shared secret), its issuer is the configured one, its
audience holds our client id, it has not expired, and its nonce is the one this browser's
session sent. The state is single use: a replayed callback finds no state and is refused.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import requests
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from hub.accounts.models import Role, RoleGrant, Space, SpaceMembership
from identity import hooks, people
from identity.models import ExternalIdentity, IdentityProvider, SpaceIdentity

logger = logging.getLogger("lyceum.identity")
User = get_user_model()

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"]
STATE_TTL = 600
LEEWAY = 60
HTTP_TIMEOUT = 10
SESSION_KEY = "identity_sso_pending"


class SSOError(Exception):
    """A sign-in refused: the message is shown to the person (no secrets in it)."""


# -- provider documents -------------------------------------------------------------------
def _get_json(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("identity provider document %s: %s", url, exc)
        raise SSOError(_("The identity provider cannot be reached.")) from exc
    if not isinstance(data, dict):
        raise SSOError(_("The identity provider answered something unexpected."))
    return data


def oidc_metadata(provider: IdentityProvider) -> dict[str, Any]:
    key = f"identity:oidc-meta:{provider.pk}:{provider.issuer}"
    meta = cache.get(key)
    if meta is None:
        url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        meta = _get_json(url)
        if meta.get("issuer") != provider.issuer.rstrip("/") and meta.get("issuer") != (
            provider.issuer
        ):
            raise SSOError(_("The identity provider's issuer does not match its settings."))
        cache.set(key, meta, 3600)
    return meta


def oidc_keys(provider: IdentityProvider, *, refresh: bool = False) -> KeySet:
    key = f"identity:oidc-jwks:{provider.pk}:{provider.issuer}"
    jwks = None if refresh else cache.get(key)
    if jwks is None:
        jwks = _get_json(oidc_metadata(provider)["jwks_uri"])
        cache.set(key, jwks, 3600)
    return KeySet.import_key_set(jwks)


# -- the flow -----------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def callback_url(request: Any, provider: IdentityProvider) -> str:
    path = (
        "/sso/oidc/callback/"
        if provider.kind == IdentityProvider.Kind.OIDC
        else (f"/sso/saml/{provider.pk}/acs/")
    )
    return request.build_absolute_uri(path)


def oidc_begin(*, request: Any, provider: IdentityProvider, next_url: str) -> str:
    """Remember state, nonce and PKCE verifier in the session; the IdP's authorization URL."""
    meta = oidc_metadata(provider)
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)  # RFC 7636: 43 to 128 characters
    pending = request.session.get(SESSION_KEY, {})
    now = time.time()
    pending = {k: v for k, v in pending.items() if now - v["at"] < STATE_TTL}
    pending[state] = {
        "provider": provider.pk,
        "nonce": nonce,
        "verifier": verifier,
        "next": next_url,
        "at": now,
        "redirect_uri": callback_url(request, provider),
    }
    request.session[SESSION_KEY] = pending
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": pending[state]["redirect_uri"],
        "scope": provider.scopes or "openid email profile",
        "state": state,
        "nonce": nonce,
        "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    return meta["authorization_endpoint"] + "?" + urlencode(params)


def take_pending(request: Any, state: str) -> dict[str, Any]:
    pending = request.session.get(SESSION_KEY, {})
    entry = pending.pop(state, None) if isinstance(state, str) else None
    request.session[SESSION_KEY] = pending
    if entry is None:
        raise SSOError(_("This sign-in link was already used or does not come from here."))
    if time.time() - entry["at"] > STATE_TTL:
        raise SSOError(_("This sign-in took too long. Start again."))
    return entry


def id_token_claims(provider: IdentityProvider, id_token: str, nonce: str) -> dict[str, Any]:
    """The verified claims of an ID token, or ``SSOError``."""
    try:
        try:
            token = jwt.decode(id_token, oidc_keys(provider), algorithms=ALGORITHMS)
        except (JoseError, ValueError):
            # A key rotated at the provider: read its JWKS again once.
            token = jwt.decode(id_token, oidc_keys(provider, refresh=True), algorithms=ALGORITHMS)
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True, "value": oidc_metadata(provider)["issuer"]},
            aud={"essential": True, "value": provider.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError, TypeError) as exc:
        logger.info("ID token refused (provider %s): %s", provider.pk, exc)
        raise SSOError(_("The identity provider's answer could not be verified.")) from exc
    claims = dict(token.claims)
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != provider.client_id:
        raise SSOError(_("The identity provider's answer could not be verified."))
    return claims


def oidc_complete(*, request: Any, state: str, code: str) -> tuple[IdentityProvider, dict, str]:
    """Exchange the code, verify the ID token, read userinfo: (provider, claims, next)."""
    entry = take_pending(request, state)
    provider = IdentityProvider.objects.filter(
        pk=entry["provider"], enabled=True, kind=IdentityProvider.Kind.OIDC
    ).first()
    if provider is None:
        raise SSOError(_("This identity provider is not available any more."))
    if not code or not isinstance(code, str):
        raise SSOError(_("The identity provider refused the sign-in."))
    meta = oidc_metadata(provider)
    try:
        response = requests.post(
            meta["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": entry["redirect_uri"],
                "code_verifier": entry["verifier"],
            },
            auth=(provider.client_id, provider.client_secret),
            timeout=HTTP_TIMEOUT,
        )
        tokens = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise SSOError(_("The identity provider cannot be reached.")) from exc
    if response.status_code != 200 or "id_token" not in tokens:
        logger.info("token endpoint refused (provider %s): %s", provider.pk, tokens)
        raise SSOError(_("The identity provider refused the code it issued."))
    claims = id_token_claims(provider, tokens["id_token"], entry["nonce"])
    if tokens.get("access_token") and meta.get("userinfo_endpoint"):
        try:
            info = requests.get(
                meta["userinfo_endpoint"],
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
                timeout=HTTP_TIMEOUT,
            ).json()
        except (requests.RequestException, ValueError):
            info = {}
        if isinstance(info, dict) and info.get("sub") == claims["sub"]:
            claims = {**info, **claims}
    claims["_id_token"] = tokens["id_token"]  # kept in the session for logout (id_token_hint)
    return provider, claims, entry["next"]


def oidc_logout_url(*, request: Any, provider: IdentityProvider, id_token: str) -> str | None:
    """RP-initiated logout: the provider's ``end_session_endpoint`` with the ID token of the
    sign-in (id_token_hint) and our post-logout page (to register at the provider), when its
    discovery document has one."""
    try:
        meta = oidc_metadata(provider)
    except SSOError:
        return None
    endpoint = meta.get("end_session_endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    params = {
        "client_id": provider.client_id,
        "post_logout_redirect_uri": post_logout_url(request),
    }
    if id_token:
        params["id_token_hint"] = id_token
    return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)


def post_logout_url(request: Any) -> str:
    return request.build_absolute_uri("/accounts/login/")


# -- just-in-time accounts ----------------------------------------------------------------
def _first(value: Any) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value).strip() if value is not None else ""


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def mapped(provider: IdentityProvider, attributes: dict[str, Any]) -> dict[str, Any]:
    """The person's fields read from the claims or attributes by the provider's mapping."""
    mapping = {**(provider.mapping or {})}
    out: dict[str, Any] = {}
    for field in ("email", "first_name", "last_name", "display_name", "team", "manager"):
        name = mapping.get(field)
        out[field] = _first(attributes.get(name)) if name else ""
    name = mapping.get("groups")
    out["groups"] = _list(attributes.get(name)) if name else []
    return out


def fallback_manager(space: Space) -> Any:
    """Who manages a team an identity provider names before anyone set it up."""
    admin = (
        User.objects.filter(
            Q(role_grants__role=Role.ADMIN) | Q(is_superuser=True),
            space_memberships__space=space,
            is_active=True,
        )
        .order_by("pk")
        .first()
    )
    return admin or User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()


@transaction.atomic
def sign_in(
    *,
    provider: IdentityProvider,
    subject: str,
    attributes: dict[str, Any],
    request: Any = None,
    session_index: str = "",
) -> Any:
    """The account of this person at this provider: found, linked or made, then updated
    from the attributes. ``SSOError`` when the sign-in must be refused."""
    if not subject:
        raise SSOError(_("The identity provider did not say who you are."))
    space = provider.space
    fields = mapped(provider, attributes)
    email = fields["email"].lower()
    link = (
        ExternalIdentity.objects.select_for_update()
        .select_related("user")
        .filter(provider=provider, subject=subject)
        .first()
    )
    created = False
    if link is not None:
        user = link.user
    else:
        user = None
        if email:
            user = User.objects.filter(email__iexact=email).order_by("pk").first()
        if user is not None:
            member = SpaceMembership.objects.filter(space=space, user=user).exists()
            verified = attributes.get("email_verified", True) not in (False, "false")
            if not member or not verified or user.is_superuser:
                hooks.audit(
                    action="sso.link_refused",
                    target=user,
                    space=space,
                    request=request,
                    details={"provider": provider.slug},
                )
                raise SSOError(
                    _(
                        "An account with this e-mail address exists already. Ask an "
                        "administrator of this space to link it."
                    )
                )
        elif provider.create_accounts:
            base = (email.split("@")[0] if email else subject)[:100]
            user = User(username=people.unique_username(base), email=email)
            user.set_unusable_password()
            user.save()
            RoleGrant.objects.create(user=user, role=Role.LEARNER)
            created = True
        else:
            raise SSOError(_("You have no account here. Ask an administrator of this space."))
        link = ExternalIdentity.objects.create(provider=provider, subject=subject, user=user)
    if not user.is_active:
        hooks.audit(
            action="sso.login_refused_inactive",
            target=user,
            space=space,
            request=request,
            details={"provider": provider.slug},
        )
        raise SSOError(_("This account is deactivated."))
    # Attribute mapping: the provider's word wins for what it sends.
    changed = []
    for field in ("first_name", "last_name", "display_name"):
        if fields[field] and getattr(user, field) != fields[field][:150]:
            setattr(user, field, fields[field][:150])
            changed.append(field)
    if email and user.email.lower() != email:
        user.email = email
        changed.append("email")
    if changed:
        user.save(update_fields=changed)
    people.membership_ensure(space=space, user=user)
    if provider.role_groups:
        roles = {
            provider.role_groups[g] for g in fields["groups"] if g in provider.role_groups
        } & set(Role.values)
        if people.roles_replace(user=user, roles=roles or {Role.LEARNER}):
            changed.append("roles")
    manager = None
    if fields["manager"]:
        manager = (
            User.objects.filter(
                Q(email__iexact=fields["manager"]) | Q(username__iexact=fields["manager"]),
                space_memberships__space=space,
            )
            .exclude(pk=user.pk)
            .first()
        )
        if manager is not None and people.manager_set(space=space, user=user, manager=manager):
            changed.append("manager")
    if fields["team"]:
        team = people.team_by_name(
            space=space,
            name=fields["team"],
            create_with_manager=manager or fallback_manager(space),
        )
        if team is not None and people.team_set(space=space, user=user, team=team):
            changed.append("team")
    link.last_login = timezone.now()
    link.session_index = session_index[:255]
    link.save(update_fields=["last_login", "session_index"])
    if created:
        hooks.audit(
            action="sso.account_created",
            target=user,
            space=space,
            request=request,
            details={"provider": provider.slug, "subject": subject},
        )
    hooks.audit(
        action="sso.login",
        actor=user,
        target=user,
        space=space,
        request=request,
        details={"provider": provider.slug, "changed": changed},
    )
    return user


# -- "SSO only" ---------------------------------------------------------------------------
def sso_only_spaces() -> set[int]:
    return set(SpaceIdentity.objects.filter(sso_only=True).values_list("space_id", flat=True))


def password_refused(user: Any) -> bool:
    """True for a person in a space whose members sign in only through its providers
    (superusers keep their password: the way back in when the IdP is down)."""
    if user is None or user.is_superuser:
        return False
    return SpaceMembership.objects.filter(user=user, space__identity__sso_only=True).exists()


def providers_for(space: Space | None):
    if space is None:
        return IdentityProvider.objects.none()
    return IdentityProvider.objects.filter(space=space, enabled=True).order_by("name")


def check_can_manage(user: Any, space: Space) -> None:
    if not (
        user.is_superuser
        or (
            user.has_role(Role.ADMIN)
            and SpaceMembership.objects.filter(space=space, user=user).exists()
        )
    ):
        raise PermissionDenied(_("Only an administrator of this space may do this."))


__all__ = ["SSOError", "ValidationError"]
