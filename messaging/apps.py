from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from hub import events, files
        from hub.notify import register_kind
        from messaging import realtime, selectors  # noqa: F401
        from messaging.services import (
            on_enrolled,
            on_enrolled_many,
            on_liveclass_joined,
            on_liveclass_removed,
            on_unenrolled,
        )

        files.register("chat", selectors.attachment_file_name)
        register_kind("chat_message", _("Chat messages"))
        register_kind("chat_report", _("Reported chat messages"))
        register_kind("chat_thread", _("Replies in chat threads I follow"))
        events.subscribe("classrooms.enrolled", on_enrolled)
        events.subscribe("classrooms.enrolled_many", on_enrolled_many)
        events.subscribe("classrooms.unenrolled", on_unenrolled)
        events.subscribe("classrooms.liveclass_joined", on_liveclass_joined)
        events.subscribe("classrooms.liveclass_removed", on_liveclass_removed)
