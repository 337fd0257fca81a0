from django.contrib import admin

from hub.audit.models import Entry


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    """Read only: the log is append-only (the page at /audit/ filters and exports)."""

    list_display = ("at", "action", "actor_label", "target_label", "ip")
    list_filter = ("action",)
    search_fields = ("actor_label", "target_label", "action")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
