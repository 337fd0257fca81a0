"""Hub-wide data: what each person wants to be told, and how."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Delivery(models.TextChoices):
    IN_APP = "in_app", _("In the app")
    IN_APP_AND_EMAIL = "in_app_email", _("In the app and by email")
    OFF = "off", _("Off")


class NotificationPreference(models.Model):
    """One person's choice for one kind of notification (no row: the kind's default)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(_("kind"), max_length=60)
    delivery = models.CharField(_("delivery"), max_length=20, choices=Delivery.choices)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} -> {self.delivery}"


# -- Web Push (issue 21): one more channel beside e-mail, same per-kind preference ----------
class WebPushKey(models.Model):
    """This installation's VAPID key pair (RFC 8292), made once and kept: browsers tie every
    subscription to the public key, so a new pair would orphan every device's subscription.
    """

    private_key = models.TextField(_("private key (PEM)"))
    public_key = models.CharField(_("public key (base64url, uncompressed point)"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Web Push key")
        verbose_name_plural = _("Web Push keys")

    def __str__(self) -> str:
        return self.public_key[:16]


class PushSubscription(models.Model):
    """One device (browser profile) that asked to be pushed to: its push service endpoint
    and the keys (RFC 8291) its payloads are encrypted with."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(_("endpoint"), max_length=1000, unique=True)
    p256dh = models.CharField(max_length=120)
    auth = models.CharField(max_length=60)
    user_agent = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_push_at = models.DateTimeField(null=True, blank=True)
    # Consecutive failures that were neither a success nor a 404/410 (a hang, a 5xx): a
    # subscription that keeps failing is dropped (webpush.MAX_FAILURES).
    failures = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("push subscription")
        verbose_name_plural = _("push subscriptions")

    def __str__(self) -> str:
        return f"{self.user}: {self.endpoint[:60]}"


class PushPreference(models.Model):
    """One person's choice to be pushed for one kind (no row: the kind's push default).

    Beside ``NotificationPreference``: a kind turned off there is never pushed either."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_preferences"
    )
    kind = models.CharField(_("kind"), max_length=60)
    enabled = models.BooleanField(_("pushed"))

    class Meta:
        verbose_name = _("push preference")
        verbose_name_plural = _("push preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_push_preference_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} push={self.enabled}"
