"""Lyceum as an LTI 1.3 platform: tool registrations, our signing keys, external-tool
activities, AGS line items and scores, access tokens and used nonces (data only)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from classrooms.models import Activity, Course
from hub.accounts.models import Space


def all_scopes() -> list[str]:
    """Every LTI service scope we grant (a tool registered by hand may ask for any)."""
    from externaltools.lti import SCOPES

    return list(SCOPES)


class Tool(models.Model):
    """An external LTI 1.3 tool registered in a space (what the tool's admin gave us, and
    the client id and deployment id we assigned)."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="lti_tools")
    name = models.CharField(_("name"), max_length=200)
    description = models.CharField(_("description"), max_length=500, blank=True)
    login_url = models.URLField(_("login initiation URL"), max_length=500)
    launch_url = models.URLField(_("launch (target link) URL"), max_length=500)
    deep_linking_url = models.URLField(_("deep linking URL"), max_length=500, blank=True)
    # Where the tool may ask our authorization endpoint to post the id_token, beyond the
    # launch and deep linking URLs (one URL a line).
    redirect_uris = models.TextField(_("other redirect URLs"), blank=True)
    jwks_url = models.URLField(_("the tool's JWKS URL"), max_length=500, blank=True)
    public_key = models.TextField(_("or the tool's public key (PEM)"), blank=True)
    client_id = models.CharField(max_length=64, unique=True, editable=False)
    deployment_id = models.CharField(max_length=64, editable=False)
    share_name = models.BooleanField(_("send the learner's name"), default=True)
    share_email = models.BooleanField(_("send the learner's e-mail address"), default=False)
    # Custom parameters sent with every launch: {"name": "value"}.
    custom = models.JSONField(_("custom parameters"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Registered by the tool itself (LTI Dynamic Registration) and not yet activated by an
    # administrator: inactive until then.
    pending = models.BooleanField(_("awaiting activation"), default=False)
    # The LTI service scopes its access tokens may carry (AGS, NRPS).
    scopes = models.JSONField(_("service scopes"), default=all_scopes, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("external tool")
        verbose_name_plural = _("external tools")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def allowed_redirects(self) -> set[str]:
        extra = {line.strip() for line in self.redirect_uris.splitlines() if line.strip()}
        return {u for u in (self.launch_url, self.deep_linking_url) if u} | extra


class PlatformKey(models.Model):
    """One of Lyceum's RSA key pairs that sign id_tokens; the active ones are published at
    the JWKS endpoint (an old one stays published a while after a rotation)."""

    kid = models.CharField(max_length=64, unique=True)
    private_pem = models.TextField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.kid


class Presentation(models.TextChoices):
    IFRAME = "iframe", _("In the page (frame)")
    WINDOW = "window", _("In a new window")


class ExternalActivity(models.Model):
    """A course activity of kind ``external_tool``: which tool, which link in it."""

    activity = models.OneToOneField(
        Activity, on_delete=models.CASCADE, related_name="external_tool"
    )
    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="activities")
    # Empty: the tool's launch URL.
    url = models.URLField(_("target link URL"), max_length=500, blank=True)
    custom = models.JSONField(_("custom parameters"), default=dict, blank=True)
    presentation = models.CharField(
        _("open"), max_length=10, choices=Presentation.choices, default=Presentation.IFRAME
    )
    # A score (percent of the maximum) at least this completes the activity.
    pass_percent = models.PositiveSmallIntegerField(_("pass mark (%)"), default=0)

    def __str__(self) -> str:
        return f"{self.activity} ({self.tool})"

    @property
    def target_link_uri(self) -> str:
        return self.url or self.tool.launch_url


class LineItem(models.Model):
    """An AGS line item: a column of scores in a course, usually one per activity."""

    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="line_items")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lti_line_items")
    activity = models.ForeignKey(
        ExternalActivity, on_delete=models.CASCADE, null=True, blank=True, related_name="line_items"
    )
    label = models.CharField(max_length=200)
    score_maximum = models.FloatField()
    resource_id = models.CharField(max_length=200, blank=True)
    tag = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.label


class Score(models.Model):
    """A learner's latest score on a line item, as the tool last posted it."""

    line_item = models.ForeignKey(LineItem, on_delete=models.CASCADE, related_name="scores")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score_given = models.FloatField(null=True, blank=True)
    score_maximum = models.FloatField(null=True, blank=True)
    activity_progress = models.CharField(max_length=20)
    grading_progress = models.CharField(max_length=20)
    comment = models.TextField(blank=True)
    timestamp = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["line_item", "user"], name="lti_score_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.score_given}/{self.score_maximum}"

    @property
    def percent(self) -> int | None:
        if self.score_given is None or not self.score_maximum:
            return None
        return max(0, min(100, round(100 * self.score_given / self.score_maximum)))


class AccessToken(models.Model):
    """An OAuth 2 bearer token we gave a tool (client_credentials); only its hash is kept."""

    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"token of {self.tool_id} until {self.expires_at}"


class UsedNonce(models.Model):
    """A nonce or ``jti`` a tool already used (deep linking responses, client assertions):
    the same one again is a replay. Kept until the message it came in has expired."""

    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="+")
    value = models.CharField(max_length=200)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tool", "value"], name="lti_nonce_unique")]

    def __str__(self) -> str:
        return self.value


class RegistrationToken(models.Model):
    """The one-time ``registration_token`` of an LTI Dynamic Registration, handed to a tool
    when an administrator opens its registration URL: bound to the space and the person,
    short-lived, spent by the tool's registration request. Only its SHA-256 is kept."""

    token_hash = models.CharField(max_length=64, unique=True)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    initiation_url = models.URLField(max_length=500)
    # What the administrator allows the tool (its scopes are granted only among these).
    scopes = models.JSONField(default=list)
    share_name = models.BooleanField(default=True)
    share_email = models.BooleanField(default=False)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    tool = models.ForeignKey(
        Tool, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"registration in {self.space_id} until {self.expires_at}"
