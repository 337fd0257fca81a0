from django.contrib import admin

from games.models import Game, GamePlayer


class GamePlayerInline(admin.TabularInline):
    model = GamePlayer
    extra = 0
    fields = ("user", "team", "score", "streak", "correct_count", "streak_bonus")
    readonly_fields = fields
    can_delete = False


@admin.register(Game)
class GameAdmin(admin.ModelAdmin):
    list_display = ("code", "course", "host", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("code", "course__title")
    raw_id_fields = ("course", "host", "live_class")
    inlines = [GamePlayerInline]
