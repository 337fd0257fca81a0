"""Sign-in forms: Django's, with the lockout's message when the lockout refused the sign-in."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from hub.accounts import lockout


class LockoutMessageMixin:
    """Say "wait N minutes" rather than "wrong password" when the lockout refused."""

    request: object

    def get_invalid_login_error(self) -> forms.ValidationError:
        locked = lockout.refusal(self.request)
        if locked is not None:
            return forms.ValidationError(locked.message, code="locked_out")
        return super().get_invalid_login_error()  # type: ignore[misc]


class LoginForm(LockoutMessageMixin, AuthenticationForm):
    """The login page's form."""


class AdminLoginForm(LockoutMessageMixin, AdminAuthenticationForm):
    """The Django admin's login form: the same lockout, the same message."""
