from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "hub.accounts"
    label = "accounts"
    verbose_name = _("People and spaces")

    def ready(self) -> None:
        # Identity and access (issue 16): the second-factor rule read once per sign-in.
        from django.contrib.auth.signals import user_logged_in

        from hub import files
        from hub.accounts import selectors

        user_logged_in.connect(_mark_second_factor, dispatch_uid="accounts_mfa_mark")
        # Profile pictures: read by those who may see the profile (selectors.can_see_profile).
        files.register("avatars", selectors.avatar_file_name)


def _mark_second_factor(sender, request, user, **kwargs):  # type: ignore[no-untyped-def]
    if request is not None and hasattr(request, "session"):
        from hub.accounts.identity_views import mark_second_factor

        mark_second_factor(request, user)
