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
