from django.contrib import admin

from sessions.models import Registration, Session, SessionPart


class SessionPartInline(admin.TabularInline):
    model = SessionPart
    extra = 0


class RegistrationInline(admin.TabularInline):
    model = Registration
    extra = 0
    fk_name = "session"
    fields = ("user", "status", "position", "registered_by", "created_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "space", "starts_at", "capacity", "status")
    list_filter = ("kind", "status", "space")
    search_fields = ("title",)
    filter_horizontal = ("trainers",)
    inlines = [SessionPartInline, RegistrationInline]


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ("session", "user", "status", "position", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("session", "user", "registered_by", "cancelled_by")
