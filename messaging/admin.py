from django.contrib import admin
from django.utils import timezone

from messaging.models import Block, Conversation, Membership, Message, Report


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "state", "last_read_id"]
    readonly_fields = ["last_read_id"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "course", "space", "last_message_at"]
    list_filter = ["kind"]
    search_fields = ["title"]
    raw_id_fields = ["course"]
    inlines = [MembershipInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "conversation", "sender", "created_at", "edited_at", "deleted_at"]
    raw_id_fields = ["conversation", "sender", "reply_to"]
    readonly_fields = ["id", "body_html", "client_id"]
    search_fields = ["body"]


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The moderators' review queue of reported messages."""

    list_display = ["message", "reporter", "reason", "created_at", "resolved_at"]
    list_filter = ["resolved_at"]
    raw_id_fields = ["message", "reporter"]
    actions = ["resolve"]

    @admin.action(description="Mark resolved")
    def resolve(self, request, queryset):
        queryset.filter(resolved_at__isnull=True).update(resolved_at=timezone.now())


admin.site.register(Block)
