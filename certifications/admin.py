from django.contrib import admin

from certifications.models import Award, AwardEvent, CertificateTemplate, Certification


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    list_display = ["title", "space", "course", "path", "validity_months", "window_days"]
    list_filter = ["space"]


@admin.register(Award)
class AwardAdmin(admin.ModelAdmin):
    list_display = ["number", "certification", "user", "state", "expires_at"]
    list_filter = ["state", "certification"]
    search_fields = ["number", "user__username"]
    readonly_fields = ["number"]


@admin.register(AwardEvent)
class AwardEventAdmin(admin.ModelAdmin):
    list_display = ["award", "kind", "at", "actor"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CertificateTemplate)
class CertificateTemplateAdmin(admin.ModelAdmin):
    """Saved through the one sanitising policy, like every other path to a template."""

    list_display = ["space", "signed_by"]

    def save_model(self, request, obj, form, change) -> None:
        from certifications.certificates import template_save

        saved = template_save(space=obj.space, body=obj.body_html, signed_by=obj.signed_by)
        obj.pk = saved.pk
