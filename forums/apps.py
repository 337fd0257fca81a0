from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForumsConfig(AppConfig):
    name = "forums"
    verbose_name = _("Forums")

    def ready(self) -> None:
        from hub.accounts.models import Role
        from hub.models import Delivery
        from hub.notify import register_kind

        register_kind("forums.mention", _("Mentions in forums"), Delivery.IN_APP_AND_EMAIL)
        register_kind("forums.reply", _("Replies in threads I follow"))
        register_kind("forums.thread", _("New threads in forums I follow"))
        register_kind("forums.accepted", _("My answer was accepted"))
        register_kind("forums.library", _("Review of content I shared"))
        register_kind("forums.trust", _("My forum trust level changed"))
        register_kind(
            "forums.flagged",
            _("Posts hidden by members' flags (moderators)"),
            roles=[Role.TRAINER, Role.COORDINATOR, Role.ADMIN],
        )
        # Not a notification of its own: whether the daily forum digest is e-mailed.
        register_kind("forums.digest", _("Daily forum digest (e-mail)"), Delivery.OFF)

        from forums import realtime, selectors  # noqa: F401
        from hub import files

        files.register("forums", selectors.attachment_file_name)
        files.register("library", selectors.library_file_name)
