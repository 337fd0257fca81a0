from django.contrib import admin

from sessions.models import NoticeSent, Registration, Session, SessionPart, SessionSeries


class SessionPartInline(admin.TabularInline):
    model = SessionPart
    extra = 0


class RegistrationInline(admin.TabularInline):
    model = Registration
    extra = 0
    fk_name = "session"
    fields = ("user", "status", "position", "offer_expires_at", "attendance", "created_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "space", "starts_at", "capacity", "status", "sequence")
    list_filter = ("kind", "status", "space")
    readonly_fields = ("sequence", "series", "series_index")
    search_fields = ("title",)
    filter_horizontal = ("trainers",)
    inlines = [SessionPartInline, RegistrationInline]


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ("session", "user", "status", "position", "attendance", "created_at")
    list_filter = ("status", "attendance")
    raw_id_fields = ("session", "user", "registered_by", "cancelled_by")


@admin.register(SessionSeries)
class SessionSeriesAdmin(admin.ModelAdmin):
    list_display = ("title", "space", "interval_days", "count", "created_at")


@admin.register(NoticeSent)
class NoticeSentAdmin(admin.ModelAdmin):
    list_display = ("registration", "kind", "sent_at")
    list_filter = ("kind",)
    raw_id_fields = ("registration",)
