"""Sign-in forms: Django's, with the lockout's message when the lockout refused the sign-in."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

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


class ProfileForm(forms.Form):
    """The profile page's fields, in three groups (the template draws the fieldsets)."""

    display_name = forms.CharField(
        label=_("Name"),
        max_length=150,
        required=False,
        help_text=_("How others see you in forums, chats and sessions."),
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    email_visible = forms.BooleanField(
        label=_("Show my e-mail address to the members of my spaces"),
        required=False,
        help_text=_("Your managers and the administrators always see it."),
    )
    avatar = forms.ImageField(
        label=_("Picture"),
        required=False,
        help_text=_("A PNG, JPEG, GIF or WebP image. Without one, your initials are shown."),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}
        ),
    )
    remove_avatar = forms.BooleanField(label=_("Remove my picture"), required=False)
    bio = forms.CharField(
        label=_("About me"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("A few words other members see on your profile (500 characters at most)."),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        help_text=_("Every date and time is shown in this zone."),
    )
    language = forms.ChoiceField(label=_("Language"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from django.conf import settings

        from hub.accounts.timezones import zone_choices

        self.fields["time_zone"].choices = zone_choices()
        self.fields["language"].choices = [("", _("The browser's language"))] + [
            (code, name) for code, name in settings.LANGUAGES
        ]
        self.fields["language"].required = False
