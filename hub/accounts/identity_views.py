"""Pages of identity and access (issue 16): the two-step login, password reset, e-mail
verification, invitations, sign-up, the "Security and data" page and the admin pages
(access rules, erasure approvals). Thin: the work is in lifecycle.py, mfa.py, privacy.py."""

from __future__ import annotations

import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from hub import audit
from hub.accounts import lifecycle, lockout, mfa, privacy
from hub.accounts.forms import LoginForm
from hub.accounts.models import ErasureRequest, Invitation, Role, Space, User
from hub.client_address import client_address

PENDING_KEY = "lyceum_mfa_pending"
MFA_OK_KEY = "lyceum_mfa_ok"
PENDING_SECONDS = 300


# -- floods ----------------------------------------------------------------------------------
def flooded(key: str, *, limit: int, window: int) -> bool:
    """Count one more attempt under ``key``; True once past ``limit`` in ``window`` s."""
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window)
        count = 1
    return count > limit


def _too_many(request: HttpRequest, what: str) -> HttpResponse:
    # One audit row per kind and address every few minutes: a flood must not write a row
    # per request into the log it is recorded in.
    if cache.add(f"audit:throttled:{what}:{client_address(request)}", 1, timeout=300):
        audit.record(action="accounts.throttled", request=request, details={"what": what})
    return render(
        request,
        "accounts/message.html",
        {
            "title": _("Too many attempts"),
            "message": _("Too many attempts from here. Wait a few minutes, then try again."),
            "error": True,
        },
        status=429,
    )


def _message(request: HttpRequest, title: str, message: str, status: int = 200) -> HttpResponse:
    return render(
        request,
        "accounts/message.html",
        {"title": title, "message": message, "error": status >= 400},
        status=status,
    )


# -- login with a second factor ---------------------------------------------------------------
def mark_second_factor(request: HttpRequest, user: User) -> None:
    """Remember in the session whether this person meets their space's second-factor rule
    (read by ``SecondFactorMiddleware`` without a query)."""
    ok = not mfa.second_factor_required(user=user) or mfa.has_second_factor(user=user)
    request.session[MFA_OK_KEY] = ok


class LoginView(auth_views.LoginView):
    """Django's login, then the second step for people who have a second factor."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if mfa.has_second_factor(user=user):
            self.request.session[PENDING_KEY] = {
                "uid": user.pk,
                "backend": user.backend,
                "at": time.time(),
                "next": self.get_success_url(),
            }
            return redirect("login-second-factor")
        response = super().form_valid(form)
        mark_second_factor(self.request, user)
        return response


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code from your app, or a recovery code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
    )


def login_second_factor(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        messages.error(request, _("Log in again: the second step took too long."))
        return redirect("login")
    user = get_user_model().objects.filter(pk=pending["uid"], is_active=True).first()
    if user is None:
        request.session.pop(PENDING_KEY, None)
        return redirect("login")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        locked = lockout.check(request, user.username)
        if locked is not None:
            form.is_valid()
            form.add_error(None, locked.message)
            status = 429
        elif form.is_valid():
            how = mfa.second_factor_verify(
                user=user, code=form.cleaned_data["code"], request=request
            )
            if how:
                del request.session[PENDING_KEY]
                login(request, user, backend=pending["backend"])
                request.session[MFA_OK_KEY] = True
                if how == "recovery":
                    messages.warning(
                        request,
                        _("You used a recovery code. %(n)d left.")
                        % {"n": mfa.recovery_codes_left(user=user)},
                    )
                target = pending.get("next") or reverse("dashboard")
                if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
                    target = reverse("dashboard")
                return redirect(target)
            locked = lockout.record_failure(request, user.username)
            form.add_error(
                None, locked.message if locked else _("That code is not right. Try again.")
            )
            status = 400
        else:
            status = 400
    from hub.passkeys.services import has_passkey

    return render(
        request,
        "accounts/second_factor.html",
        {"form": form, "totp": mfa.has_totp(user=user), "passkeys": has_passkey(user=user)},
        status=status,
    )


# -- password reset --------------------------------------------------------------------------
class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        address = client_address(request)
        email = (request.POST.get("email") or "").strip().lower()[:254]
        if flooded(f"pwreset:addr:{address}", limit=5, window=900) or flooded(
            f"pwreset:email:{email}", limit=3, window=3600
        ):
            return _too_many(request, "password_reset")
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        # The same answer whether an account has this address (no address probing).
        audit.record(
            action="accounts.password_reset_requested",
            request=self.request,
            details={"email": form.cleaned_data["email"]},
        )
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")
    post_reset_login = False

    def dispatch(self, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().dispatch(*args, **kwargs)
        if not self.validlink and response.status_code == 200:
            # Recorded when acted on (POST), never for a page merely shown (no write on GET).
            if self.request.method == "POST":
                audit.record(action="accounts.password_reset_bad_link", request=self.request)
            response.status_code = 400
        return response

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        audit.record(
            action="accounts.password_reset_done",
            actor=form.user,
            target=form.user,
            request=self.request,
        )
        # A new password ends every other session and socket of the person.
        lifecycle.sign_out_everywhere(user=form.user, request=None)
        return response


# -- e-mail verification ---------------------------------------------------------------------
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the button; POST proves the address (no state change on GET)."""
    if request.method != "POST":
        return render(request, "accounts/verify_email.html", {"token": token})
    try:
        user = lifecycle.email_verify(token=token, request=request)
    except ValidationError as exc:
        return _message(request, _("E-mail address not confirmed"), exc.messages[0], 400)
    return _message(
        request,
        _("E-mail address confirmed"),
        _("Thank you, %(name)s: your address %(email)s is confirmed. You can log in.")
        % {"name": user.name, "email": user.email},
    )


