import os

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HubConfig(AppConfig):
    name = "hub"
    verbose_name = _("Lyceum hub")

    def ready(self) -> None:
        # Topics of the hub itself (hub.user.<id>); feature apps register theirs in
        # their own ready() through their realtime.py.
        from hub import files, realtime_topics  # noqa: F401

        # Space logos are brand assets shown on the login page: public. Every other upload
        # is read through its app's permission check (hub/files.py).
        files.register_public("spaces")

        if os.environ.get("LYCEUM_BENCH") == "1":
            # Load generators' own topic (bench/), only in a server started by `make bench`.
            import bench.topics  # noqa: F401
