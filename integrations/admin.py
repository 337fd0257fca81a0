from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from integrations import egress
from integrations.models import LearningRecordStore, Statement, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    """The admin form refuses the private-network URLs the page and REST refuse."""

    url = forms.URLField(max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookEndpoint
        fields = (
            "space",
            "owner",
            "url",
            "description",
            "event_types",
            "is_active",
            "failure_streak",
            "disabled_at",
            "disabled_reason",
        )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            egress.check_url(url)
        except egress.EgressRefused as exc:
            raise ValidationError(str(exc)) from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("url", "space", "owner", "is_active", "failure_streak", "created_at")
    list_filter = ("is_active", "space")
    exclude = ("secret",)

    def save_model(self, request, obj, form, change) -> None:
        if not obj.secret:  # made here rather than on the page: it still needs one
            from integrations.services import new_secret

            obj.secret = new_secret()
        super().save_model(request, obj, form, change)


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
