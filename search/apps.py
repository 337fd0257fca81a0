from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = _("Search")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The built-in sources (chat, forums, library, courses) register themselves and
        # connect their write hooks; other apps register theirs the same way
        # (docs/SEARCH.md).
        from search import sources

        sources.register_builtin()
