"""Certifications (a course or a path, a validity, a recertification window), each person's
award of one, and its history (data only)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Space
from hub.files import RandomName


class Certification(models.Model):
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="certifications")
    title = models.CharField(_("title"), max_length=200)
    # What earns it: a course or a learning path (one of them).
    course = models.ForeignKey(
        "classrooms.Course", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    path = models.ForeignKey(
        "paths.Path", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    validity_months = models.PositiveSmallIntegerField(
        _("valid for (months)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(240)],
    )
    window_days = models.PositiveSmallIntegerField(
        _("recertification window (days before expiry)"),
        default=60,
        validators=[MaxValueValidator(3650)],
    )
    # Assigned when the window opens; completing it renews the award.
    recert_path = models.ForeignKey(
        "paths.Path", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(course__isnull=False, path__isnull=True)
                    | models.Q(course__isnull=True, path__isnull=False)
                ),
                name="certification_course_xor_path",
            )
        ]

    def __str__(self) -> str:
        return self.title


class State(models.TextChoices):
    CERTIFIED = "certified", _("Certified")
    EXPIRING = "expiring", _("Expiring")
    RECERTIFYING = "recertifying", _("Recertifying")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


def new_number() -> str:
    """A certificate number nobody guesses: ``LY-`` and 16 base32 characters."""
    return "LY-" + secrets.token_hex(8).upper()


class Award(models.Model):
    certification = models.ForeignKey(
        Certification, on_delete=models.CASCADE, related_name="awards"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certification_awards"
    )
    state = models.CharField(max_length=20, choices=State.choices)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    number = models.CharField(max_length=40, unique=True, default=new_number)
    recert_assigned_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["certification", "user"], name="one_award_per_person")
        ]
        indexes = [models.Index(fields=["state", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.number} ({self.state})"


class EventKind(models.TextChoices):
    ISSUED = "issued", _("Issued")
    RENEWED = "renewed", _("Renewed")
    EXPIRING = "expiring", _("Expiring: recertification assigned")
    EXPIRED = "expired", _("Expired")
    REVOKED = "revoked", _("Revoked")


class AwardEvent(models.Model):
    """The whole history of an award: nothing here is updated or deleted."""

    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} of {self.award_id}"


DEFAULT_TEMPLATE = (
    "<h1>Certificate</h1><p>This certifies that</p><h2>{name}</h2>"
    "<p>holds <strong>{certification}</strong></p>"
    "<p>Issued {issued} · valid until {expires}</p><p>No. {number}</p>"
)


class CertificateTemplate(models.Model):
    """A space's certificate: sanitised HTML with the placeholders {name}, {certification},
    {number}, {issued}, {expires}; the space's brand colour and name frame it."""

    space = models.OneToOneField(
        Space, on_delete=models.CASCADE, related_name="certificate_template"
    )
    body_html = models.TextField(default=DEFAULT_TEMPLATE)  # hub/sanitize.py
    signed_by = models.CharField(_("signed by"), max_length=200, blank=True)
    # The signer's signature: a raster image, re-encoded as PNG when it is uploaded
    # (certificates.template_save), put in the PDF as a data: URI.
    signature = models.ImageField(
        _("signature image"), upload_to=RandomName("certifications/signatures"), blank=True
    )
    # "#rrggbb", or empty for the space's brand colour.
    brand_color = models.CharField(_("brand colour"), max_length=7, blank=True)

    def __str__(self) -> str:
        return f"certificate template of {self.space_id}"


class Certificate(models.Model):
    """The PDF of an award as issued (a renewal makes a new one: a new number)."""

    award = models.ForeignKey(Award, on_delete=models.CASCADE, related_name="certificates")
    number = models.CharField(max_length=40, unique=True)
    expires_at = models.DateTimeField()
    pdf = models.FileField(upload_to=RandomName("certifications/pdf"), blank=True)
    made_at = models.DateTimeField(null=True, blank=True)
    # Sent to the holder (the PDF attached) once, when it was made.
    emailed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.number


class BulkStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed: nothing was changed")


class BulkJob(models.Model):
    """A bulk assign/issue/revoke run by the background worker (all rows or none), its live
    progress on ``certifications.bulkjob.<id>`` for the person who started it."""

    certification = models.ForeignKey(
        Certification, on_delete=models.CASCADE, related_name="bulk_jobs"
    )
    action = models.CharField(max_length=10)
    usernames = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=BulkStatus.choices, default=BulkStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} x{self.total} ({self.status})"

    @property
    def topic(self) -> str:
        return f"certifications.bulkjob.{self.pk}"
