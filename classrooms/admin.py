from django.contrib import admin

from classrooms.models import (
    Activity,
    Attempt,
    Choice,
    Completion,
    Course,
    Enrolment,
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


admin.site.register(Completion)
admin.site.register(Attempt)
