from django.contrib import admin

from classrooms.models import (
    Activity,
    Attempt,
    Choice,
    Completion,
    Course,
    Enrolment,
    LiveClass,
    LiveClassParticipant,
    Module,
    Question,
)


class ModuleInline(admin.TabularInline):
    model = Module
    extra = 0


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "space", "published", "self_enrolment", "created_at"]
    list_filter = ["space", "published"]
    search_fields = ["title"]
    filter_horizontal = ["trainers"]
    readonly_fields = ["summary_html"]
    inlines = [ModuleInline]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "module", "kind", "position", "required"]
    list_filter = ["kind", "course"]
    readonly_fields = ["body_html"]


@admin.register(Enrolment)
class EnrolmentAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "status", "progress", "source", "enrolled_at"]
    list_filter = ["status", "course"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "course", "kind"]
    list_filter = ["course", "kind"]
    inlines = [ChoiceInline]


class ParticipantInline(admin.TabularInline):
    model = LiveClassParticipant
    extra = 0
    fields = ["user", "role", "first_joined_at", "removed"]
    readonly_fields = ["user", "role", "first_joined_at"]


@admin.register(LiveClass)
class LiveClassAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "status", "scheduled_start", "started_at", "ended_at"]
    list_filter = ["status", "space"]
    search_fields = ["title", "session_key"]
    filter_horizontal = ["trainers", "invitees"]
    readonly_fields = ["started_at", "ended_at", "recording", "session_key", "created_by"]
    inlines = [ParticipantInline]


admin.site.register(Completion)
admin.site.register(Attempt)
