"""Scheduled sessions (face-to-face, virtual class, coaching), registrations, their log.

Data only: every write goes through ``sessions/services.py``, which locks the session row
before it changes seats or waiting-list positions.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.accounts.models import Space


class SessionKind(models.TextChoices):
    FACE_TO_FACE = "face_to_face", _("Face-to-face")
    VIRTUAL = "virtual", _("Virtual class")
    COACHING = "coaching", _("Coaching")


class Approval(models.TextChoices):
    NONE = "none", _("No approval")
    MANAGER = "manager", _("Manager approval")
    COORDINATOR = "coordinator", _("Coordinator approval")


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    CANCELLED = "cancelled", _("Cancelled")
    COMPLETED = "completed", _("Completed")


class SessionSeries(models.Model):
    """A recurring series (e.g. weekly coaching): each occurrence is a Session of its own."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="session_series")
    title = models.CharField(_("title"), max_length=200)
    # 7 = weekly, 1 = daily, 14 = every other week...
    interval_days = models.PositiveIntegerField(_("every N days"), default=7)
    count = models.PositiveIntegerField(_("occurrences"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("session series")
        verbose_name_plural = _("session series")

    def __str__(self) -> str:
        return self.title


class Session(models.Model):
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="training_sessions")
    kind = models.CharField(_("kind"), max_length=20, choices=SessionKind.choices)
    course = models.ForeignKey(
        "classrooms.Course",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="training_sessions",
    )
    # The course activity that attending this session completes.
    activity = models.ForeignKey(
        "classrooms.Activity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="training_sessions",
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True, help_text=_("Markdown."))
    description_html = models.TextField(editable=False, blank=True)  # hub/sanitize.py
    trainers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="sessions_trained", blank=True
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    location = models.CharField(_("location"), max_length=255, blank=True)
    join_url = models.URLField(_("join link"), blank=True)
    capacity = models.PositiveIntegerField(_("capacity"))
    registration_opens_at = models.DateTimeField(_("registration opens"), null=True, blank=True)
    registration_closes_at = models.DateTimeField(_("registration closes"), null=True, blank=True)
    approval = models.CharField(
        _("approval"), max_length=20, choices=Approval.choices, default=Approval.NONE
    )
    cancellation_deadline = models.DateTimeField(_("cancellation deadline"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    # iCal SEQUENCE: every service that changes the session or its parts increments it.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    # Seats managers reserved for their teams and have not named anyone to yet: taken for
    # the seat count (kept equal to the sum of the reservations' ``held`` under the row lock).
    reserved_seats = models.PositiveIntegerField(default=0, editable=False)
    # Hours before the start when registered people are reminded; 0 = no reminder.
    reminder_hours = models.PositiveIntegerField(_("reminder (hours before)"), default=24)
    # A freed seat is offered to the head of the waiting list for this many hours;
    # null = the head is promoted at once.
    claim_hours = models.PositiveIntegerField(_("claim window (hours)"), null=True, blank=True)
    series = models.ForeignKey(
        SessionSeries,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="occurrences",
    )
    # 1..n within the series.
    series_index = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # The feedback survey sent at the end; null: the space's default template (if any).
    survey_template = models.ForeignKey(
        "SurveyTemplate", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def topic(self) -> str:
        return f"sessions.session.{self.pk}"

    @property
    def has_started(self) -> bool:
        return timezone.now() >= self.starts_at


class SessionPart(models.Model):
    """One more date of a multi-part session (the session's own dates are the first part)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="parts")
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    location = models.CharField(_("location"), max_length=255, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="session_part_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.session} — {self.starts_at:%Y-%m-%d %H:%M}"


class RegistrationStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    WAITLISTED = "waitlisted", _("Waitlisted")
    PENDING = "pending", _("Pending approval")
    # A freed seat held for this person until ``offer_expires_at`` (claim window).
    OFFERED = "offered", _("Seat offered")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_STATUSES = (
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.WAITLISTED,
    RegistrationStatus.PENDING,
    RegistrationStatus.OFFERED,
)

# Statuses that hold a seat: an offered seat counts as taken.
SEAT_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED)


class Response(models.TextChoices):
    """The attendee's answer to the calendar invitation (iTIP PARTSTAT)."""

    NONE = "", _("No answer")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class Attendance(models.TextChoices):
    PRESENT = "present", _("Present")
    ABSENT = "absent", _("Absent")
    LATE = "late", _("Late")
    EXCUSED = "excused", _("Excused")


ATTENDED = (Attendance.PRESENT, Attendance.LATE)


class Registration(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="session_registrations"
    )
    # Who made the registration: the learner, their manager or a coordinator.
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=20, choices=RegistrationStatus.choices)
    # 1..n, contiguous, for waitlisted registrations only; FIFO unless a coordinator reorders.
    position = models.PositiveIntegerField(_("waiting-list position"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    promoted_at = models.DateTimeField(null=True, blank=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(_("offer expires at"), null=True, blank=True)
    # The sign-in sheet: blank until a trainer marks it.
    attendance = models.CharField(
        _("attendance"), max_length=10, choices=Attendance.choices, blank=True
    )
    attendance_marked_at = models.DateTimeField(null=True, blank=True)
    attendance_marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The attendee's own iCal revision: every status change they see (confirmed, promoted,
    # cancelled...) adds one, and a new registration after a cancelled one starts above it,
    # so their calendar entry's SEQUENCE (session.sequence + revision) always rises.
    revision = models.PositiveIntegerField(default=0, editable=False)
    # Their answer to the calendar invitation (accept / decline links of the e-mail); a
    # decline gives the seat up, so a declined registration is a cancelled one.
    response = models.CharField(
        _("invitation answer"), max_length=10, choices=Response.choices, blank=True, default=""
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    # The manager's reservation this seat was named from (null: registered the usual way).
    reservation = models.ForeignKey(
        "SeatReservation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="registrations",
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [
            # A learner holds at most one live registration per session (cancelled rows stay).
            models.UniqueConstraint(
                fields=["session", "user"],
                condition=~Q(status="cancelled"),
                name="one_active_registration_per_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.session} ({self.status})"


class NoticeKind(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed")
    WAITLISTED = "waitlisted", _("Waitlisted")
    PROMOTED = "promoted", _("Promoted")
    OFFERED = "offered", _("Seat offered")
    OFFER_EXPIRING = "offer_expiring", _("Offer expiring")
    CANCELLED = "cancelled", _("Cancelled by the organiser")
    # The learner's manager cancelled the seat for them (not the organiser).
    MANAGER_CANCELLED = "manager_cancelled", _("Cancelled by their manager")
    REMINDER = "reminder", _("Reminder")


class NoticeSent(models.Model):
    """What was sent to whom: a notice job that runs twice sends once."""

    registration = models.ForeignKey(Registration, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=20, choices=NoticeKind.choices)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["registration", "kind"], name="one_notice_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.registration_id}"


class SessionEvent(models.Model):
    """The durable log of ``sessions.session.<id>``: what a late subscriber missed."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


# -- rooms, assets and bookings (scheduling without double bookings) ---------------------------
class Room(models.Model):
    """A room of a space's site: its capacity bounds the seats of a session held there."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="rooms")
    name = models.CharField(_("name"), max_length=120)
    site = models.CharField(_("site"), max_length=120, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    capacity = models.PositiveIntegerField(_("capacity"))
    equipment = models.CharField(_("equipment"), max_length=255, blank=True)
    active = models.BooleanField(_("bookable"), default=True)

    class Meta:
        ordering = ["site", "name", "id"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        constraints = [
            models.UniqueConstraint(fields=["space", "site", "name"], name="unique_room_per_site"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.site})" if self.site else self.name

    @property
    def place(self) -> str:
        """What invitations and feeds give as the LOCATION."""
        return ", ".join(p for p in (self.name, self.site, self.address) if p)


class Asset(models.Model):
    """A bookable thing of a space (a projector, a first-aid dummy, a van)."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="assets")
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=255, blank=True)
    active = models.BooleanField(_("bookable"), default=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")

    def __str__(self) -> str:
        return self.name


class BookingKind(models.TextChoices):
    SESSION = "session", _("Session")
    TIME_OFF = "time_off", _("Time off")


class Booking(models.Model):
    """One resource held for one dated occurrence (a session's own dates, or a part), or a
    trainer's time off.

    ``resource`` is ``room:<id>``, ``asset:<id>`` or ``trainer:<id>``: one indexed column
    that a conflict check reads for every kind at once, and that PostgreSQL's exclusion
    constraint (migration 0006) keeps free of overlaps unless the booking was accepted
    with an explicit override (``override_reason``).
    """

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="bookings")
    kind = models.CharField(max_length=10, choices=BookingKind.choices)
    resource = models.CharField(max_length=40)
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, null=True, blank=True, related_name="bookings"
    )
    part = models.ForeignKey(
        SessionPart, on_delete=models.CASCADE, null=True, blank=True, related_name="bookings"
    )
    room = models.ForeignKey(
        Room, on_delete=models.CASCADE, null=True, blank=True, related_name="bookings"
    )
    asset = models.ForeignKey(
        Asset, on_delete=models.CASCADE, null=True, blank=True, related_name="bookings"
    )
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="bookings",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # Blank: a clean booking. Set: accepted despite a conflict, and why (recorded, shown).
    override_reason = models.CharField(_("reason for the override"), max_length=255, blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=255, blank=True)  # time off: why
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            # The conflict check: resource equal, then a range on the start.
            models.Index(fields=["resource", "starts_at", "ends_at"], name="booking_overlap_idx"),
            models.Index(fields=["space", "starts_at"], name="booking_space_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="booking_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.starts_at:%Y-%m-%d %H:%M}"


class CheckIn(models.Model):
    """A registered learner checked in themself, with the code their trainer showed, at one
    dated occurrence (``part`` null: the session's own dates)."""

    registration = models.ForeignKey(
        Registration, on_delete=models.CASCADE, related_name="check_ins"
    )
    part = models.ForeignKey(
        SessionPart, on_delete=models.CASCADE, null=True, blank=True, related_name="check_ins"
    )
    checked_in_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["checked_in_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["registration", "part"], name="one_check_in_per_part"),
            models.UniqueConstraint(
                fields=["registration"],
                condition=Q(part__isnull=True),
                name="one_check_in_per_session_dates",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.registration_id} @ {self.part_id or 'session'}"


# -- feedback surveys ---------------------------------------------------------------------------
class SurveyTemplate(models.Model):
    """A space's feedback survey: ratings (1-5) and open questions, sent when a session ends.

    ``questions``: ``[{"id": "q1", "kind": "rating" | "text", "label": "..."}, ...]``. The
    space's default template goes to every session that names none.
    """

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="survey_templates")
    title = models.CharField(_("title"), max_length=200)
    questions = models.JSONField(default=list)
    anonymous = models.BooleanField(_("anonymous answers"), default=False)
    is_default = models.BooleanField(_("default for the space's sessions"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["title", "id"]
        verbose_name = _("survey template")
        verbose_name_plural = _("survey templates")

    def __str__(self) -> str:
        return self.title


class SurveyRespondent(models.Model):
    """Who answered a session's survey (once each), kept apart from the answers so an
    anonymous survey's answers name nobody."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="respondents")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="one_answer_per_session"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} answered {self.session_id}"


class SurveyResponse(models.Model):
    """One set of answers to a session's survey; ``user`` is null when it is anonymous."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="survey_responses")
    template = models.ForeignKey(SurveyTemplate, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answers = models.JSONField(default=dict)
    # The day only (not the time) for anonymous answers: a time next to the list of who
    # answered would tell who wrote what.
    submitted_on = models.DateField(default=timezone.localdate)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"feedback #{self.pk} on {self.session_id}"


# -- manager seat reservations ------------------------------------------------------------------
class SeatReservation(models.Model):
    """Seats a manager holds at a session for their team, naming people later.

    ``seats`` were reserved in all; ``held`` of them are not named yet and count as taken
    (``Session.reserved_seats``). Each person named becomes a confirmed registration and
    ``held`` drops by one. At ``deadline`` the seats still held go back to the pool (and the
    waiting list moves up); ``released_at`` says when.
    """

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="reservations")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seat_reservations"
    )
    seats = models.PositiveIntegerField(_("seats reserved"))
    held = models.PositiveIntegerField(_("seats not named yet"))
    deadline = models.DateTimeField(_("name people by"))
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("seat reservation")
        verbose_name_plural = _("seat reservations")
        constraints = [
            models.UniqueConstraint(
                fields=["session", "manager"], name="one_reservation_per_manager"
            ),
            models.CheckConstraint(
                condition=Q(held__lte=models.F("seats")), name="held_within_seats"
            ),
        ]
        indexes = [models.Index(fields=["released_at", "deadline"], name="reservation_due_idx")]

    def __str__(self) -> str:
        return f"{self.manager} — {self.session} ({self.held}/{self.seats})"


# -- one-to-one coaching slots ------------------------------------------------------------------
class SlotAudience(models.TextChoices):
    SPACE = "space", _("Anyone of the space")
    TEAM = "team", _("My team")


class CoachingSlot(models.Model):
    """A one-to-one coaching slot a trainer or a manager published: a coaching session of
    one seat (its own dates, invitations and feeds), booked by one learner."""

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="slot")
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coaching_slots"
    )
    # Who may book it: anyone of the space (a trainer's slots) or the coach's reports.
    audience = models.CharField(max_length=10, choices=SlotAudience.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session__starts_at", "id"]
        verbose_name = _("coaching slot")
        verbose_name_plural = _("coaching slots")

    def __str__(self) -> str:
        return f"{self.coach} — {self.session.starts_at:%Y-%m-%d %H:%M}"


# -- facilitators' weekly availability -----------------------------------------------------------
class Availability(models.Model):
    """One window of a trainer's working week (their own time zone). A trainer with no
    windows is taken as always available; with some, booking them outside is a conflict
    (accepted only with a reason, as over time off)."""

    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability"
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"))  # 0 = Monday
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")

    class Meta:
        ordering = ["trainer_id", "weekday", "starts", "id"]
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=models.F("starts")), name="availability_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="availability_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.trainer_id} {self.weekday} {self.starts}-{self.ends}"
