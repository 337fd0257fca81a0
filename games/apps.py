from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GamesConfig(AppConfig):
    name = "games"
    verbose_name = _("Live quiz games")

    def ready(self) -> None:
        from games import realtime  # noqa: F401
