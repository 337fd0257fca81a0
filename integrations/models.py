"""Outbound integrations: webhook subscriptions and their delivery log (data only)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Space


class WebhookEventType(models.TextChoices):
    """What a subscription may listen to (the ``type`` of the payload)."""

    ENROLLED = "course.enrolled", _("Learner enrolled in a course")
    ACTIVITY_COMPLETED = "activity.completed", _("Activity completed")
    COURSE_COMPLETED = "course.completed", _("Course completed")
    SESSION_REGISTERED = "session.registered", _("Registered for a session")
    SESSION_WAITLISTED = "session.waitlisted", _("Put on a session's waiting list")
    SESSION_PROMOTED = "session.promoted", _("Promoted from a waiting list")
    SESSION_ATTENDED = "session.attended", _("Attended a session")
    BADGE_EARNED = "badge.earned", _("Badge earned")
    MESSAGE_REPORTED = "message.reported", _("Chat message reported")
    CERTIFICATE_ISSUED = "certificate.issued", _("Certificate issued")


class WebhookEndpoint(models.Model):
    """A space's subscription: where to POST which events, and the secret that signs them."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="webhook_endpoints")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(_("event types"), default=list)
    # "whsec_" + base64 of 32 random bytes, as the Standard Webhooks libraries expect.
    secret = models.CharField(max_length=100)
    is_active = models.BooleanField(_("active"), default=True)
    failure_streak = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["pk"]
        indexes = [models.Index(fields=["space", "is_active"], name="webhook_space_active")]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One message to one endpoint. ``message_id`` is the ``webhook-id`` header: a replay
    keeps it, so a receiver that de-duplicates on it sees the same message again."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    message_id = models.CharField(max_length=40, db_index=True)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP try of a delivery (the log an admin reads)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"


