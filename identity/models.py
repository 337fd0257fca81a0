"""Single sign-on providers per space, the links between people and their identity at a
provider, SCIM bearer tokens, and CSV import jobs. Data only: the rules are in services."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Role, Space, Team


def default_mapping() -> dict[str, str]:
    """Claim (OIDC) or attribute (SAML) names read for each field of a person."""
    return {
        "email": "email",
        "first_name": "given_name",
        "last_name": "family_name",
        "display_name": "name",
        "team": "department",
        "manager": "manager",
        "groups": "groups",
    }


class SpaceIdentity(models.Model):
    """A space's identity settings."""

    space = models.OneToOneField(Space, on_delete=models.CASCADE, related_name="identity")
    sso_only = models.BooleanField(
        _("single sign-on only"),
        default=False,
        help_text=_(
            "Members of this space sign in through its identity providers; passwords are "
            "refused (superusers keep their password as a way back in)."
        ),
    )

    class Meta:
        verbose_name = _("space identity settings")
        verbose_name_plural = _("space identity settings")

    def __str__(self) -> str:
        return str(self.space)


class IdentityProvider(models.Model):
    """An organisation's identity provider, offered on the login page of one space."""

    class Kind(models.TextChoices):
        OIDC = "oidc", _("OpenID Connect")
        SAML = "saml", _("SAML 2.0")

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="identity_providers")
    slug = models.SlugField(_("slug"), max_length=60)
    name = models.CharField(_("button label"), max_length=120)
    kind = models.CharField(_("protocol"), max_length=8, choices=Kind.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    # OpenID Connect: the issuer (its /.well-known/openid-configuration is read), the client.
    issuer = models.URLField(_("issuer"), max_length=400, blank=True)
    client_id = models.CharField(_("client id"), max_length=255, blank=True)
    client_secret = models.CharField(_("client secret"), max_length=500, blank=True)
    scopes = models.CharField(
        _("scopes"), max_length=255, default="openid email profile groups", blank=True
    )
    # SAML 2.0: the IdP's metadata (XML), which carries its entity id, endpoints and certificate.
    idp_metadata = models.TextField(_("IdP metadata (XML)"), blank=True)
    # Our own signing key and certificate for this IdP (single logout messages are signed),
    # made on first use; the certificate is in our metadata.
    sp_private_key = models.TextField(_("SP signing key (PEM)"), blank=True, editable=False)
    sp_certificate = models.TextField(_("SP certificate (PEM)"), blank=True, editable=False)
    # Just-in-time accounts and attribute mapping.
    create_accounts = models.BooleanField(_("create accounts on first sign-in"), default=True)
    mapping = models.JSONField(_("attribute mapping"), default=default_mapping, blank=True)
    role_groups = models.JSONField(
        _("roles from groups"),
        default=dict,
        blank=True,
        help_text=_('Group name -> role, e.g. {"lyceum-trainers": "trainer"}.'),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("identity provider")
        verbose_name_plural = _("identity providers")
        ordering = ["space", "name"]
        constraints = [
            models.UniqueConstraint(fields=["space", "slug"], name="unique_idp_slug_per_space")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.space})"


class ExternalIdentity(models.Model):
    """A person as a provider knows them (OIDC ``sub``, SAML NameID)."""

    provider = models.ForeignKey(
        IdentityProvider, on_delete=models.CASCADE, related_name="identities"
    )
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_identities"
    )
    last_login = models.DateTimeField(null=True, blank=True)
    # SAML single logout needs the NameID and session index of the sign-in.
    session_index = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("external identity")
        verbose_name_plural = _("external identities")
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="unique_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} @ {self.provider.slug}"


class SamlAssertionSeen(models.Model):
    """Assertion ids already consumed, kept until they expire: a replayed one is refused."""

    assertion_id = models.CharField(max_length=255, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.assertion_id


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ScimToken(models.Model):
    """A bearer token of one space's SCIM client (the HR system or the IdP)."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="scim_tokens")
    name = models.CharField(_("name"), max_length=120)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SCIM token")
        verbose_name_plural = _("SCIM tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_secret() -> str:
        return "scim_" + secrets.token_urlsafe(32)


class ScimUser(models.Model):
    """A person provisioned in a space by SCIM: their ``externalId`` and version."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim_records"
    )
    external_id = models.CharField(max_length=255, blank=True)
    # What the client sent beyond the fields mapped onto the person (e-mail types, etc.).
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["space", "user"], name="unique_scim_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.space_id}"


class ScimGroup(models.Model):
    """A team provisioned by SCIM (a SCIM Group is a team of the space)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="scim")
    external_id = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"SCIM group {self.team_id}"


class ReportsTeam(models.Model):
    """A team made to hold a manager's direct reports, when a person's manager is named
    (SSO attribute, CSV column) without a team."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="reports_of")

    def __str__(self) -> str:
        return f"reports team {self.team_id}"


class ImportJob(models.Model):
    """A CSV import: previewed (dry run), then applied in one transaction."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    filename = models.CharField(max_length=255, blank=True)
    content = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PREVIEWED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.status})"

    @property
    def topic(self) -> str:
        return f"identity.import.{self.pk}"


ROLE_CODES = frozenset(Role.values)