@login_required
@require_POST
def verify_email_send(request: HttpRequest) -> HttpResponse:
    if flooded(f"verify:user:{request.user.pk}", limit=3, window=3600):
        return _too_many(request, "verify_email")
    try:
        lifecycle.verification_send(user=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("We sent a link to %(email)s.") % {"email": request.user.email})
    return redirect("security")


# -- invitations -----------------------------------------------------------------------------
class InvitationForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail"))
    roles = forms.MultipleChoiceField(
        label=gettext_lazy("Roles"),
        choices=Role.choices,
        initial=[Role.LEARNER],
        widget=forms.CheckboxSelectMultiple,
    )


def _space(slug: str) -> Space:
    return get_object_or_404(Space, slug=slug)


@login_required
def invitations(request: HttpRequest, slug: str) -> HttpResponse:
    space = _space(slug)
    if not lifecycle.may_invite(user=request.user, space=space):
        raise PermissionDenied
    form = InvitationForm(request.POST or None)
    allowed = lifecycle.grantable_roles(user=request.user)
    form.fields["roles"].choices = [c for c in Role.choices if c[0] in allowed]
    status = 200
    link = None
    if request.method == "POST":
        if form.is_valid():
            try:
                _inv, link = lifecycle.invitation_create(
                    actor=request.user,
                    space=space,
                    email=form.cleaned_data["email"],
                    roles=form.cleaned_data["roles"],
                    request=request,
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
                status = 400
            else:
                messages.success(
                    request,
                    _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]},
                )
                form = InvitationForm(initial={"roles": [Role.LEARNER]})
                form.fields["roles"].choices = [c for c in Role.choices if c[0] in allowed]
        else:
            status = 400
    return render(
        request,
        "accounts/invitations.html",
        {
            "space": space,
            "form": form,
            "link": link,
            "invitations": Invitation.objects.filter(space=space).select_related("invited_by")[
                :100
            ],
        },
        status=status,
    )


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk)
    lifecycle.invitation_revoke(actor=request.user, invitation=invitation, request=request)
    messages.success(request, _("Invitation withdrawn."))
    return redirect("invitations", slug=invitation.space.slug)


class AccountForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    display_name = forms.CharField(label=gettext_lazy("Name"), max_length=150, required=False)
    password = forms.CharField(
        label=gettext_lazy("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self) -> str:
        value = self.cleaned_data["username"]
        try:
            User.username_validator(value)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None
        return value


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST" and flooded(
        f"invite:addr:{client_address(request)}", limit=20, window=900
    ):
        return _too_many(request, "invitation")
    try:
        # Showing the page (GET) changes nothing, not even the audit log: a refused
        # attempt is recorded when it is acted on (POST, rate-limited above).
        invitation = lifecycle.invitation_for_token(
            token=token, request=request, record=request.method == "POST"
        )
    except ValidationError as exc:
        return _message(request, _("Invitation"), exc.messages[0], 400)
    signed_in = request.user.is_authenticated
    form = None if signed_in else AccountForm(request.POST or None)
    status = 200
    if request.method == "POST":
        try:
            if signed_in:
                user = lifecycle.invitation_accept(token=token, user=request.user, request=request)
            elif form.is_valid():
                user = lifecycle.invitation_accept(
                    token=token, request=request, **form.cleaned_data
                )
                login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
                mark_second_factor(request, user)
            else:
                user = None
                status = 400
        except ValidationError as exc:
            user = None
            status = 400
            if form is not None and hasattr(exc, "error_dict"):
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            elif form is not None:
                form.add_error("password" if "password" in str(exc) else None, exc.messages)
            else:
                return _message(request, _("Invitation"), exc.messages[0], 400)
        if user is not None:
            request.session["space_id"] = invitation.space_id
            messages.success(request, _("Welcome to %(space)s.") % {"space": invitation.space.name})
            return redirect("dashboard")
    return render(
        request,
        "accounts/invitation_accept.html",
        {"invitation": invitation, "form": form, "signed_in": signed_in},
        status=status,
    )


# -- sign-up and access rules ----------------------------------------------------------------
class SignupForm(AccountForm):
    email = forms.EmailField(label=gettext_lazy("E-mail"))


def signup(request: HttpRequest, slug: str) -> HttpResponse:
    space = _space(slug)
    policy = lifecycle.policy_of(space)
    if not policy.signup_open:
        return _message(
            request,
            _("Sign-up"),
            _("This space does not take sign-ups. Ask for an invitation."),
            403,
        )
    form = SignupForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if flooded(f"signup:addr:{client_address(request)}", limit=10, window=3600):
            return _too_many(request, "signup")
        if form.is_valid():
            try:
                lifecycle.signup(space=space, request=request, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in (
                    exc.message_dict.items()
                    if hasattr(exc, "error_dict")
                    else [(None, exc.messages)]
                ):
                    form.add_error(field if field in form.fields else None, errors)
                status = 400
            else:
                return _message(
                    request,
                    _("Check your e-mail"),
                    _("We sent a link to %(email)s. Follow it to activate your account.")
                    % {"email": form.cleaned_data["email"]},
                )
        else:
            status = 400
    return render(
        request,
        "accounts/signup.html",
        {"space": space, "form": form, "policy": policy},
        status=status,
    )


class PolicyForm(forms.Form):
    signup_open = forms.BooleanField(label=gettext_lazy("Anyone may sign up"), required=False)
    signup_domains = forms.CharField(
        label=gettext_lazy("E-mail domains allowed to sign up (one per line; empty: any)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    require_mfa_for_staff = forms.BooleanField(
        label=gettext_lazy("Staff must use a second factor"), required=False
    )


@login_required
def access_policy(request: HttpRequest, slug: str) -> HttpResponse:
    space = _space(slug)
    if not request.user.has_role(Role.ADMIN):
        raise PermissionDenied
    policy = lifecycle.policy_of(space)
    form = PolicyForm(
        request.POST or None,
        initial={
            "signup_open": policy.signup_open,
            "signup_domains": policy.signup_domains,
            "require_mfa_for_staff": policy.require_mfa_for_staff,
        },
    )
    if request.method == "POST" and form.is_valid():
        lifecycle.policy_update(
            actor=request.user, space=space, request=request, **form.cleaned_data
        )
        messages.success(request, _("Access rules saved."))
        return redirect("access-policy", slug=slug)
    return render(
        request,
        "accounts/access_policy.html",
        {"space": space, "form": form},
        status=400 if form.errors else 200,
    )


# -- security and data -----------------------------------------------------------------------
@login_required
def security(request: HttpRequest) -> HttpResponse:
    user = request.user
    from hub.accounts.models import TOTPDevice
    from hub.passkeys.services import passkeys_of

    device = TOTPDevice.objects.filter(user=user).first()
    setup = None
    if device is not None and device.confirmed_at is None:
        uri = mfa.provisioning_uri(device)
        setup = {"secret": device.secret, "qr": mfa.qr_svg(uri), "uri": uri}
    return render(
        request,
        "accounts/security.html",
        {
            "device": device if device and device.confirmed_at else None,
            "setup": setup,
            "code_form": CodeForm(),
            "codes_left": mfa.recovery_codes_left(user=user),
            "new_codes": request.session.pop("lyceum_new_codes", None),
            "required": mfa.second_factor_required(user=user),
            "tokens": lifecycle.tokens_of(user=user),
            "email_verified": lifecycle.email_is_verified(user=user),
            "exports": privacy.exports_of(user=user)[:5],
            "erasure": privacy.erasure_pending(user=user),
            "passkeys": passkeys_of(user=user),
        },
    )


@login_required
@require_POST
def security_totp_begin(request: HttpRequest) -> HttpResponse:
    try:
        mfa.totp_begin(user=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect(reverse("security") + "#second-factor")


@login_required
@require_POST
def security_totp_confirm(request: HttpRequest) -> HttpResponse:
    form = CodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Type the six-digit code from your app."))
        return redirect(reverse("security") + "#second-factor")
    try:
        codes = mfa.totp_confirm(user=request.user, code=form.cleaned_data["code"], request=request)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        request.session["lyceum_new_codes"] = codes
        request.session[MFA_OK_KEY] = True
        messages.success(request, _("Your authenticator app is set up."))
    return redirect(reverse("security") + "#second-factor")


@login_required
@require_POST
def security_totp_remove(request: HttpRequest) -> HttpResponse:
    try:
        mfa.second_factor_remove(actor=request.user, user=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("Second factor turned off."))
    return redirect(reverse("security") + "#second-factor")


@login_required
@require_POST
def security_recovery_codes(request: HttpRequest) -> HttpResponse:
    try:
        request.session["lyceum_new_codes"] = mfa.recovery_codes_regenerate(
            user=request.user, request=request
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect(reverse("security") + "#second-factor")


@login_required
@require_POST
def security_token_revoke(request: HttpRequest) -> HttpResponse:
    lifecycle.token_revoke(actor=request.user, user=request.user, request=request)
    messages.success(request, _("API token revoked."))
    return redirect(reverse("security") + "#tokens")


@login_required
@require_POST
def security_sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    n = lifecycle.sign_out_everywhere(user=request.user, request=request)
    messages.success(request, _("Signed out of %(n)d other sessions.") % {"n": n})
    return redirect(reverse("security") + "#sessions")


# -- people (administrators) -----------------------------------------------------------------
@login_required
@require_POST
def person_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk)
    try:
        lifecycle.user_deactivate(actor=request.user, user=person, request=request)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("person", pk=pk)
    messages.success(request, _("%(name)s is deactivated.") % {"name": person.name})
    return redirect("dashboard")


@login_required
@require_POST
def person_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk)
    lifecycle.token_revoke(actor=request.user, user=person, request=request)
    messages.success(request, _("API token revoked."))
    return redirect("person", pk=pk)


# -- privacy ---------------------------------------------------------------------------------
@login_required
@require_POST
def export_request(request: HttpRequest) -> HttpResponse:
    if flooded(f"export:user:{request.user.pk}", limit=3, window=3600):
        return _too_many(request, "export")
    privacy.export_request(user=request.user, request=request)
    messages.success(request, _("Your export is being prepared."))
    return redirect(reverse("security") + "#data")


@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    export = privacy.export_for_download(user=request.user, export_id=pk, request=request)
    if export is None:
        raise Http404
    from django.http import FileResponse

    response = FileResponse(
        export.file.open("rb"), as_attachment=True, filename=f"lyceum-data-{export.pk}.zip"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


class ErasureForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@login_required
@require_POST
def erasure_request(request: HttpRequest) -> HttpResponse:
    form = ErasureForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        privacy.erasure_request(user=request.user, reason=reason, request=request)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("Your request is sent to the administrators."))
    return redirect(reverse("security") + "#data")


@login_required
def erasure_requests(request: HttpRequest) -> HttpResponse:
    if not request.user.has_role(Role.ADMIN):
        raise PermissionDenied
    return render(
        request,
        "accounts/erasure_requests.html",
        {"requests": ErasureRequest.objects.select_related("user", "decided_by")[:200]},
    )


@login_required
@require_POST
def erasure_decide(request: HttpRequest, pk: int) -> HttpResponse:
    req = get_object_or_404(ErasureRequest, pk=pk)
    decision = request.POST.get("decision")
    if decision not in ("approve", "refuse"):
        return _message(request, _("Erasure"), _("Choose approve or refuse."), 400)
    try:
        privacy.erasure_decide(
            actor=request.user, erasure=req, approve=decision == "approve", request=request
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("Done."))
    return redirect("erasure-requests")
