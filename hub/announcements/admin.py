from django.contrib import admin

from hub.announcements.models import Announcement


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "space", "team", "created_at"]
    list_filter = ["space"]
    search_fields = ["title", "body"]
    readonly_fields = ["body_html"]
