"""Account life cycle (issue 16): deactivation, API tokens, e-mail verification,
invitations and self sign-up. Every write checks its permission and writes an audit row."""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from hub import audit
from hub.accounts.models import (
    EmailAddressState,
    Invitation,
    Role,
    Space,
    SpaceAccessPolicy,
    User,
)
from hub.accounts.services import roles_set, space_add_member, user_create

INVITATION_DAYS = 14
VERIFY_SALT = "lyceum.accounts.verify-email"
VERIFY_MAX_AGE = 3 * 24 * 3600


def _site() -> str:
    return settings.SITE_URL.rstrip("/")


# -- sessions, tokens, sockets ---------------------------------------------------------------
def sessions_end(
    *,
    user: User,
    keep: str | None = None,
    match: Callable[[dict[str, Any]], bool] | None = None,
) -> int:
    """Delete the person's browser sessions (all but ``keep``, a session key; only those
    whose data ``match`` accepts, when given: the SSO app ends one provider's sessions)."""
    ended = 0
    uid = str(user.pk)
    for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=1000):
        if s.session_key == keep:
            continue
        try:
            data = s.get_decoded()
        except Exception:
            continue
        if str(data.get("_auth_user_id")) == uid and (match is None or match(data)):
            s.delete()
            ended += 1
    return ended


@transaction.atomic
def user_deactivate(*, actor: User, user: User, request: Any = None) -> None:
    """End the person's access at once: no login, their browser sessions and API token go,
    their open WebSockets close on every process (after commit)."""
    from hub.realtime import disconnect_user

    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only an administrator may deactivate a person."))
    if actor.pk == user.pk:
        raise ValidationError(_("You cannot deactivate yourself."))
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    Token.objects.filter(user=user).delete()
    ended = sessions_end(user=user)
    disconnect_user(user_id=user.pk)
    audit.record(
        action="accounts.deactivated",
        actor=actor,
        target=user,
        request=request,
        details={"sessions_ended": ended},
    )


@transaction.atomic
def user_reactivate(*, actor: User, user: User, request: Any = None) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only an administrator may reactivate a person."))
    User.objects.filter(pk=user.pk).update(is_active=True)
    user.is_active = True
    audit.record(action="accounts.reactivated", actor=actor, target=user, request=request)


@transaction.atomic
def sign_out_everywhere(*, user: User, request: Any = None) -> int:
    """The person ends their other sessions and sockets (this browser stays signed in)."""
    from hub.realtime import disconnect_user

    keep = request.session.session_key if request is not None else None
    ended = sessions_end(user=user, keep=keep)
    disconnect_user(user_id=user.pk)
    audit.record(
        action="accounts.signed_out_everywhere",
        actor=user,
        target=user,
        request=request,
        details={"sessions_ended": ended},
    )
    return ended


def tokens_of(*, user: User) -> list[Token]:
    return list(Token.objects.filter(user=user))


@transaction.atomic
def token_revoke(*, actor: User, user: User, request: Any = None) -> bool:
    """Revoke the person's API token (the person, or an administrator)."""
    if actor.pk != user.pk and not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only the person or an administrator may do this."))
    deleted, _unused = Token.objects.filter(user=user).delete()
    if deleted:
        audit.record(action="accounts.token_revoked", actor=actor, target=user, request=request)
    return bool(deleted)


# -- e-mail verification ---------------------------------------------------------------------
def email_is_verified(*, user: User) -> bool:
    return EmailAddressState.objects.filter(
        user=user, email__iexact=user.email, verified_at__isnull=False
    ).exists()


def verification_link(*, user: User) -> str:
    token = signing.dumps({"u": user.pk, "e": user.email.lower()}, salt=VERIFY_SALT)
    return _site() + reverse("verify-email", args=[token])


def verification_send(*, user: User) -> None:
    if not user.email:
        raise ValidationError(_("Add an e-mail address to your profile first."))
    link = verification_link(user=user)
    send_mail(
        subject=_("Confirm your e-mail address"),
        message=render_to_string("accounts/email/verify.txt", {"user": user, "link": link}),
        from_email=None,
        recipient_list=[user.email],
    )


