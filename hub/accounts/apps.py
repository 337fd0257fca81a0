from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "hub.accounts"
    label = "accounts"
    verbose_name = _("People and spaces")

    def ready(self) -> None:
        from hub import files
        from hub.accounts import selectors

        # Profile pictures: read by those who may see the profile (selectors.can_see_profile).
        files.register("avatars", selectors.avatar_file_name)
