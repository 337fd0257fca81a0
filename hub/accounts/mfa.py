"""Second factor: an authenticator app (TOTP, RFC 6238) with one-time recovery codes, and the
space rule that staff must use one (issue 16).

TOTP is HMAC-SHA1 over 30-second steps, six digits, one step of clock drift either side; a
step once accepted is never accepted again (a code seen over a shoulder cannot be replayed).
Recovery codes are stored hashed (Django's password hashers) and each works once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hub import audit
from hub.accounts.models import RecoveryCode, Role, SpaceAccessPolicy, TOTPDevice, User

STEP = 30
DIGITS = 6
DRIFT = 1
RECOVERY_CODES = 10
STAFF_ROLES = (Role.TRAINER, Role.COORDINATOR, Role.MANAGER, Role.ADMIN)
ISSUER = "Lyceum"


def totp_code(secret: str, step: int) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP)


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def provisioning_uri(device: TOTPDevice) -> str:
    from urllib.parse import quote

    label = quote(f"{ISSUER}:{device.user.username}")
    return f"otpauth://totp/{label}?secret={device.secret}&issuer={ISSUER}&digits={DIGITS}"


def qr_svg(uri: str) -> str:
    import io

    import segno

    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True)
    return out.getvalue().decode()


def _normalise(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()[:40]


# -- reads -----------------------------------------------------------------------------------
def has_totp(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def has_second_factor(*, user: User) -> bool:
    """An authenticator app or a passkey (hub.passkeys)."""
    from hub.passkeys.models import Passkey

    return has_totp(user=user) or Passkey.objects.filter(user=user).exists()


def is_staff_person(user: User) -> bool:
    return user.has_role(*STAFF_ROLES)


def second_factor_required(*, user: User) -> bool:
    """A staff person in a space whose policy asks staff for a second factor."""
    if not is_staff_person(user):
        return False
    return SpaceAccessPolicy.objects.filter(
        require_mfa_for_staff=True, space__memberships__user=user
    ).exists()


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


# -- writes ----------------------------------------------------------------------------------
@transaction.atomic
def totp_begin(*, user: User) -> TOTPDevice:
    """A new, unconfirmed authenticator secret (replaces an unconfirmed one)."""
    device = TOTPDevice.objects.select_for_update().filter(user=user).first()
    if device is not None and device.confirmed_at is not None:
        raise ValidationError(_("An authenticator app is already set up."))
    if device is None:
        device = TOTPDevice(user=user)
    device.secret = new_secret()
    device.last_step = 0
    device.save()
    return device


def _check_totp(device: TOTPDevice, code: str) -> int | None:
    """The step that ``code`` matches, if it is fresh; None otherwise."""
    code = _normalise(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = current_step()
    for step in range(now - DRIFT, now + DRIFT + 1):
        if step > device.last_step and hmac.compare_digest(totp_code(device.secret, step), code):
            return step
    return None


@transaction.atomic
def totp_confirm(*, user: User, code: str, request: Any = None) -> list[str]:
    """Check the first code; on success the device is on and fresh recovery codes are made
    (returned once, in clear)."""
    device = TOTPDevice.objects.select_for_update().filter(user=user).first()
    if device is None or device.confirmed_at is not None:
        raise ValidationError(_("Start the set-up again."))
    step = _check_totp(device, code)
    if step is None:
        raise ValidationError(_("That code is not right. Check the time on your phone."))
    device.last_step = step
    device.confirmed_at = timezone.now()
    device.save(update_fields=["last_step", "confirmed_at"])
    codes = _recovery_codes_make(user)
    audit.record(action="mfa.totp_enabled", actor=user, target=user, request=request)
    return codes


def _recovery_codes_make(user: User) -> list[str]:
    user.recovery_codes.all().delete()
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=make_password(c)) for c in codes]
    )
    return [f"{c[:5]}-{c[5:]}" for c in codes]


@transaction.atomic
def recovery_codes_regenerate(*, user: User, request: Any = None) -> list[str]:
    if not has_totp(user=user):
        raise ValidationError(_("Set up an authenticator app first."))
    codes = _recovery_codes_make(user)
    audit.record(action="mfa.recovery_codes_renewed", actor=user, target=user, request=request)
    return codes


@transaction.atomic
def second_factor_verify(*, user: User, code: str, request: Any = None) -> str | None:
    """Check a code from the app or a recovery code. Returns ``"totp"`` / ``"recovery"``, or
    None (recorded as a failure)."""
    device = (
        TOTPDevice.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    )
    if device is not None:
        step = _check_totp(device, code)
        if step is not None:
            device.last_step = step
            device.save(update_fields=["last_step"])
            return "totp"
        cleaned = _normalise(code)
        if len(cleaned) == 10:
            for rc in RecoveryCode.objects.select_for_update().filter(
                user=user, used_at__isnull=True
            ):
                if check_password(cleaned, rc.code_hash):
                    rc.used_at = timezone.now()
                    rc.save(update_fields=["used_at"])
                    audit.record(
                        action="mfa.recovery_code_used",
                        actor=user,
                        target=user,
                        request=request,
                        details={"left": recovery_codes_left(user=user)},
                    )
                    return "recovery"
    audit.record(action="mfa.failed", target=user, request=request)
    return None


@transaction.atomic
def second_factor_remove(*, actor: User, user: User, request: Any = None) -> None:
    """Turn the second factor off: the person themself, or an administrator (a lost phone
    and no recovery codes). Refused to the person while their space requires one."""
    if actor.pk != user.pk and not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only the person or an administrator may do this."))
    from hub.passkeys.models import Passkey

    if (
        actor.pk == user.pk
        and second_factor_required(user=user)
        and not Passkey.objects.filter(user=user).exists()
    ):
        raise ValidationError(_("Your space requires a second factor for your role."))
    TOTPDevice.objects.filter(user=user).delete()
    user.recovery_codes.all().delete()
    audit.record(action="mfa.removed", actor=actor, target=user, request=request)
