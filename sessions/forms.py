"""Forms of the coordinator pages. They parse and show errors; the services validate the
rules (the same ones REST goes through) and their errors land on the matching fields."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from classrooms.models import Activity, Course
from hub.accounts.models import Role, User
from hub.accounts.selectors import spaces_of
from hub.params import validate_datetime_in_range
from sessions.api import MAX_CAPACITY
from sessions.models import Approval, Attendance, SessionKind

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _when(label: Any, required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=DATETIME_WIDGET,
        help_text=None,
        validators=[validate_datetime_in_range],
    )


class SessionForm(forms.Form):
    """Create or edit a session; times are read on the wall clock of its time zone."""

    space = forms.ModelChoiceField(queryset=None, label=_("Space"))
    kind = forms.ChoiceField(choices=SessionKind.choices, label=_("Kind"))
    title = forms.CharField(max_length=200, label=_("Title"))
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        label=_("Description"),
        help_text=_("Markdown."),
    )
    time_zone = forms.ChoiceField(
        initial="UTC",
        error_messages={"invalid_choice": _("Unknown time zone.")},
        label=_("Time zone"),
        help_text=_("The times below are local to it; the space's own zone to begin with."),
    )
    starts_at = _when(_("Starts at"))
    ends_at = _when(_("Ends at"))
    location = forms.CharField(max_length=255, required=False, label=_("Location (room, address)"))
    join_url = forms.URLField(required=False, assume_scheme="https", label=_("Join link (virtual)"))
    capacity = forms.IntegerField(label=_("Capacity"), max_value=MAX_CAPACITY)
    trainers = forms.ModelMultipleChoiceField(queryset=None, required=False, label=_("Trainers"))
    course = forms.ModelChoiceField(queryset=None, required=False, label=_("Course"))
    activity = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Course activity completed by attending")
    )
    registration_opens_at = _when(_("Registration opens"), required=False)
    registration_closes_at = _when(_("Registration closes"), required=False)
    cancellation_deadline = _when(_("Cancellation deadline"), required=False)
    approval = forms.ChoiceField(choices=Approval.choices, label=_("Approval"))
    reminder_hours = forms.IntegerField(initial=24, label=_("Reminder (hours before; 0 = none)"))
    claim_hours = forms.IntegerField(
        required=False,
        label=_("Claim window (hours)"),
        help_text=_("A freed seat is offered to the next in line for this long. Empty: at once."),
    )
    # Creation only: repeat as a series.
    repeat_count = forms.IntegerField(
        required=False,
        label=_("Occurrences"),
        help_text=_("More than 1 schedules a series."),
    )
    interval_days = forms.IntegerField(
        required=False, initial=7, label=_("Every N days"), help_text=_("7: weekly.")
    )
    # Edit only, for an occurrence of a series.
    scope = forms.ChoiceField(
        choices=[("one", _("This occurrence")), ("following", _("This and the following ones"))],
        initial="one",
        required=False,
        widget=forms.RadioSelect,
        label=_("Apply to"),
    )
    # Edit only: a move of a booked session into a conflict (a room, an asset or a trainer
    # taken, a trainer outside their working hours) is refused unless a reason is given.
    override_reason = forms.CharField(
        max_length=255,
        required=False,
        label=_("Reason to accept a conflict"),
        help_text=_(
            "Only if the new time conflicts with a booking or a trainer's working hours: "
            "recorded on the conflicts page."
        ),
    )

    def __init__(self, *args: Any, user: Any, session: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        spaces = spaces_of(user=user)
        space = session.space if session is not None else None
        self.fields["space"].queryset = spaces
        if space is None and spaces.count() == 1:
            space = spaces.first()
            self.fields["space"].initial = space
        from hub.accounts.timezones import zone_choices

        choices = zone_choices()
        if session is not None and session.time_zone not in dict(choices):
            choices = [(session.time_zone, session.time_zone), *choices]  # an older zone name
        self.fields["time_zone"].choices = choices
        if session is None:
            # The space's default zone (with several spaces, the default space's, or the
            # first's; the page's script follows the space picked).
            first = space or spaces.filter(is_default=True).first() or spaces.first()
            self.fields["time_zone"].initial = getattr(first, "time_zone", "") or "UTC"
        self.space_zones = {str(s.pk): s.time_zone or "UTC" for s in spaces}
        # Trainers: the people holding the trainer role in the session's space (in the
        # coordinator's spaces on creation), and those already training it.
        trainers = User.objects.filter(
            spaces__in=[space] if space else spaces, role_grants__role=Role.TRAINER
        )
        if session is not None:
            trainers = trainers | User.objects.filter(sessions_trained=session)
        self.fields["trainers"].queryset = trainers.distinct().order_by("display_name", "username")
        courses = Course.objects.filter(space__in=spaces)
        self.fields["course"].queryset = courses
        self.fields["activity"].queryset = Activity.objects.filter(course__in=courses)
        if session is not None:
            del self.fields["space"], self.fields["repeat_count"], self.fields["interval_days"]
            if session.series_id is None:
                del self.fields["scope"]
        else:
            del self.fields["scope"], self.fields["override_reason"]

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"].strip()
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(_("Unknown time zone.")) from None
        return value

    def service_fields(self) -> dict[str, Any]:
        """What the services take (the form-only fields left out)."""
        data = dict(self.cleaned_data)
        for name in ("space", "repeat_count", "interval_days", "scope"):
            data.pop(name, None)
        return data

    def add_service_error(self, exc: ValidationError) -> None:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, exc)


class PartForm(forms.Form):
    starts_at = _when(_("Starts at"))
    ends_at = _when(_("Ends at"))
    location = forms.CharField(max_length=255, required=False, label=_("Location"))


class AttendanceForm(forms.Form):
    registration = forms.IntegerField()
    attendance = forms.ChoiceField(choices=Attendance.choices)


def tz_of(data: Any, default: str = "UTC") -> ZoneInfo:
    """The time zone the posted times are local to (the form checks it properly)."""
    try:
        return ZoneInfo((data or {}).get("time_zone") or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


class ReserveForm(forms.Form):
    """A manager reserves seats for their team (times in the viewer's zone)."""

    seats = forms.IntegerField(min_value=1, max_value=500, label=_("Seats"))
    deadline = _when(_("Name people by"))


class SlotPublishForm(forms.Form):
    """A trainer or a manager publishes back-to-back coaching slots."""

    space = forms.ModelChoiceField(queryset=None, label=_("Space"))
    starts_at = _when(_("From"))
    ends_at = _when(_("Until"))
    slot_minutes = forms.IntegerField(
        min_value=15, max_value=240, initial=30, label=_("Each slot lasts (minutes)")
    )
    title = forms.CharField(max_length=200, required=False, label=_("Title"))
    location = forms.CharField(max_length=255, required=False, label=_("Place or meeting link"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        spaces = spaces_of(user=user)
        self.fields["space"].queryset = spaces
        if len(spaces) == 1:
            self.fields["space"].initial = spaces[0].pk


WEEKDAYS = [
    _("Monday"),
    _("Tuesday"),
    _("Wednesday"),
    _("Thursday"),
    _("Friday"),
    _("Saturday"),
    _("Sunday"),
]


class AvailabilityForm(forms.Form):
    """A trainer's working week: one window per weekday (REST takes several)."""

    time_zone = forms.CharField(max_length=64, label=_("Time zone"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day, name in enumerate(WEEKDAYS):
            time = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
            self.fields[f"from_{day}"] = forms.TimeField(
                required=False, label=_("%(day)s from") % {"day": name}, widget=time
            )
            self.fields[f"until_{day}"] = forms.TimeField(
                required=False, label=_("%(day)s until") % {"day": name}, widget=time
            )

    def days(self) -> list[tuple[Any, Any, Any]]:
        return [
            (name, self[f"from_{day}"], self[f"until_{day}"]) for day, name in enumerate(WEEKDAYS)
        ]

    def windows(self) -> list[dict[str, Any]]:
        out = []
        for day in range(7):
            starts = self.cleaned_data.get(f"from_{day}")
            ends = self.cleaned_data.get(f"until_{day}")
            if starts is not None or ends is not None:
                out.append({"weekday": day, "starts": starts, "ends": ends})
        return out
