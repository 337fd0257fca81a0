from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from hub.accounts.forms import AdminLoginForm
from hub.accounts.models import RoleGrant, Space, SpaceMembership, Team, User

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
