"""Back-office: identity providers, "SSO only" per space, SCIM tokens (the secret is shown
once, when made), CSV imports (read only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.utils.translation import gettext as _

from identity.models import (
    ExternalIdentity,
    IdentityProvider,
    ImportJob,
    ScimToken,
    SpaceIdentity,
    hash_token,
)


@admin.register(IdentityProvider)
class IdentityProviderAdmin(admin.ModelAdmin):
    list_display = ("name", "space", "kind", "slug", "enabled", "create_accounts")
    list_filter = ("kind", "enabled", "space")
    search_fields = ("name", "slug", "issuer")


@admin.register(SpaceIdentity)
class SpaceIdentityAdmin(admin.ModelAdmin):
    list_display = ("space", "sso_only")


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    list_display = ("subject", "provider", "user", "last_login")
    search_fields = ("subject", "user__username", "user__email")
    raw_id_fields = ("user",)


@admin.register(ScimToken)
class ScimTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "space",
        "prefix",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    fields = ("space", "name", "revoked_at")
    list_filter = ("space",)

    def save_model(self, request: Any, obj: ScimToken, form: Any, change: bool) -> None:
        if not change:
            raw = ScimToken.new_secret()
            obj.token_hash, obj.prefix, obj.created_by = hash_token(raw), raw[:8], request.user
            messages.warning(
                request,
                _("The SCIM token, shown this once: %(token)s") % {"token": raw},
            )
        super().save_model(request, obj, form, change)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "space", "filename", "status", "created_by", "created_at")
    readonly_fields = (
        "space",
        "created_by",
        "filename",
        "status",
        "total",
        "processed",
        "summary",
        "errors",
    )
    exclude = ("content",)

    def has_add_permission(self, request: Any) -> bool:
        return False
