"""The back-office shows sessions and registrations; it does not change them.

Every field of a session or a registration is written by ``sessions/services.py``, which
locks the session row, keeps waiting-list positions contiguous, promotes, notifies, raises
the iCal SEQUENCE and keeps the live class in step. An admin form saving a row directly
would skip all of that, so these pages are read-only and point to the coordinator pages.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from sessions.models import (
    Availability,
    CoachingSlot,
    NoticeSent,
    Registration,
    SeatReservation,
    Session,
    SessionPart,
    SessionSeries,
)


def _coordinator_pages_note(session: Session | None) -> SafeString:
    """The fieldset text: where (and why there) the session is changed."""
    note = _(
        "Read-only: sessions, their dates, capacity and registrations change on the "
        "coordinator pages, which keep the waiting list in order, promote, notify the "
        "people concerned and update their calendars."
    )
    if session is None or session.pk is None:
        return format_html(
            '{} <a href="{}">{}</a>', note, reverse("sessions-dashboard"), _("Open them")
        )
    return format_html(
        '{} <a href="{}">{}</a>',
        note,
        reverse("session-detail", args=[session.pk]),
        _("Open this session's page"),
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never added, changed or deleted here (see the module's docstring)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def session_of(self, obj: Any) -> Session | None:
        return obj

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        (name, options), *rest = super().get_fieldsets(request, obj)
        note = _coordinator_pages_note(self.session_of(obj) if obj is not None else None)
        return [(name, {**options, "description": note}), *rest]


class ReadOnlyInline(admin.TabularInline):
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SessionPartInline(ReadOnlyInline):
    model = SessionPart


class RegistrationInline(ReadOnlyInline):
    model = Registration
    fk_name = "session"
    fields = ("user", "status", "position", "offer_expires_at", "attendance", "created_at")


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ("title", "kind", "space", "starts_at", "capacity", "status", "sequence")
    list_filter = ("kind", "status", "space")
    search_fields = ("title",)
    inlines = [SessionPartInline, RegistrationInline]


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdmin):
    list_display = ("session", "user", "status", "position", "attendance", "created_at")
    list_filter = ("status", "attendance")
    list_select_related = ("session", "user")

    def session_of(self, obj: Any) -> Session | None:
        return obj.session


@admin.register(SessionSeries)
class SessionSeriesAdmin(ReadOnlyAdmin):
    list_display = ("title", "space", "interval_days", "count", "created_at")

    def session_of(self, obj: Any) -> Session | None:
        return obj.occurrences.order_by("starts_at").first()


@admin.register(NoticeSent)
class NoticeSentAdmin(admin.ModelAdmin):
    list_display = ("registration", "kind", "sent_at")
    list_filter = ("kind",)
    raw_id_fields = ("registration",)


@admin.register(SeatReservation)
class SeatReservationAdmin(ReadOnlyAdmin):
    list_display = ("session", "manager", "seats", "held", "deadline", "released_at")
    list_select_related = ("session", "manager")

    def session_of(self, obj: Any) -> Session | None:
        return obj.session


@admin.register(CoachingSlot)
class CoachingSlotAdmin(ReadOnlyAdmin):
    list_display = ("session", "coach", "audience", "created_at")
    list_select_related = ("session", "coach")

    def session_of(self, obj: Any) -> Session | None:
        return obj.session


@admin.register(Availability)
class AvailabilityAdmin(admin.ModelAdmin):
    list_display = ("trainer", "weekday", "starts", "ends", "time_zone")
    raw_id_fields = ("trainer",)
