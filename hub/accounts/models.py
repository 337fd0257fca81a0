"""People, roles, teams and spaces (portals)."""

from __future__ import annotations

import secrets
from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hub.files import RandomName, validate_image


def validate_time_zone(value: str) -> None:
    """An IANA zone name this server knows (``Europe/Paris``), or empty."""
    from hub.accounts.timezones import is_known_zone

    if value and not is_known_zone(value):
        raise ValidationError(_("Unknown time zone."))


class Role(models.TextChoices):
    LEARNER = "learner", _("Learner")
    TRAINER = "trainer", _("Trainer")
    COORDINATOR = "coordinator", _("Coordinator")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Administrator")


class User(AbstractUser):
    """A person. Roles are additive: one user may be a trainer and a manager at once."""

    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    # Secret used by later features (personal iCal feed); rotated on password change.
    # Looked up on every calendar-app poll of the personal feed (calendars/).
    feed_token = models.CharField(
        max_length=64, default="", blank=True, editable=False, db_index=True
    )
    # The profile page (hub/accounts/views.py). The picture is a private upload read through
    # hub/files.py: members of a space the person is in may see it (hub/accounts/apps.py).
    avatar = models.ImageField(
        _("picture"), upload_to=RandomName("avatars"), blank=True, validators=[validate_image]
    )
    # Empty: not chosen yet; the browser's zone is saved on the first page (shell.js).
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone]
    )
    bio = models.TextField(_("about me"), max_length=500, blank=True)
    email_visible = models.BooleanField(
        _("show my e-mail address to the members of my spaces"), default=False
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @cached_property
    def role_codes(self) -> frozenset[str]:
        """The user's roles, read once per instance (superusers are admins)."""
        codes = set(self.role_grants.values_list("role", flat=True)) if self.pk else set()
        if self.is_superuser:
            codes.add(Role.ADMIN)
        return frozenset(codes)

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_codes.intersection(roles))

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        # Moodle/Canvas habit: a password change invalidates secret feed URLs.
        self.feed_token = secrets.token_urlsafe(32)

    @property
    def topic(self) -> str:
        return f"hub.user.{self.pk}"


class RoleGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="unique_role_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}"


class Space(models.Model):
    """A portal: a separate audience or theme with its own name, colour and logo."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), unique=True)
    brand_color = models.CharField(
        _("brand colour"),
        max_length=7,
        default="#1f5f8b",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1f5f8b."))],
    )
    logo = models.ImageField(
        _("logo"), upload_to="spaces/", blank=True, validators=[validate_image]
    )
    is_default = models.BooleanField(_("default space"), default=False)
    # Where the space's sessions usually happen: the new-session form starts in it.
    time_zone = models.CharField(
        _("default time zone"),
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text=_("New sessions of this space start in this zone, e.g. Europe/Paris."),
    )
    members = models.ManyToManyField(
        User, through="SpaceMembership", related_name="spaces", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("space")
        verbose_name_plural = _("spaces")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_space"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def topic(self) -> str:
        return f"hub.space.{self.pk}"


class SpaceMembership(models.Model):
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="space_memberships")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("space membership")
        verbose_name_plural = _("space memberships")
        constraints = [
            models.UniqueConstraint(fields=["space", "user"], name="unique_space_member")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.space}"


class Team(models.Model):
    """A manager and the people who report to them."""

    name = models.CharField(_("name"), max_length=120)
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="teams")
    manager = models.ForeignKey(User, on_delete=models.PROTECT, related_name="managed_teams")
    members = models.ManyToManyField(User, related_name="teams", blank=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# -- identity and access (issue 16) ---------------------------------------------------------
class SpaceAccessPolicy(models.Model):
    """A space's sign-up and second-factor rules (one row per space, made on first use)."""

    space = models.OneToOneField(Space, on_delete=models.CASCADE, related_name="access_policy")
    signup_open = models.BooleanField(
        _("anyone may sign up"),
        default=False,
        help_text=_("Off: people join by invitation only."),
    )
    signup_domains = models.TextField(
        _("e-mail domains allowed to sign up"),
        blank=True,
        help_text=_("One per line (example.org). Empty: any domain."),
    )
    require_mfa_for_staff = models.BooleanField(
        _("staff must use a second factor"),
        default=False,
        help_text=_("Trainers, coordinators, managers and administrators."),
    )

    class Meta:
        verbose_name = _("access policy")
        verbose_name_plural = _("access policies")

    def __str__(self) -> str:
        return f"{self.space} access"

    @property
    def domains(self) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in self.signup_domains.split() if d.strip()]


class EmailAddressState(models.Model):
    """Whether a person's current e-mail address was proven (a link followed)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="email_state")
    email = models.EmailField()
    verified_at = models.DateTimeField(null=True, blank=True)
    # A self sign-up waiting for its address to be proven (the account is inactive until).
    signup_pending = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("e-mail verification")
        verbose_name_plural = _("e-mail verifications")

    def __str__(self) -> str:
        return self.email


class TOTPDevice(models.Model):
    """An authenticator app (RFC 6238). Confirmed once a first code was right."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp_device")
    secret = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last time step accepted: a code is never accepted twice (replay).
    last_step = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("authenticator app")
        verbose_name_plural = _("authenticator apps")

    def __str__(self) -> str:
        return f"authenticator of {self.user_id}"


class RecoveryCode(models.Model):
    """A one-time code for when the authenticator is lost (stored hashed)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=128)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"recovery code of {self.user_id}"


class Invitation(models.Model):
    """An invitation to join a space with roles; the link carries a secret shown once."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail"))
    roles = models.JSONField(default=list)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="invitations_sent"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.space}"


class DataExport(models.Model):
    """A person's data export (a zip), built by a background job."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Being prepared")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="data_exports")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to=RandomName("exports"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("data export")
        verbose_name_plural = _("data exports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.user_id}"


class ErasureRequest(models.Model):
    """A person asks to be erased; an administrator approves (then it is done) or refuses."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        DONE = "done", _("Erased")
        REFUSED = "refused", _("Refused")

    user = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="erasure_requests"
    )
    username = models.CharField(max_length=150)
    reason = models.TextField(blank=True, max_length=1000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("erasure request")
        verbose_name_plural = _("erasure requests")
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="pending"),
                name="one_pending_erasure_per_user",
            )
        ]

    def __str__(self) -> str:
        return f"erasure of {self.username}"
