from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExternalToolsConfig(AppConfig):
    """Lyceum as an LTI 1.3 platform: external tools launched as course activities."""

    name = "externaltools"
    verbose_name = _("External tools (LTI)")
