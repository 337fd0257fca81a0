"""Reads and permission predicates of the integrations app."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse

from hub.accounts.models import Role, Space
from hub.accounts.selectors import is_space_member
from integrations.models import LearningRecordStore, WebhookDelivery, WebhookEndpoint


def can_manage_integrations(*, user: Any, space_id: int) -> bool:
    """Administrators, and the coordinators of the space."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.has_role(Role.ADMIN) or (
        user.has_role(Role.COORDINATOR) and is_space_member(user=user, space=space_id)
    )


def managed_spaces(*, user: Any) -> QuerySet[Space]:
    if user.has_role(Role.ADMIN):
        return Space.objects.order_by("name")
    if user.has_role(Role.COORDINATOR):
        return Space.objects.filter(memberships__user=user).order_by("name")
    return Space.objects.none()


def space_listens(*, space_id: int) -> bool:
    """Does anything outside Lyceum want this space's events? One indexed EXISTS."""
    hooks = WebhookEndpoint.objects.filter(space_id=OuterRef("pk"), is_active=True)
    stores = LearningRecordStore.objects.filter(is_active=True).filter(
        Q(space_id=OuterRef("pk")) | Q(space__isnull=True)
    )
    return Space.objects.filter(pk=space_id).filter(Exists(hooks) | Exists(stores)).exists()


def endpoints_of(*, space_id: int) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(space_id=space_id).select_related("owner")


def deliveries_of(*, space_id: int, limit: int = 50) -> list[WebhookDelivery]:
    return list(
        WebhookDelivery.objects.filter(endpoint__space_id=space_id)
        .select_related("endpoint")
        .prefetch_related("tries")[:limit]
    )


def webhooks_page_url(space_id: int) -> str:
    return reverse("integrations-webhooks", args=[space_id])
