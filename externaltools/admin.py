from django.contrib import admin

from externaltools.models import ExternalActivity, LineItem, PlatformKey, Score, Tool


@admin.register(Tool)
class ToolAdmin(admin.ModelAdmin):
    list_display = (
        "name", "space", "client_id", "deployment_id", "is_active", "pending", "created_at",
    )  # fmt: skip
    list_filter = ("is_active", "pending", "space")
    readonly_fields = ("client_id", "deployment_id")


@admin.register(PlatformKey)
class PlatformKeyAdmin(admin.ModelAdmin):
    list_display = ("kid", "is_active", "created_at")
    exclude = ("private_pem",)


@admin.register(ExternalActivity)
class ExternalActivityAdmin(admin.ModelAdmin):
    list_display = ("activity", "tool", "presentation", "pass_percent")
    raw_id_fields = ("activity",)


@admin.register(LineItem)
class LineItemAdmin(admin.ModelAdmin):
    list_display = ("label", "tool", "course", "score_maximum")
    raw_id_fields = ("course", "activity")


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ("line_item", "user", "score_given", "score_maximum", "timestamp")
    raw_id_fields = ("line_item", "user")