def email_verify(*, token: str, request: Any = None) -> User:
    """Follow a verification link. Tampered, expired or stale (the address changed since)
    links are refused with a clear message; following a good link twice changes nothing."""
    try:
        data = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        audit.record(action="accounts.verify_expired", request=request)
        raise ValidationError(_("This link has expired. Ask for a new one.")) from None
    except signing.BadSignature:
        audit.record(action="accounts.verify_tampered", request=request)
        raise ValidationError(_("This link is not valid.")) from None
    return _email_verified(data=data, request=request)


@transaction.atomic
def _email_verified(*, data: dict, request: Any) -> User:
    user = User.objects.filter(pk=data.get("u")).first()
    if user is None or user.email.lower() != data.get("e"):
        raise ValidationError(_("This link is for an address that is no longer yours."))
    state, _created = EmailAddressState.objects.get_or_create(
        user=user, defaults={"email": user.email}
    )
    if state.email.lower() != user.email.lower() or state.verified_at is None:
        state.email = user.email
        state.verified_at = timezone.now()
        state.save()
        audit.record(action="accounts.email_verified", actor=user, target=user, request=request)
    if state.signup_pending and not user.is_active:
        # A self sign-up: the verified address activates the account.
        state.signup_pending = False
        state.save(update_fields=["signup_pending"])
        User.objects.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
    return user


# -- invitations -----------------------------------------------------------------------------
def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_invite(*, user: User, space: Space) -> bool:
    from hub.accounts.selectors import is_space_member

    if user.has_role(Role.ADMIN):
        return True
    return user.has_role(Role.COORDINATOR) and is_space_member(user=user, space=space)


def grantable_roles(*, user: User) -> list[str]:
    """Administrators grant any role; coordinators every role but administrator."""
    if user.has_role(Role.ADMIN):
        return list(Role.values)
    return [r for r in Role.values if r != Role.ADMIN]


@transaction.atomic
def invitation_create(
    *,
    actor: User,
    space: Space,
    email: str,
    roles: Iterable[str],
    request: Any = None,
    days: int = INVITATION_DAYS,
) -> tuple[Invitation, str]:
    """Invite ``email`` to ``space`` with ``roles``; e-mails the link (after commit).
    Returns the invitation and the link (shown once)."""
    from django.core.validators import validate_email

    if not may_invite(user=actor, space=space):
        raise PermissionDenied(_("Only administrators and the space's coordinators invite."))
    email = (email or "").strip()
    validate_email(email)
    wanted = list(dict.fromkeys(roles)) or [Role.LEARNER]
    allowed = grantable_roles(user=actor)
    bad = [r for r in wanted if r not in allowed]
    if bad:
        raise ValidationError({"roles": _("You may not grant: %s") % ", ".join(bad)})
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        space=space,
        email=email,
        roles=wanted,
        token_hash=_hash(token),
        invited_by=actor,
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    link = _site() + reverse("invitation-accept", args=[token])
    body = render_to_string(
        "accounts/email/invitation.txt",
        {"invitation": invitation, "link": link, "inviter": actor, "days": days},
    )
    subject = _("You are invited to %(space)s on Lyceum") % {"space": space.name}
    transaction.on_commit(
        lambda: send_mail(subject=subject, message=body, from_email=None, recipient_list=[email])
    )
    audit.record(
        action="accounts.invited",
        actor=actor,
        target=invitation,
        space=space,
        request=request,
        details={"email": email, "roles": wanted},
    )
    return invitation, link


