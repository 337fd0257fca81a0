from django.contrib import admin

from leaderboards.models import (
    BadgeAward,
    BadgeDefinition,
    PointAward,
    PointRule,
    RankingPreference,
)


@admin.register(PointRule)
class PointRuleAdmin(admin.ModelAdmin):
    list_display = ["space", "reason", "amount"]
    list_filter = ["space", "reason"]


@admin.register(PointAward)
class PointAwardAdmin(admin.ModelAdmin):
    list_display = ["user", "space", "course", "amount", "reason", "created_at"]
    list_filter = ["space", "reason"]
    search_fields = ["user__username"]
    raw_id_fields = ["user", "course"]
    date_hierarchy = "created_at"


@admin.register(RankingPreference)
class RankingPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "hidden"]
    raw_id_fields = ["user"]


@admin.register(BadgeDefinition)
class BadgeDefinitionAdmin(admin.ModelAdmin):
    list_display = ["name", "space", "criterion", "threshold", "reason", "course"]
    list_filter = ["space", "criterion"]
    raw_id_fields = ["course"]


@admin.register(BadgeAward)
class BadgeAwardAdmin(admin.ModelAdmin):
    list_display = ["badge", "user", "awarded_by", "created_at"]
    raw_id_fields = ["user", "awarded_by"]
