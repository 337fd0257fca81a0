"""PyLTI1p3 fed from the database: the tool configuration, the tool's keys, the launch.

PyLTI1p3 does the protocol: state, nonce, issuer / client id lookup, the signature against
the platform's JWKS, expiry, the deployment and the message type. Two things it leaves to
the tool are done here: a nonce is accepted once only (PyLTI1p3 only checks it was issued),
and a platform is only accepted by the space whose URLs it called.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from jwcrypto.jwk import JWK
from pylti1p3.contrib.django import DjangoMessageLaunch, DjangoOIDCLogin
from pylti1p3.contrib.django.cookie import DjangoCookieService
from pylti1p3.contrib.django.launch_data_storage.cache import DjangoCacheDataStorage
from pylti1p3.contrib.django.request import DjangoRequest
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract

from hub.accounts.models import Space
from lti.framing import partition_cookie
from lti.models import Platform, ToolKey

# How long an issued nonce stays usable and a used one stays remembered (seconds). An id
# token older than this is refused anyway by its ``exp``.
NONCE_TTL = 3600


class LaunchRefused(Exception):
    """A login or launch that must be refused (a 4xx with this message)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# -- keys ------------------------------------------------------------------------------------
def _kid(public_pem: str) -> str:
    return JWK.from_pem(public_pem.encode()).thumbprint()


@transaction.atomic
def key_create(*, space: Space) -> ToolKey:
    """A new RSA key for the space; it signs from now on, older keys stay published."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return ToolKey.objects.create(
        space=space, kid=_kid(public_pem), private_key=private_pem, public_key=public_pem
    )


def signing_key(space: Space | int) -> ToolKey:
    """The newest active key of the space (made on first use)."""
    space_id = space if isinstance(space, int) else space.pk
    key = ToolKey.objects.filter(space_id=space_id, active=True).order_by("-created_at", "-pk")
    found = key.first()
    if found is None:
        with transaction.atomic():
            Space.objects.select_for_update().get(pk=space_id)  # one first key, not two
            found = key.first() or key_create(space=Space.objects.get(pk=space_id))
    return found


def space_jwks(space: Space) -> dict[str, Any]:
    """The public keys platforms verify our messages with."""
    signing_key(space)
    keys = []
    for key in ToolKey.objects.filter(space=space, active=True):
        jwk = dict(Registration.get_jwk(key.public_key))
        jwk["kid"] = key.kid
        keys.append(jwk)
    return {"keys": keys}


# -- tool configuration ------------------------------------------------------------------------
def platform_registration(platform: Platform) -> Registration:
    key = signing_key(platform.space_id)
    return (
        Registration()
        .set_issuer(platform.issuer)
        .set_client_id(platform.client_id)
        .set_auth_login_url(platform.auth_login_url)
        .set_auth_token_url(platform.auth_token_url)
        .set_auth_audience(platform.auth_audience or None)
        .set_key_set_url(platform.key_set_url)
        .set_tool_private_key(key.private_key)
        .set_tool_public_key(key.public_key)
    )


class SpaceToolConf(ToolConfAbstract):
    """The active platforms of one space, read from the database.

    Each issuer may hold several client ids (one per registration), so lookups always go
    by (issuer, client id).
    """

    def __init__(self, space: Space) -> None:
        super().__init__()
        self.space = space
        self._found: dict[tuple[str, str], Platform | None] = {}

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def platform(self, iss: str, client_id: str | None) -> Platform:
        key = (iss or "", client_id or "")
        if key not in self._found:
            qs = Platform.objects.select_related("space").filter(issuer=iss, is_active=True)
            if client_id:
                qs = qs.filter(client_id=client_id)
            candidates = list(qs[:2])
            self._found[key] = candidates[0] if len(candidates) == 1 else None
        found = self._found[key]
        if found is None:
            raise LaunchRefused("Unknown platform: this issuer and client id are not registered.")
        if found.space_id != self.space.pk:
            raise LaunchRefused("This platform is registered in another space.", status=403)
        return found

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration:
        return platform_registration(self.platform(iss, None))

    def find_registration_by_params(
        self, iss: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Registration:
        return platform_registration(self.platform(iss, client_id))

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> Deployment | None:
        platform = self.platform(iss, client_id)
        if deployment_id not in (platform.deployment_ids or []):
            return None
        return Deployment().set_deployment_id(deployment_id)

    def get_jwks(self, iss: str | None = None, client_id: str | None = None, **kwargs: Any):
        return space_jwks(self.space)


class TimedSession(requests.Session):
    """A session whose calls give up: a platform that hangs must not hold a worker."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", float(getattr(settings, "LTI_HTTP_TIMEOUT", 10.0)))
        kwargs.setdefault("allow_redirects", False)
        return super().request(*args, **kwargs)


def timed_session() -> TimedSession:
    session = TimedSession()
    session.headers["User-Agent"] = "Lyceum-LTI"
    return session


