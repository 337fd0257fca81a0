"""Calendar files (a session's .ics, the personal feed, a course's feed) and the agenda page.

Feeds are fetched by calendar apps, which neither log in nor keep cookies: the personal
feed and a course's feed are found by the reader's secret token (a password change or a
reset gives a new one), and a course's feed is there only for those who may follow the
course. No feed is anonymous: no course is public.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response
from django.utils.dateparse import parse_date
from django.utils.formats import date_format
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from calendars import selectors
from calendars.ics import RenderedCalendar, prepare_calendar
from hub.accounts.services import feed_token_reset
from hub.dates import format_when
from sessions.models import Session
from sessions.selectors import can_view_session

AGENDA_VIEWS = ("month", "week", "list")


def ics_response(
    request: HttpRequest, calendar: RenderedCalendar, *, filename: str, download: bool, public: bool
) -> HttpResponse:
    """``text/calendar`` with an ETag: an unchanged calendar is a 304, never rebuilt."""
    unchanged = get_conditional_response(request, etag=calendar.etag)
    if unchanged is None:
        # method= matches the file's METHOD (RFC 5545 section 3.7.2), one charset.
        response = HttpResponse(calendar.body(), content_type=calendar.content_type)
        disposition = "attachment" if download else "inline"
        response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    else:
        response = unchanged
    response["ETag"] = calendar.etag
    # Calendar apps revalidate with If-None-Match; a secret feed stays out of shared caches.
    response["Cache-Control"] = "public, max-age=300" if public else "private, no-cache"
    if not public:
        response["X-Robots-Tag"] = "noindex"
    return response


@login_required
@require_safe
def session_ics(request: HttpRequest, pk: int) -> HttpResponse:
    """One session (and its parts) as a .ics download, for anyone who may view it."""
    session = Session.objects.filter(pk=pk).first()
    if session is None or not can_view_session(user=request.user, session=session):
        raise Http404
    entry = selectors.session_entry(user=request.user, session=session)
    calendar = prepare_calendar([entry], name=session.title)
    filename = f"{slugify(session.title)[:60] or 'session'}-{session.pk}.ics"
    return ics_response(request, calendar, filename=filename, download=True, public=False)


@require_safe
def personal_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The subscription feed at a secret address (no login: calendar apps cannot log in)."""
    user = selectors.user_for_feed_token(token)
    if user is None:
        raise Http404
    with translation.override(user.language or translation.get_language()):
        entries = [
            *selectors.personal_feed_entries(user=user),
            *selectors.due_feed_entries(user=user),
        ]
        calendar = prepare_calendar(
            entries, name=_("%(name)s — Lyceum sessions") % {"name": user.name}, feed=True
        )
        return ics_response(request, calendar, filename="lyceum.ics", download=False, public=False)


def _token_feed(request: HttpRequest, token: str, kind: str) -> HttpResponse:
    """A feed of one kind at the reader's secret address (404 for a wrong token)."""
    user = selectors.user_for_feed_token(token)
    if user is None:
        raise Http404
    with translation.override(user.language or translation.get_language()):
        if kind == "teaching":
            entries = selectors.teaching_feed_entries(user=user)
            name = _("%(name)s — sessions I teach") % {"name": user.name}
        else:
            found = selectors.managed_feed_entries(user=user)
            if found is None:
                raise Http404
            entries = found
            name = _("%(name)s — sessions of my spaces") % {"name": user.name}
        calendar = prepare_calendar(entries, name=name, feed=True)
        return ics_response(
            request, calendar, filename=f"lyceum-{kind}.ics", download=False, public=False
        )


@require_safe
def teaching_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A trainer's feed: the sessions and live classes they teach."""
    return _token_feed(request, token, "teaching")


@require_safe
def managed_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A coordinator's feed: every session and live class of the spaces they coordinate."""
    return _token_feed(request, token, "managed")


@require_safe
def room_feed(request: HttpRequest, token: str, room_id: int) -> HttpResponse:
    """A room's sessions, for the coordinators of its space (404 for anyone else)."""
    user = selectors.user_for_feed_token(token)
    if user is None:
        raise Http404
    with translation.override(user.language or translation.get_language()):
        found = selectors.room_feed_entries(user=user, room_id=room_id)
        if found is None:
            raise Http404
        room, entries = found
        calendar = prepare_calendar(entries, name=str(room), feed=True)
        return ics_response(
            request, calendar, filename=f"room-{room_id}.ics", download=False, public=False
        )


def _course_feed(request: HttpRequest, user: Any, course_id: int) -> HttpResponse:
    found = selectors.course_feed_entries(course_id=course_id, user=user)
    if found is None:
        raise Http404
    course, entries = found
    calendar = prepare_calendar(entries, name=course.title, feed=True)
    return ics_response(
        request, calendar, filename=f"course-{course_id}.ics", download=False, public=False
    )


