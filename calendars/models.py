"""What calendar invitations were sent to whom (iTIP, RFC 5546).

A job that runs twice sends once (one row per registration, method and SEQUENCE), a
cancellation goes only to those who were invited, and an update says what changed since
the attendee's last invitation (``events``: the dated events that invitation held).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ItipMessage(models.Model):
    class Method(models.TextChoices):
        REQUEST = "REQUEST"
        CANCEL = "CANCEL"

    registration = models.ForeignKey(
        "training_sessions.Registration", on_delete=models.CASCADE, related_name="itip_messages"
    )
    method = models.CharField(max_length=10, choices=Method.choices)
    sequence = models.PositiveIntegerField()
    # [{"uid", "starts_at", "ends_at", "location", "summary"}, ...] as sent.
    events = models.JSONField(default=list)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "method", "sequence"], name="one_itip_message_per_sequence"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} #{self.sequence} -> {self.registration_id}"
