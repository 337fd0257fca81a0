from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from hub import events
        from hub.notify import register_kind
        from integrations import payloads, services, xapi

        register_kind("integrations.webhook_disabled", _("Webhook subscriptions I own disabled"))
        for name in sorted({*payloads.EVENT_TYPES, *xapi.LEARNING_EVENTS}):
            events.subscribe(name, services.listener(name))
        for name in sorted(payloads.MANY_EVENTS):
            events.subscribe(name, services.many_listener(name))