def invitation_for_token(*, token: str, request: Any = None, record: bool = True) -> Invitation:
    """The invitation a link stands for, or a clear ValidationError (unknown, used,
    withdrawn, expired). A refused attempt is written to the audit log only with ``record``:
    a page that merely shows the link (GET) passes ``record=False`` and writes nothing."""
    invitation = (
        Invitation.objects.select_related("space").filter(token_hash=_hash(token or "")).first()
    )

    def refuse(message: str, action: str | None, target: Any = None) -> ValidationError:
        if record and action:
            audit.record(action=action, target=target, request=request)
        return ValidationError(message)

    if invitation is None:
        raise refuse(_("This invitation link is not valid."), "accounts.invitation_invalid")
    if invitation.accepted_at is not None:
        raise refuse(
            _("This invitation was already accepted. Log in instead."),
            "accounts.invitation_replayed",
            invitation,
        )
    if invitation.revoked_at is not None:
        raise refuse(_("This invitation was withdrawn."), None)
    if invitation.expires_at <= timezone.now():
        raise refuse(
            _("This invitation has expired. Ask for a new one."),
            "accounts.invitation_expired",
            invitation,
        )
    return invitation


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    user: User | None = None,
    username: str = "",
    password: str = "",
    display_name: str = "",
    request: Any = None,
) -> User:
    """Accept: link the signed-in ``user``, or create an account (``username``,
    ``password``) with the invited address, already verified (the link went there)."""
    invitation = invitation_for_token(token=token, request=request)
    # Claim the row: of two tabs accepting at once, one wins.
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now()
    )
    if not claimed:
        raise ValidationError(_("This invitation was already accepted. Log in instead."))
    if user is None:
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError({"username": _("This username is taken.")})
        candidate = User(username=username, email=invitation.email)
        validate_password(password, candidate)
        user = user_create(
            username=username,
            password=password,
            email=invitation.email,
            display_name=display_name,
            roles=invitation.roles,
            spaces=[invitation.space],
        )
        EmailAddressState.objects.create(user=user, email=user.email, verified_at=timezone.now())
        created = True
    else:
        roles_set(
            user=user,
            roles=set(user.role_codes) | set(invitation.roles),
            actor=user,
            request=request,
        )
        space_add_member(space=invitation.space, user=user)
        created = False
    Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
    audit.record(
        action="accounts.invitation_accepted",
        actor=user,
        target=invitation,
        space=invitation.space,
        request=request,
        details={"created": created, "roles": invitation.roles},
    )
    return user


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation, request: Any = None) -> None:
    if not may_invite(user=actor, space=invitation.space):
        raise PermissionDenied
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit.record(
        action="accounts.invitation_revoked", actor=actor, target=invitation, request=request
    )


# -- self sign-up ----------------------------------------------------------------------------
def policy_of(space: Space) -> SpaceAccessPolicy:
    policy = SpaceAccessPolicy.objects.filter(space=space).first()
    return policy or SpaceAccessPolicy(space=space)


@transaction.atomic
def policy_update(*, actor: User, space: Space, request: Any = None, **fields: Any) -> None:
    if not actor.has_role(Role.ADMIN):
        raise PermissionDenied(_("Only an administrator changes a space's access rules."))
    policy, _created = SpaceAccessPolicy.objects.get_or_create(space=space)
    for name in ("signup_open", "signup_domains", "require_mfa_for_staff"):
        if name in fields:
            setattr(policy, name, fields[name])
    policy.full_clean()
    policy.save()
    audit.record(
        action="accounts.access_policy_changed",
        actor=actor,
        target=space,
        space=space,
        request=request,
        details={k: fields[k] for k in sorted(fields)},
    )


@transaction.atomic
def signup(
    *,
    space: Space,
    username: str,
    email: str,
    password: str,
    display_name: str = "",
    request: Any = None,
) -> User:
    """Self sign-up to a space that allows it, from an allowed e-mail domain. The account
    stays inactive until the e-mailed link proves the address."""
    from django.core.validators import validate_email

    policy = policy_of(space)
    if not policy.signup_open:
        raise PermissionDenied(_("This space does not take sign-ups. Ask for an invitation."))
    email = (email or "").strip()
    validate_email(email)
    domain = email.rsplit("@", 1)[-1].lower()
    if policy.domains and domain not in policy.domains:
        audit.record(
            action="accounts.signup_refused",
            space=space,
            request=request,
            details={"domain": domain},
        )
        allowed = ", ".join(policy.domains)
        raise ValidationError({"email": _("Sign-up is open to addresses of: %s") % allowed})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken.")})
    if User.objects.filter(email__iexact=email).exists():
        # Said plainly: the address's owner can reset their password instead.
        raise ValidationError({"email": _("An account uses this address. Reset its password.")})
    validate_password(password, User(username=username, email=email))
    user = user_create(
        username=username,
        password=password,
        email=email,
        display_name=display_name,
        roles=[Role.LEARNER],
        spaces=[space],
    )
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    EmailAddressState.objects.create(user=user, email=email, signup_pending=True)
    audit.record(action="accounts.signed_up", target=user, space=space, request=request)
    transaction.on_commit(lambda: verification_send(user=user))
    return user