@require_safe
def course_token_feed(request: HttpRequest, token: str, course_id: int) -> HttpResponse:
    """A published course's sessions at the reader's secret address (calendar apps), for
    those who may follow the course; 404 for a wrong token or anyone else."""
    user = selectors.user_for_feed_token(token)
    if user is None:
        raise Http404
    with translation.override(user.language or translation.get_language()):
        return _course_feed(request, user, course_id)


@require_safe
def course_feed(request: HttpRequest, course_id: int) -> HttpResponse:
    """The same calendar for a signed-in reader (a browser); 404 for anyone else, anonymous
    included (calendar apps use the secret address the agenda gives)."""
    return _course_feed(request, request.user, course_id)


@login_required
@require_POST
def feed_reset(request: HttpRequest) -> HttpResponse:
    """Give the user a (new) feed address; an old one stops working at once."""
    had_one = bool(request.user.feed_token)
    feed_token_reset(user=request.user)
    if had_one:
        messages.success(
            request, _("Your calendar feed has a new address: update your calendar apps with it.")
        )
    else:
        messages.success(request, _("Your calendar address is ready."))
    return redirect("agenda")


# -- the agenda page --------------------------------------------------------------------------
def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (_month_start(day) + timedelta(days=32)).replace(day=1)


def _previous_month(day: date) -> date:
    return (_month_start(day) - timedelta(days=1)).replace(day=1)


def _range(view: str, day: date) -> tuple[date, date, date, date]:
    """The days shown [first, last) and the dates the previous / next links open."""
    if view == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=7), first - timedelta(days=7), first + timedelta(7)
    month = _month_start(day)
    following = _next_month(month)
    if view == "list":
        return month, following, _previous_month(month), following
    # The month grid runs Monday to Sunday, so it starts and ends with neighbouring days.
    first = month - timedelta(days=month.weekday())
    last = following + timedelta(days=(7 - following.weekday()) % 7)
    return first, last, _previous_month(month), following


@login_required
@require_safe
def agenda(request: HttpRequest) -> HttpResponse:
    """Month, week and list views of one's sessions (coordinators: all of their spaces')."""
    view = request.GET.get("view") or "month"
    raw_date = request.GET.get("date")
    try:
        day = parse_date(raw_date) if raw_date else timezone.localdate()
    except ValueError:
        day = None
    if view not in AGENDA_VIEWS or day is None:
        return HttpResponseBadRequest(_("Unknown agenda view or date (use YYYY-MM-DD)."))
    first, last, previous, following = _range(view, day)
    items = selectors.agenda_items(user=request.user, start=_midnight(first), end=_midnight(last))
    by_day: dict[date, list[selectors.AgendaItem]] = {}
    for item in items:
        by_day.setdefault(timezone.localtime(item.starts_at).date(), []).append(item)
    # Due dates (paths, courses, activities) on their day, done ones marked (late or not).
    dues = selectors.agenda_due_items(
        user=request.user, start=_midnight(first), end=_midnight(last)
    )
    due_by_day: dict[date, list[dict]] = {}
    for due in dues:
        due_by_day.setdefault(timezone.localtime(due["due_at"]).date(), []).append(due)
    today = timezone.localdate()
    monday = first - timedelta(days=first.weekday())
    days = [
        {
            "date": first + timedelta(days=n),
            "items": by_day.get(first + timedelta(days=n), []),
            "due": due_by_day.get(first + timedelta(days=n), []),
            "today": first + timedelta(days=n) == today,
            "outside": view == "month" and (first + timedelta(days=n)).month != day.month,
        }
        for n in range((last - first).days)
    ]
    if view == "week":
        heading = _("Week of %(date)s") % {"date": format_when(first, "date")}
    else:
        heading = date_format(day, "YEAR_MONTH_FORMAT")
    return render(
        request,
        "calendars/agenda.html",
        {
            "view": view,
            "views": [(v, label) for v, label in zip(AGENDA_VIEWS, _view_labels(), strict=True)],
            "day": day,
            "heading": heading,
            "weeks": [days[i : i + 7] for i in range(0, len(days), 7)],
            "days": days,
            "listed_days": [d for d in days if d["items"] or d["due"]],
            "item_count": len(items),
            "due_count": len(dues),
            "previous": previous,
            "following": following,
            "today": today,
            "weekday_names": [date_format(monday + timedelta(days=n), "D") for n in range(7)],
            "coordinates": bool(selectors.coordinated_space_ids(user=request.user)),
            "course_feeds": selectors.course_feeds_of(items, user=request.user),
            "role_feeds": selectors.role_feeds(user=request.user),
            "room_feeds": selectors.room_feeds(user=request.user),
            **selectors.feed_links(user=request.user),
        },
    )


def _view_labels() -> list[str]:
    return [_("Month"), _("Week"), _("List")]
