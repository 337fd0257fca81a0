from django.contrib import admin

from integrations.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "space", "owner", "is_active", "failure_streak", "created_at")
    list_filter = ("is_active", "space")
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("message_id", "event_type", "endpoint", "status", "attempts", "created_at")
    list_filter = ("status", "event_type")
    raw_id_fields = ("endpoint", "replay_of")
