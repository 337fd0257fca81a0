from django.contrib import admin

from lti.models import ContextLink, LtiIdentity, Platform, ResourceLink, ScoreSend, ToolKey


@admin.register(ToolKey)
class ToolKeyAdmin(admin.ModelAdmin):
    list_display = ("space", "kid", "active", "created_at")
    list_filter = ("active",)
    # The private key never shows: only whether the key is still published and signing.
    fields = ("space", "kid", "public_key", "active", "created_at")
    readonly_fields = ("space", "kid", "public_key", "created_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Platform)
class PlatformAdmin(admin.ModelAdmin):
    list_display = ("name", "space", "issuer", "client_id", "is_active")
    list_filter = ("is_active", "space")
    search_fields = ("name", "issuer", "client_id")


@admin.register(LtiIdentity)
class LtiIdentityAdmin(admin.ModelAdmin):
    list_display = ("subject", "issuer", "user", "last_launch_at")
    search_fields = ("subject", "user__username")
    raw_id_fields = ("user",)


@admin.register(ContextLink)
class ContextLinkAdmin(admin.ModelAdmin):
    list_display = ("context_id", "title", "platform", "course", "last_roster_sync_at")


@admin.register(ResourceLink)
class ResourceLinkAdmin(admin.ModelAdmin):
    list_display = ("resource_link_id", "platform", "target_kind", "target_id")


@admin.register(ScoreSend)
class ScoreSendAdmin(admin.ModelAdmin):
    list_display = ("link", "identity", "score_given", "status", "attempts", "created_at")
    list_filter = ("status",)