# -- xAPI ------------------------------------------------------------------------------------
class LearningRecordStore(models.Model):
    """A learning record store the statements of a space (or of every space) are sent to."""

    space = models.ForeignKey(
        Space,
        on_delete=models.CASCADE,
        related_name="record_stores",
        null=True,
        blank=True,
        help_text=_("Empty: the statements of every space."),
    )
    name = models.CharField(_("name"), max_length=120)
    # The xAPI base, e.g. https://lrs.example.org/xAPI/ ("statements" is appended).
    endpoint = models.URLField(_("xAPI endpoint"), max_length=500)
    username = models.CharField(_("user name (Basic)"), max_length=200, blank=True)
    password = models.CharField(_("password (Basic)"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    failure_streak = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    # one sender at a time (a lease, renewed per batch), and no try before the back-off ends
    sending_until = models.DateTimeField(null=True, blank=True)
    next_try_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("learning record store")
        verbose_name_plural = _("learning record stores")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class StatementSource(models.TextChoices):
    LYCEUM = "lyceum", _("Lyceum")
    CONTENT = "content", _("Content (cmi5)")


class Statement(models.Model):
    """An xAPI statement: what Lyceum said, or what cmi5 content sent to its endpoint."""

    id = models.UUIDField(primary_key=True)
    space = models.ForeignKey(
        Space, on_delete=models.CASCADE, related_name="xapi_statements", null=True
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="xapi_statements",
    )
    verb = models.CharField(max_length=200)
    object_id = models.CharField(max_length=500)
    data = models.JSONField()
    source = models.CharField(
        max_length=10, choices=StatementSource.choices, default=StatementSource.LYCEUM
    )
    timestamp = models.DateTimeField(db_index=True)
    stored = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["stored"]

    def __str__(self) -> str:
        return f"{self.verb} {self.object_id}"


class ForwardStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")


class StatementForward(models.Model):
    """A statement waiting for (or sent to) one record store: the outbox."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="forwards")
    store = models.ForeignKey(
        LearningRecordStore, on_delete=models.CASCADE, related_name="forwards"
    )
    status = models.CharField(
        max_length=10, choices=ForwardStatus.choices, default=ForwardStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["store", "status", "id"], name="xapi_forward_queue")]

    def __str__(self) -> str:
        return f"{self.statement_id} -> {self.store_id} ({self.status})"


# -- SCORM 1.2, SCORM 2004 and cmi5 packages as course activities -----------------------------
class PackageKind(models.TextChoices):
    SCORM12 = "scorm12", "SCORM 1.2"
    SCORM2004 = "scorm2004", "SCORM 2004"
    CMI5 = "cmi5", "cmi5"


class Package(models.Model):
    """One uploaded version of a package activity's zip, unpacked under
    ``INTEGRATIONS_PACKAGE_ROOT/<folder>/``. A new upload is a new version; launches use
    the latest, attempts keep the version they were made on."""

    activity = models.ForeignKey(
        "classrooms.Activity", on_delete=models.CASCADE, related_name="packages"
    )
    version = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=10, choices=PackageKind.choices)
    edition = models.CharField(max_length=40, blank=True)
    title = models.CharField(max_length=200, blank=True)
    sequencing = models.BooleanField(default=False)
    # cmi5: the course structure's course id (the AUs' activity ids are in PackageUnit).
    course_iri = models.CharField(max_length=500, blank=True)
    folder = models.CharField(max_length=64, unique=True)  # random, never user-given
    size = models.PositiveBigIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("package")
        verbose_name_plural = _("packages")
        ordering = ["activity", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["activity", "version"], name="package_version")
        ]

    def __str__(self) -> str:
        return f"{self.title or self.kind} v{self.version}"


class PackageUnit(models.Model):
    """An entry point of a package: a SCO (SCORM) or an AU (cmi5), in manifest order."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="units")
    position = models.PositiveIntegerField(default=0)
    identifier = models.CharField(max_length=500)  # item identifier (SCORM) or AU id (cmi5)
    title = models.CharField(max_length=200, blank=True)
    href = models.CharField(max_length=2000)  # a path in the package, or an https URL (cmi5)
    parameters = models.CharField(max_length=1000, blank=True)  # the manifest's query part
    # cmi5 only: moveOn and the mastery score from cmi5.xml.
    move_on = models.CharField(max_length=30, blank=True)
    mastery_score = models.FloatField(null=True, blank=True)
    launch_parameters = models.TextField(blank=True)

    class Meta:
        ordering = ["package", "position"]

    def __str__(self) -> str:
        return self.title or self.identifier


class PackageAttempt(models.Model):
    """A learner's attempt at one unit: the CMI data as the runtime committed it.

    ``cmi`` keeps every element the content wrote (flattened, ``cmi.x.y`` -> text) so a
    resumed attempt is loaded back as it was left; the columns beside it are the same
    values typed, for reports and completion."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="package_attempts"
    )
    unit = models.ForeignKey(PackageUnit, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField(default=1)
    cmi = models.JSONField(default=dict)
    location = models.CharField(max_length=1000, blank=True)
    suspend_data = models.TextField(blank=True)
    completion_status = models.CharField(max_length=20, blank=True)  # 2004 or from 1.2 status
    success_status = models.CharField(max_length=20, blank=True)
    lesson_status = models.CharField(max_length=20, blank=True)  # SCORM 1.2 as written
    score_raw = models.FloatField(null=True, blank=True)
    score_min = models.FloatField(null=True, blank=True)
    score_max = models.FloatField(null=True, blank=True)
    score_scaled = models.FloatField(null=True, blank=True)
    session_time = models.CharField(max_length=40, blank=True)
    total_seconds = models.FloatField(default=0)
    exit = models.CharField(max_length=20, blank=True)
    commits = models.PositiveIntegerField(default=0)
    # cmi5: the registration, and the launch's one-time fetch secret / xAPI token (hashes).
    registration = models.UUIDField(null=True, blank=True)
    fetch_secret = models.CharField(max_length=64, blank=True)
    fetch_used = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    token_expires = models.DateTimeField(null=True, blank=True)
    launch_data = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["unit", "user", "number"]
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "number"], name="package_attempt")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.unit_id} #{self.number}"


class PackageInteraction(models.Model):
    """One ``cmi.interactions.n`` of an attempt, for the trainer's per-question report."""

    attempt = models.ForeignKey(
        PackageAttempt, on_delete=models.CASCADE, related_name="interactions"
    )
    index = models.PositiveIntegerField()
    identifier = models.CharField(max_length=4000)
    type = models.CharField(max_length=30, blank=True)
    description = models.CharField(max_length=500, blank=True)
    learner_response = models.TextField(blank=True)
    correct_responses = models.JSONField(default=list, blank=True)
    result = models.CharField(max_length=30, blank=True)
    weighting = models.FloatField(null=True, blank=True)
    latency = models.CharField(max_length=40, blank=True)
    timestamp = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["attempt", "index"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "index"], name="package_interaction")
        ]

    def __str__(self) -> str:
        return self.identifier
