"""Passkeys (issue 16); hub/urls.py includes them."""

from django.urls import path

from hub.passkeys import views as v

urlpatterns = [
    path(
        "accounts/security/passkeys/options/", v.register_options, name="passkey-register-options"
    ),
    path("accounts/security/passkeys/", v.register, name="passkey-register"),
    path("accounts/security/passkeys/<int:pk>/remove/", v.remove, name="passkey-remove"),
    path(
        "accounts/login/second-factor/passkey/options/",
        v.login_options,
        name="passkey-login-options",
    ),
    path("accounts/login/second-factor/passkey/", v.login_finish, name="passkey-login"),
]
