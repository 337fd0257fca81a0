from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from hub.accounts.forms import AdminLoginForm
from hub.accounts.models import (
    DataExport,
    ErasureRequest,
    Invitation,
    RoleGrant,
    Space,
    SpaceAccessPolicy,
    SpaceMembership,
    Team,
    User,
)

# The admin's login goes through the same sign-in lockout as the login page, with its message.
admin.site.login_form = AdminLoginForm


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 0


class SpaceMembershipInline(admin.TabularInline):
    model = SpaceMembership
    extra = 0
    autocomplete_fields = ["space"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [RoleGrantInline, SpaceMembershipInline]
    list_display = ["username", "display_name", "email", "is_active", "is_staff"]
    search_fields = ["username", "display_name", "email", "first_name", "last_name"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Lyceum"), {"fields": ["display_name", "language"]}),
    )
    # Identity and access (issue 16): the back-office's way to end someone's access at once.
    actions = ["deactivate", "reactivate"]

    @admin.action(description=_("Deactivate (ends sessions, API token and live connections)"))
    def deactivate(self, request, queryset):  # type: ignore[no-untyped-def]
        from django.core.exceptions import PermissionDenied, ValidationError

        from hub.accounts.lifecycle import user_deactivate

        done = 0
        for person in queryset.filter(is_active=True):
            try:
                user_deactivate(actor=request.user, user=person, request=request)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, f"{person}: {exc}", level="error")
            else:
                done += 1
        self.message_user(request, _("%(n)d deactivated.") % {"n": done})

    @admin.action(description=_("Reactivate"))
    def reactivate(self, request, queryset):  # type: ignore[no-untyped-def]
        from hub.accounts.lifecycle import user_reactivate

        for person in queryset.filter(is_active=False):
            user_reactivate(actor=request.user, user=person, request=request)


@admin.register(Space)
class SpaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "brand_color", "time_zone", "is_default"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "space", "manager"]
    list_filter = ["space"]
    search_fields = ["name", "manager__username"]
    autocomplete_fields = ["manager", "members"]


# -- identity and access (issue 16) ---------------------------------------------------------
@admin.register(SpaceAccessPolicy)
class SpaceAccessPolicyAdmin(admin.ModelAdmin):
    list_display = ["space", "signup_open", "require_mfa_for_staff"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "space", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = ["space"]
    search_fields = ["email"]
    exclude = ["token_hash"]
    readonly_fields = ["accepted_by", "accepted_at", "invited_by"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # sent from the space's invitations page (the link is e-mailed)


@admin.register(ErasureRequest)
class ErasureRequestAdmin(admin.ModelAdmin):
    list_display = ["username", "status", "requested_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    readonly_fields = ["user", "username", "reason", "status", "decided_by", "decided_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # decided on /accounts/erasure-requests/


@admin.register(DataExport)
class DataExportAdmin(admin.ModelAdmin):
    list_display = ["user", "status", "progress", "created_at", "finished_at"]
    list_filter = ["status"]
    readonly_fields = ["user", "status", "progress", "file", "finished_at"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False
