"""Platforms (other LMSs) that launch Lyceum, the tool's keys, and what launches left behind."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Space


class ToolKey(models.Model):
    """One RSA key pair of the tool in a space. The newest active key signs; older active
    keys stay published in the JWKS so platforms holding a cached copy keep verifying
    while a rotation spreads (``kid`` is the RFC 7638 thumbprint of the public key)."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="lti_keys")
    kid = models.CharField(max_length=100, unique=True)
    private_key = models.TextField(_("private key (PEM)"))
    public_key = models.TextField(_("public key (PEM)"))
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("LTI tool key")
        verbose_name_plural = _("LTI tool keys")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.space} · {self.kid[:12]}"


class Platform(models.Model):
    """An LMS registered to launch Lyceum in a space (one issuer + client id)."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="lti_platforms")
    name = models.CharField(_("name"), max_length=120)
    issuer = models.CharField(_("issuer"), max_length=255)
    client_id = models.CharField(_("client ID"), max_length=255)
    deployment_ids = models.JSONField(_("deployment IDs"), default=list, blank=True)
    auth_login_url = models.URLField(_("authentication (OIDC auth) URL"), max_length=500)
    auth_token_url = models.URLField(_("access token URL"), max_length=500)
    auth_audience = models.CharField(
        _("token audience"),
        max_length=500,
        blank=True,
        help_text=_("Only when the platform asks for one other than its access token URL."),
    )
    key_set_url = models.URLField(_("platform JWKS URL"), max_length=500)
    # The course a launch lands in when the link names no target, and the roster's course.
    default_course = models.ForeignKey(
        "classrooms.Course",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("default course"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("LTI platform")
        verbose_name_plural = _("LTI platforms")
        ordering = ["name", "pk"]
        constraints = [
            # A launch names its platform by (iss, aud): that pair finds one row site-wide.
            models.UniqueConstraint(fields=["issuer", "client_id"], name="lti_platform_unique")
        ]

    def __str__(self) -> str:
        return self.name


class LtiIdentity(models.Model):
    """A person as a platform knows them (issuer + ``sub``), linked to a Lyceum account."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lti_identities"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_launch_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("LTI identity")
        verbose_name_plural = _("LTI identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="lti_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} @ {self.issuer}"


class ContextLink(models.Model):
    """A course (context) of the platform mapped to a Lyceum course; its roster service."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="contexts")
    context_id = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    course = models.ForeignKey(
        "classrooms.Course", on_delete=models.CASCADE, related_name="lti_contexts"
    )
    memberships_url = models.URLField(max_length=500, blank=True)
    last_roster_sync_at = models.DateTimeField(null=True, blank=True)
    last_roster_result = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("LTI context")
        verbose_name_plural = _("LTI contexts")
        constraints = [
            models.UniqueConstraint(fields=["platform", "context_id"], name="lti_context_unique")
        ]

    def __str__(self) -> str:
        return self.title or self.context_id


class TargetKind(models.TextChoices):
    COURSE = "course", _("Course")
    ACTIVITY = "activity", _("Activity")
    LIVE_CLASS = "liveclass", _("Live class")
    DUELS = "duels", _("Duels of a course")


class ResourceLink(models.Model):
    """A placement of Lyceum in the platform, what it opens and where scores go back."""

    platform = models.ForeignKey(Platform, on_delete=models.CASCADE, related_name="links")
    resource_link_id = models.CharField(max_length=255)
    context = models.ForeignKey(
        ContextLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="links"
    )
    title = models.CharField(max_length=255, blank=True)
    target_kind = models.CharField(max_length=20, choices=TargetKind.choices)
    target_id = models.PositiveBigIntegerField()
    lineitem_url = models.URLField(max_length=500, blank=True)
    lineitems_url = models.URLField(max_length=500, blank=True)
    ags_scopes = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("LTI resource link")
        verbose_name_plural = _("LTI resource links")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "resource_link_id"], name="lti_resource_link_unique"
            )
        ]
        indexes = [models.Index(fields=["target_kind", "target_id"])]

    def __str__(self) -> str:
        return self.title or self.resource_link_id


class ScoreStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class ScoreSend(models.Model):
    """One score (and completion) to post to a platform's line item, tried until it lands."""

    link = models.ForeignKey(ResourceLink, on_delete=models.CASCADE, related_name="scores")
    identity = models.ForeignKey(LtiIdentity, on_delete=models.CASCADE, related_name="scores")
    score_given = models.FloatField()
    score_maximum = models.FloatField(default=100)
    activity_progress = models.CharField(max_length=20, default="Completed")
    grading_progress = models.CharField(max_length=20, default="FullyGraded")
    timestamp = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ScoreStatus.choices, default=ScoreStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("LTI score")
        verbose_name_plural = _("LTI scores")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.score_given}/{self.score_maximum} → {self.link}"