# A state kept in the platform's storage (LTI Platform Storage) instead of a cookie:
# cache key -> {"secret", "target", "origin"}, for as long as PyLTI1p3's state cookie lives.
STORAGE_STATE = "lti1p3-storage-state-{}"
STORAGE_STATE_TTL = 300
# The form field our launch page posts back with the value read from the platform's storage.
STORAGE_FIELD = "lti_storage_value"


class CacheStorage(DjangoCacheDataStorage):
    """Launch data in Django's cache, never behind PyLTI1p3's own browser-session cookie.

    Over HTTPS PyLTI1p3 prefixes the nonce and launch data with an ``lti1p3-session-id``
    cookie: a launch whose browser cannot keep that cookie (a frame with third-party
    cookies blocked, a state kept in platform storage) would fail. The state check binds
    the launch to the browser that started it; nonces and launch ids are random, single
    use (the nonce) and short-lived.
    """

    def get_session_cookie_name(self) -> None:
        return None


def _storage() -> DjangoCacheDataStorage:
    return CacheStorage(cache_name="default")


class StateCookieService(DjangoCookieService):
    """PyLTI1p3's state cookie as ``SameSite=None; Secure; Partitioned``: readable at the
    launch even inside a cross-site frame with third-party cookies blocked. With
    ``keep=False`` (state in platform storage) no state cookie is set."""

    def __init__(self, request: Any, *, keep: bool = True) -> None:
        super().__init__(DjangoRequest(request))
        self._django_request = request
        self._keep = keep

    def set_cookie(self, name: str, value: Any, exp: Any = 3600) -> None:
        if self._keep:
            super().set_cookie(name, value, exp)

    def update_response(self, response: Any) -> None:
        super().update_response(response)
        for key in self._cookie_data_to_set:
            partition_cookie(self._django_request, response, key)


class ToolLogin(DjangoOIDCLogin):
    """OIDC third-party login initiation (state in a cookie or the platform's storage,
    nonce in Django's cache)."""

    def __init__(self, request: Any, conf: SpaceToolConf, *, state_cookie: bool = True) -> None:
        super().__init__(
            request,
            conf,
            cookie_service=StateCookieService(request, keep=state_cookie),
            launch_data_storage=_storage(),
        )


class ToolLaunch(DjangoMessageLaunch):
    """A launch checked by PyLTI1p3, with a nonce that works once only."""

    def __init__(self, request: Any, conf: SpaceToolConf, **kwargs: Any) -> None:
        kwargs["launch_data_storage"] = kwargs.get("launch_data_storage") or _storage()
        kwargs["requests_session"] = kwargs.get("requests_session") or timed_session()
        kwargs["cookie_service"] = kwargs.get("cookie_service") or StateCookieService(request)
        super().__init__(request, conf, **kwargs)
        self._django_request = request
        # PyJWT checks ``exp`` (and ``iat``, ``nbf``) and requires ``exp`` to be present; the
        # audience is checked by the registration lookup (the client id is the audience).
        self.set_jwt_verify_options({"verify_aud": False, "require": ["exp", "iat"]})

    def save_launch_data(self) -> ToolLaunch:
        # Last step, after the signature and deployment checks: only a genuine token spends
        # its nonce. ``add`` is atomic in every cache backend: of two launches carrying one
        # nonce, one wins.
        nonce = self._get_jwt_body().get("nonce")
        if not cache.add(f"lti1p3-nonce-used-{nonce}", 1, NONCE_TTL):
            raise LtiException("Nonce already used")
        return super().save_launch_data()

    def validate_state(self) -> ToolLaunch:
        """The state cookie, or (platform storage) the value our launch page read back
        from the platform's frame, posted by that page of ours."""
        request = self._django_request
        if STORAGE_FIELD not in request.POST:
            return super().validate_state()
        state = request.POST.get("state", "")
        pending = cache.get(STORAGE_STATE.format(state)) if state else None
        if not pending or not storage_post_is_ours(request):
            raise LtiException("State not found")
        if request.POST[STORAGE_FIELD] != pending["secret"]:
            raise LtiException("State not found in the platform's storage")
        cache.delete(STORAGE_STATE.format(state))  # once
        return self

    def validate_registration(self) -> ToolLaunch:
        aud = self._get_jwt_body().get("aud")
        # Several audiences: ``azp`` must name us (OIDC core 3.1.3.7).
        if isinstance(aud, list) and len(aud) > 1:
            azp = self._get_jwt_body().get("azp")
            if not azp or azp not in aud:
                raise LtiException("Several audiences and no authorised party")
        return super().validate_registration()

    def platform(self) -> Platform:
        return self._tool_config.platform(self.get_iss(), self.get_client_id())


def storage_post_is_ours(request: Any) -> bool:
    """A post made by a page of ours (same origin): a cross-site form cannot carry a value
    read from the platform's storage in another browser (login CSRF)."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
        return False
    origin = request.headers.get("Origin", "")
    return bool(origin) and origin == f"{request.scheme}://{request.get_host()}"


def launch_from_cache(request: Any, conf: SpaceToolConf, launch_id: str) -> ToolLaunch:
    """A launch checked earlier (the deep-linking picker posts back its id)."""
    return ToolLaunch.from_cache(launch_id, request, conf, launch_data_storage=_storage())


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
