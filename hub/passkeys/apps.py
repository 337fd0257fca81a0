from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PasskeysConfig(AppConfig):
    name = "hub.passkeys"
    label = "passkeys"
    verbose_name = _("Passkeys")
    default_auto_field = "django.db.models.BigAutoField"
