from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = _("Identity: single sign-on and provisioning")

    def ready(self) -> None:
        from identity import realtime  # noqa: F401  (registers the import progress topic)
