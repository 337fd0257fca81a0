from django.contrib import admin

from forums.models import Flag, Forum, LibraryItem, ModerationLog, Post, Suspension, Thread


@admin.register(Forum)
class ForumAdmin(admin.ModelAdmin):
    list_display = ["title", "space", "kind", "course_id", "session_id", "thread_count"]
    list_filter = ["space", "kind"]
    filter_horizontal = ["moderators"]


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ["title", "forum", "author", "kind", "is_locked", "is_pinned", "post_count"]
    list_filter = ["forum", "kind", "is_locked", "is_pinned"]
    search_fields = ["title"]
    raw_id_fields = ["author", "accepted_post"]


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["id", "thread", "author", "created_at", "is_hidden", "is_deleted"]
    list_filter = ["is_hidden", "is_deleted"]
    raw_id_fields = ["thread", "author", "reply_to"]
    readonly_fields = ["body_html"]


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ["post", "reporter", "reason", "status", "created_at"]
    list_filter = ["status", "reason"]
    raw_id_fields = ["post", "reporter", "resolved_by"]


@admin.register(Suspension)
class SuspensionAdmin(admin.ModelAdmin):
    list_display = ["user", "forum", "until", "created_by"]
    raw_id_fields = ["user", "created_by"]


@admin.register(ModerationLog)
class ModerationLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "forum", "thread", "target_user"]
    list_filter = ["action"]

    def has_change_permission(self, request, obj=None) -> bool:  # append-only audit log
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LibraryItem)
class LibraryItemAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "author", "space", "status", "created_at"]
    list_filter = ["status", "kind", "space"]
    readonly_fields = ["body_html"]
