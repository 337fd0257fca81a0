from django.contrib import admin

from integrations.models import LearningRecordStore, Statement, WebhookDelivery, WebhookEndpoint


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


@admin.register(LearningRecordStore)
class LearningRecordStoreAdmin(admin.ModelAdmin):
    list_display = ("name", "endpoint", "space", "is_active", "failure_streak", "last_sent_at")
    list_filter = ("is_active", "space")
    readonly_fields = (
        "failure_streak",
        "last_error",
        "last_sent_at",
        "sending_until",
        "next_try_at",
    )


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    list_display = ("id", "verb", "object_id", "user", "space", "source", "stored")
    list_filter = ("source", "verb")
    raw_id_fields = ("user",)
