from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificationsConfig(AppConfig):
    name = "certifications"
    verbose_name = _("Certifications")

    def ready(self) -> None:
        from certifications import certificates, services
        from certifications import realtime as _topics  # noqa: F401  (registers the topics)
        from hub import events, files

        files.register("certifications/pdf", certificates.file_name)
        files.register("certifications/signatures", certificates.signature_file_name)
        from hub.models import Delivery
        from hub.notify import register_kind

        register_kind("certification", _("Certifications"), Delivery.IN_APP_AND_EMAIL)
        events.subscribe("classrooms.course_completed", services.on_course_completed)
        events.subscribe("paths.completed", services.on_path_completed)
