"""Passkeys (WebAuthn) as a second factor, beside the authenticator app (issue 16).

py_webauthn (Duo Labs) does the checking: the challenge, the origin, the RP ID hash, the
signature and the sign counter. The relying party is the site: ``SITE_URL`` gives the origin
and its host the RP ID. A challenge is kept in the person's session, bound to them, and
taken out by the first answer whatever its outcome (single use), 5 minutes at most.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json_dict
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from hub import audit
from hub.accounts import mfa
from hub.accounts.models import Role, User
from hub.passkeys.models import Passkey

REGISTER_KEY = "lyceum_passkey_register"
LOGIN_KEY = "lyceum_passkey_login"
CHALLENGE_SECONDS = 300
RP_NAME = "Lyceum"
BAD_INPUT = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)


def relying_party() -> tuple[str, str]:
    """(RP ID, origin) from ``SITE_URL``."""
    origin = settings.SITE_URL.rstrip("/")
    return (urlsplit(origin).hostname or "localhost"), origin


def _descriptors(user: User) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for key in Passkey.objects.filter(user=user):
        transports = []
        for t in key.transports or []:
            try:
                transports.append(AuthenticatorTransport(t))
            except ValueError:
                continue
        out.append(
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(key.credential_id), transports=transports or None
            )
        )
    return out


def _keep_challenge(request: Any, key: str, user: User, challenge: bytes) -> None:
    request.session[key] = {
        "challenge": bytes_to_base64url(challenge),
        "uid": user.pk,
        "at": time.time(),
    }


def _take_challenge(request: Any, key: str, user: User) -> bytes | None:
    """The challenge issued to ``user`` in this session, removed (single use)."""
    data = request.session.pop(key, None)
    if not isinstance(data, dict) or data.get("uid") != user.pk:
        return None
    if time.time() - float(data.get("at", 0)) > CHALLENGE_SECONDS:
        return None
    return base64url_to_bytes(data["challenge"])


def _credential_id(credential: Any) -> str:
    if isinstance(credential, dict) and isinstance(credential.get("id"), str):
        return credential["id"][:1400]
    return ""


# -- reads -----------------------------------------------------------------------------------
def passkeys_of(*, user: User) -> list[Passkey]:
    return list(Passkey.objects.filter(user=user))


def has_passkey(*, user: User) -> bool:
    return Passkey.objects.filter(user=user).exists()


# -- registration ----------------------------------------------------------------------------
def registration_options(*, request: Any, user: User) -> dict:
    rp_id, _origin = relying_party()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=RP_NAME,
        user_name=user.username,
        user_id=f"lyceum-user-{user.pk}".encode(),
        user_display_name=user.get_full_name() or user.username,
        exclude_credentials=_descriptors(user),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    _keep_challenge(request, REGISTER_KEY, user, options.challenge)
    return options_to_json_dict(options)


def registration_finish(*, request: Any, user: User, name: str, credential: Any) -> Passkey:
    """Check the browser's answer to the last registration options; save the passkey."""
    name = " ".join(str(name or "").split())[:80] or _("Passkey")
    challenge = _take_challenge(request, REGISTER_KEY, user)
    if challenge is None:
        raise ValidationError(_("That request expired or was already used. Start again."))
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except BAD_INPUT as exc:
        audit.record(
            action="mfa.passkey_refused",
            actor=user,
            target=user,
            request=request,
            details={"step": "register", "reason": str(exc)[:200]},
        )
        raise ValidationError(
            _("This passkey could not be checked: %(reason)s") % {"reason": str(exc)[:200]}
        ) from exc
    transports = []
    if isinstance(credential, dict):
        raw = (credential.get("response") or {}).get("transports") or []
        transports = [str(t)[:20] for t in raw if isinstance(t, str)][:8]
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user,
                name=name,
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=transports,
            )
            audit.record(
                action="mfa.passkey_added",
                actor=user,
                target=user,
                request=request,
                details={"passkey": passkey.pk, "name": name},
            )
    except IntegrityError as exc:
        raise ValidationError(_("This passkey is already registered.")) from exc
    return passkey


# -- use at login ----------------------------------------------------------------------------
def authentication_options(*, request: Any, user: User) -> dict:
    rp_id, _origin = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=_descriptors(user),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _keep_challenge(request, LOGIN_KEY, user, options.challenge)
    return options_to_json_dict(options)


def _refuse(request: Any, user: User, reason: str, message: str, **details: Any) -> None:
    audit.record(
        action="mfa.failed",
        target=user,
        request=request,
        details={"passkey": reason, **details},
    )
    raise ValidationError(message)


def authentication_finish(*, request: Any, user: User, credential: Any) -> Passkey:
    """Check the browser's answer to the last login options with one of ``user``'s passkeys.
    A refusal raises ValidationError and leaves an ``mfa.failed`` audit row."""
    challenge = _take_challenge(request, LOGIN_KEY, user)
    if challenge is None:
        _refuse(
            request,
            user,
            "challenge",
            _("That request expired or was already used. Try the passkey again."),
        )
    credential_id = _credential_id(credential)
    passkey = Passkey.objects.filter(credential_id=credential_id).first() if credential_id else None
    if passkey is None:
        _refuse(request, user, "unknown", _("This passkey is not registered here."))
    if passkey.user_id != user.pk:
        _refuse(
            request,
            user,
            "foreign",
            _("This passkey is not registered here."),
            owner=passkey.user_id,
        )
    rp_id, origin = relying_party()
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
        )
    except BAD_INPUT as exc:
        _refuse(
            request,
            user,
            "invalid",
            _("This passkey could not be checked: %(reason)s") % {"reason": str(exc)[:200]},
            error=str(exc)[:200],
        )
    # The counter moves forward only from the value just checked (two answers racing with
    # the same count: one wins).
    moved = Passkey.objects.filter(pk=passkey.pk, sign_count=passkey.sign_count).update(
        sign_count=verified.new_sign_count, last_used_at=timezone.now()
    )
    if not moved:
        _refuse(request, user, "counter", _("This passkey could not be checked. Try again."))
    passkey.refresh_from_db()
    return passkey


# -- removal ---------------------------------------------------------------------------------
@transaction.atomic
def passkey_remove(*, actor: User, user: User, passkey_id: int, request: Any = None) -> None:
    """Remove one passkey: the person themself or an administrator. The person may not remove
    their last second factor while their space requires one."""
    if actor.pk != user.pk and not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only the person or an administrator may do this."))
    passkey = Passkey.objects.select_for_update().filter(pk=passkey_id, user=user).first()
    if passkey is None:
        raise Passkey.DoesNotExist
    if actor.pk == user.pk and mfa.second_factor_required(user=user):
        others = Passkey.objects.filter(user=user).exclude(pk=passkey.pk).exists()
        if not others and not mfa.has_totp(user=user):
            raise ValidationError(
                _("Your space requires a second factor for your role: keep this one.")
            )
    name = passkey.name
    passkey.delete()
    audit.record(
        action="mfa.passkey_removed",
        actor=actor,
        target=user,
        request=request,
        details={"passkey": passkey_id, "name": name},
    )
