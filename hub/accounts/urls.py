"""Pages of identity and access (issue 16); hub/urls.py includes them."""

from django.urls import path

from hub.accounts import identity_views as v

urlpatterns = [
    path("accounts/login/", v.LoginView.as_view(), name="login"),
    path("accounts/login/second-factor/", v.login_second_factor, name="login-second-factor"),
    path("accounts/password/reset/", v.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        v.auth_views.PasswordResetDoneView.as_view(
            template_name="accounts/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        v.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        v.auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("accounts/verify/send/", v.verify_email_send, name="verify-email-send"),
    path("accounts/verify/<str:token>/", v.verify_email, name="verify-email"),
    path("accounts/security/", v.security, name="security"),
    path("accounts/security/totp/begin/", v.security_totp_begin, name="security-totp-begin"),
    path("accounts/security/totp/confirm/", v.security_totp_confirm, name="security-totp-confirm"),
    path("accounts/security/totp/remove/", v.security_totp_remove, name="security-totp-remove"),
    path(
        "accounts/security/recovery-codes/",
        v.security_recovery_codes,
        name="security-recovery-codes",
    ),
    path("accounts/security/token/revoke/", v.security_token_revoke, name="security-token-revoke"),
    path(
        "accounts/security/sign-out-everywhere/",
        v.security_sign_out_everywhere,
        name="security-sign-out-everywhere",
    ),
    path("accounts/security/export/", v.export_request, name="export-request"),
    path("accounts/security/export/<int:pk>/", v.export_download, name="export-download"),
    path("accounts/security/erasure/", v.erasure_request, name="erasure-request"),
    path("accounts/erasure-requests/", v.erasure_requests, name="erasure-requests"),
    path("accounts/erasure-requests/<int:pk>/", v.erasure_decide, name="erasure-decide"),
    path("people/<int:pk>/deactivate/", v.person_deactivate, name="person-deactivate"),
    path("people/<int:pk>/token/revoke/", v.person_token_revoke, name="person-token-revoke"),
    path("spaces/<slug:slug>/invitations/", v.invitations, name="invitations"),
    path("spaces/<slug:slug>/access/", v.access_policy, name="access-policy"),
    path("spaces/<slug:slug>/signup/", v.signup, name="signup"),
    path("invitations/<int:pk>/withdraw/", v.invitation_revoke, name="invitation-revoke"),
    path("invite/<str:token>/", v.invitation_accept, name="invitation-accept"),
]
