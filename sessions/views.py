"""Pages of sessions (form posts calling the same services as REST; live parts in
static/sessions/*.js):

* learners: the upcoming sessions, a session's page (register, cancel, answer a seat offer,
  the live waiting-list position);
* coordinators: the dashboard (seats left and waiting lists live), create / edit / cancel
  sessions and series, parts, registrations and the waiting list, the sign-in sheet.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from hub.accounts.selectors import spaces_of
from hub.params import parse_id
from sessions import reports, selectors, services
from sessions.api import (
    AssetSerializer,
    BookSerializer,
    CheckInSerializer,
    MoveSerializer,
    RegisterSerializer,
    RoomSerializer,
    SurveyTemplateSerializer,
    checkin_url,
)
from sessions.forms import (
    AttendanceForm,
    AvailabilityForm,
    PartForm,
    ReserveForm,
    SessionForm,
    SlotPublishForm,
    tz_of,
)
from sessions.models import (
    Registration,
    RegistrationStatus,
    SeatReservation,
    Session,
    SessionStatus,
)

# The dashboard follows this many sessions live (one subscription each).
DASHBOARD_LIMIT = 150


def _session(request: HttpRequest, pk: int) -> Session:
    session = selectors.visible_session(user=request.user, pk=pk)
    if session is None:
        raise Http404
    return session


def _managed(request: HttpRequest, pk: int) -> Session:
    session = _session(request, pk)
    if not selectors.can_manage_session(user=request.user, session=session):
        raise PermissionDenied
    return session


def _errors(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc) or _("You are not allowed to do this.")


def _attempt(request: HttpRequest, action: Callable[[], Any], success: str) -> Any:
    """Run a service; its refusal becomes an error message (nothing changed)."""
    try:
        result = action()
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, _errors(exc))
        return None
    messages.success(request, success)
    return result


def _registration(
    session: Session, request: HttpRequest, key: str = "registration"
) -> Registration:
    try:
        pk = int(request.POST.get(key, ""))
    except ValueError:
        raise Http404 from None
    registration = selectors.registration_in(session=session, pk=pk)
    if registration is None:
        raise Http404
    return registration


# -- learners ---------------------------------
@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    sessions = list(
        selectors.sessions_for(user=request.user)
        .filter(ends_at__gte=timezone.now() - timedelta(days=1))
        .exclude(status=SessionStatus.CANCELLED)
        # Coaching slots are on the coaching page.
        .exclude(slot__isnull=False)[:200]
    )
    states = selectors.seats_states(sessions=sessions)
    mine = dict(
        Registration.objects.filter(session__in=sessions, user=request.user)
        .exclude(status=RegistrationStatus.CANCELLED)
        .values_list("session_id", "status")
    )
    rows = [(s, states[s.pk], mine.get(s.pk)) for s in sessions]
    can_schedule = any(
        selectors.can_schedule_in(user=request.user, space=space)
        for space in spaces_of(user=request.user)
    )
    return render(request, "sessions/list.html", {"rows": rows, "can_schedule": can_schedule})


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(request, pk)
    payload = selectors.session_payload(session, user=request.user)
    manages = selectors.can_manage_session(user=request.user, session=session)
    context: dict[str, Any] = {
        "session": session,
        "payload": payload,
        "mine": payload["my_registration"],
        "manages": manages,
        "parts": session.parts.all(),
        # The service refuses the rest (a learner after the start, any completed session).
        "can_cancel_mine": session.status == SessionStatus.SCHEDULED
        and (manages or not session.has_started),
    }
    if manages:
        booked = selectors.occurrence_bookings(session=session)
        context |= _registrations_context(request, session) | {
            "part_form": PartForm(),
            "attendance_open": services.attendance_is_open(session=session),
            "rooms": selectors.rooms_of(space=session.space).filter(active=True),
            "assets": selectors.assets_of(space=session.space).filter(active=True),
            "occurrences": [
                {
                    "part": part,
                    "starts_at": part.starts_at if part else session.starts_at,
                    "bookings": booked.get(part.pk if part else None, []),
                }
                for part in [None, *context["parts"]]
            ],
        }
    context |= _reservations_context(request, session, manages=manages)
    mine = payload["my_registration"]
    if mine and mine.get("status") == RegistrationStatus.CONFIRMED:
        # A warning, not a refusal: two seats at once is the learner's (or manager's) call.
        context["booked_twice"] = selectors.overlapping_seats(user=request.user, session=session)
        context["my_response"] = (
            Registration.objects.filter(pk=mine["id"]).values_list("response", flat=True).first()
        )
    context["others_to_register"] = selectors.registrable_others(
        user=request.user, session=session, manages=manages
    )
    last_event = session.events.order_by("-id").values_list("id", flat=True).first() or 0
    context["initial"] = {"session": payload, "last_event": last_event, "user": request.user.pk}
    return render(request, "sessions/detail.html", context)


def _registrations_context(request: HttpRequest, session: Session) -> dict[str, Any]:
    """What the registrations and waiting-list tables of a session's page show."""
    registrations = list(
        session.registrations.exclude(status=RegistrationStatus.CANCELLED)
        .select_related("user")
        .order_by("status", "position", "created_at", "id")
    )
    return {
        "session": session,
        "registrations": registrations,
        "waitlisted": [r for r in registrations if r.status == RegistrationStatus.WAITLISTED],
        "others": [r for r in registrations if r.status != RegistrationStatus.WAITLISTED],
        "move_targets": selectors.sessions_for(user=request.user)
        .filter(space=session.space, status=SessionStatus.SCHEDULED, starts_at__gt=timezone.now())
        .exclude(pk=session.pk)[:50],
    }


@login_required
@require_GET
def session_registrations(request: HttpRequest, pk: int) -> HttpResponse:
    """The registrations and waiting-list tables alone (those who manage the session): the
    page's script swaps them in when the session's topic says registrations changed, so the
    tables follow the live counters without a reload. Read only."""
    session = _session(request, pk)
    if not selectors.can_manage_session(user=request.user, session=session):
        raise Http404
    return render(request, "sessions/_registrations.html", _registrations_context(request, session))


@login_required
@require_POST
def session_register(request: HttpRequest, pk: int) -> HttpResponse:
    """Register oneself, or (field ``user``) a report / anyone of the space."""
    session = _session(request, pk)
    # The serializer REST and the topic use (its ``user``: a report, anyone of the space).
    form = RegisterSerializer(data={"user": request.POST.get("user") or None})
    if not form.is_valid():
        messages.error(request, _("Choose whom to register."))
        return redirect("session-detail", pk=pk)
    someone = form.validated_data.get("user")
    try:
        reg = services.registration_register(actor=request.user, session=session, user=someone)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, _errors(exc))
    else:
        if someone is not None:
            messages.success(
                request,
                _("%(name)s: %(status)s.") % {"name": someone, "status": reg.get_status_display()},
            )
            return redirect("session-detail", pk=pk)
        if reg.status == "waitlisted":
            messages.info(request, _("You are on the waiting list, position %s.") % reg.position)
        elif reg.status == "pending":
            messages.info(request, _("Your registration awaits approval."))
        else:
            messages.success(request, _("You are registered."))
    return redirect("session-detail", pk=pk)


@login_required
@require_POST
def session_cancel_mine(request: HttpRequest, pk: int) -> HttpResponse:
    session = _session(request, pk)
    reg = selectors.active_registration(session=session, user=request.user)
    if reg is None:
        raise Http404
    _attempt(
        request,
        lambda: services.registration_cancel(actor=request.user, registration=reg),
        _("Your registration is cancelled."),
    )
    return redirect("session-detail", pk=pk)


@login_required
@require_POST
def session_offer(request: HttpRequest, pk: int, answer: str) -> HttpResponse:
    if answer not in ("accept", "decline"):
        raise Http404
    session = _session(request, pk)
    reg = selectors.active_registration(session=session, user=request.user)
    if reg is None:
        raise Http404
    if answer == "accept":
        _attempt(
            request,
            lambda: services.offer_accept(actor=request.user, registration=reg),
            _("The seat is yours: you are registered."),
        )
    else:
        _attempt(
            request,
            lambda: services.offer_decline(actor=request.user, registration=reg),
            _("You declined the seat."),
        )
    return redirect("session-detail", pk=pk)


RESPONSE_ANSWERS = {"accept": "accepted", "decline": "declined"}


@login_required
def session_respond(request: HttpRequest, pk: int, answer: str) -> HttpResponse:
    """The accept / decline link of an e-mailed invitation: a GET shows what the answer
    does and asks to confirm it (no change on GET: mail scanners follow links); the POST
    answers."""
    if answer not in RESPONSE_ANSWERS:
        raise Http404
    session = _session(request, pk)
    reg = selectors.active_registration(session=session, user=request.user)
    if request.method == "POST":
        if reg is None:
            messages.error(request, _("You have no seat at this session."))
            return redirect("session-detail", pk=pk)
        _attempt(
            request,
            lambda: services.registration_respond(
                actor=request.user, registration=reg, answer=RESPONSE_ANSWERS[answer]
            ),
            _("Thank you: you will be there.")
            if answer == "accept"
            else _("You declined: your seat is given up."),
        )
        return redirect("session-detail", pk=pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    return render(
        request,
        "sessions/respond.html",
        {"session": session, "mine": reg, "answer": answer},
    )


# -- coordinators ---------------------------------
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The coordinator's sessions (every session of their spaces): seats and lists live."""
    managed_spaces = [
        s
        for s in spaces_of(user=request.user)
        if selectors.can_schedule_in(user=request.user, space=s)
    ]
    trained = Session.objects.filter(trainers=request.user)
    if not managed_spaces and not trained.exists():
        raise PermissionDenied
    # ?past=1: sessions that have ended, latest first (attendance, exports afterwards).
    past = request.GET.get("past") == "1"
    sessions = selectors.dashboard_sessions(
        spaces=managed_spaces, trainer=request.user, past=past, limit=DASHBOARD_LIMIT
    )
    states = selectors.seats_states(sessions=sessions)
    pending = dict(
        Registration.objects.filter(session__in=sessions, status=RegistrationStatus.PENDING)
        .values("session_id")
        .annotate(n=Count("pk"))
        .values_list("session_id", "n")
    )
    rows = [(s, states[s.pk], pending.get(s.pk, 0)) for s in sessions]
    return render(
        request,
        "sessions/dashboard.html",
        {
            "rows": rows,
            "can_schedule": bool(managed_spaces),
            "past": past,
            "initial": {"topics": [s.topic for s in sessions]},
        },
    )


@login_required
def session_new(request: HttpRequest) -> HttpResponse:
    if not any(
        selectors.can_schedule_in(user=request.user, space=s) for s in spaces_of(user=request.user)
    ):
        raise PermissionDenied
    if request.method == "POST":
        tz = tz_of(request.POST)
        with timezone.override(tz):
            form = SessionForm(request.POST, user=request.user)
            if form.is_valid():
                created = _create(request, form)
                if created is not None:
                    return redirect("session-detail", pk=created.pk)
            return render(request, "sessions/form.html", {"form": form, "session": None})
    form = SessionForm(user=request.user, initial={"approval": "none"})
    return render(request, "sessions/form.html", {"form": form, "session": None})


def _create(request: HttpRequest, form: SessionForm) -> Session | None:
    data = form.service_fields()
    space = form.cleaned_data["space"]
    count = form.cleaned_data.get("repeat_count") or 1
    try:
        if count > 1:
            series = services.series_create(
                actor=request.user,
                space=space,
                count=count,
                interval_days=form.cleaned_data.get("interval_days") or 7,
                **data,
            )
            messages.success(request, _("%(n)s sessions scheduled.") % {"n": count})
            return series.occurrences.order_by("starts_at").first()
        session = services.session_create(actor=request.user, space=space, **data)
    except ValidationError as exc:
        form.add_service_error(exc)
        return None
    except PermissionDenied as exc:
        form.add_error(None, _errors(exc))
        return None
    messages.success(request, _("Session scheduled."))
    return session


@login_required
def session_edit(request: HttpRequest, pk: int) -> HttpResponse:
    session = _managed(request, pk)
    if request.method == "POST":
        with timezone.override(tz_of(request.POST, session.time_zone)):
            form = SessionForm(request.POST, user=request.user, session=session)
            if form.is_valid():
                try:
                    services.series_update(
                        actor=request.user,
                        session=session,
                        scope=form.cleaned_data.get("scope") or "one",
                        **form.service_fields(),
                    )
                except ValidationError as exc:
                    form.add_service_error(exc)
                except PermissionDenied as exc:
                    form.add_error(None, _errors(exc))
                else:
                    messages.success(request, _("Session updated."))
                    return redirect("session-detail", pk=pk)
            return render(request, "sessions/form.html", {"form": form, "session": session})
    initial = {
        name: getattr(session, name)
        for name in (*services.EDITABLE_FIELDS, "time_zone")
        if name not in ("course", "activity")
    } | {
        "course": session.course_id,
        "activity": session.activity_id,
        "trainers": list(session.trainers.all()),
        "scope": "one",
    }
    with timezone.override(tz_of({"time_zone": session.time_zone})):
        form = SessionForm(user=request.user, session=session, initial=initial)
        return render(request, "sessions/form.html", {"form": form, "session": session})


@login_required
@require_POST
def session_cancel_session(request: HttpRequest, pk: int) -> HttpResponse:
    session = _managed(request, pk)
    scope = request.POST.get("scope", "one")
    _attempt(
        request,
        lambda: services.series_cancel(actor=request.user, session=session, scope=scope),
        _("Session cancelled; everyone registered is told."),
    )
    return redirect("session-detail", pk=pk)


@login_required
@require_POST
def registration_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """approve / remove / up / down / move a registration (coordinators)."""
    session = _managed(request, pk)
    registration = _registration(session, request)
    actor = request.user
    if action == "approve":
        _attempt(
            request,
            lambda: services.registration_approve(actor=actor, registration=registration),
            _("Registration approved."),
        )
    elif action == "remove":
        _attempt(
            request,
            lambda: services.registration_remove(actor=actor, registration=registration),
            _("Registration removed."),
        )
    elif action in ("up", "down"):
        _attempt(
            request,
            lambda: services.waitlist_shift(
                actor=actor, registration=registration, by=-1 if action == "up" else 1
            ),
            _("Waiting list reordered."),
        )
    elif action == "move":
        # The serializer REST uses: a missing, malformed or unknown target (or a session of
        # another space) is a 400 that changes nothing; a target the sender does not manage,
        # the service's 403.
        form = MoveSerializer(data={"to": request.POST.get("to")}, context={"user": actor})
        if not form.is_valid():
            return HttpResponseBadRequest(_("Choose a session to move to."))
        target = form.validated_data["to"]
        try:
            services.registration_move(actor=actor, registration=registration, to=target)
        except ValidationError as exc:
            messages.error(request, _errors(exc))
        else:
            messages.success(request, _("Moved to %(title)s.") % {"title": target.title})
    else:
        raise Http404
    return redirect("session-detail", pk=pk)


@login_required
@require_POST
def part_add(request: HttpRequest, pk: int) -> HttpResponse:
    session = _managed(request, pk)
    with timezone.override(tz_of({"time_zone": session.time_zone})):
        form = PartForm(request.POST)
        if not form.is_valid():
            messages.error(
                request, " ".join(str(e) for errors in form.errors.values() for e in errors)
            )
            return redirect("session-detail", pk=pk)
    _attempt(
        request,
        lambda: services.part_add(actor=request.user, session=session, **form.cleaned_data),
        _("Part added."),
    )
    return redirect("session-detail", pk=pk)


@login_required
@require_POST
def part_remove(request: HttpRequest, pk: int, part_id: int) -> HttpResponse:
    session = _managed(request, pk)
    part = session.parts.filter(pk=part_id).first()
    if part is None:
        raise Http404
    _attempt(
        request,
        lambda: services.part_remove(actor=request.user, part=part),
        _("Part removed."),
    )
    return redirect("session-detail", pk=pk)


@login_required
def attendance_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The sign-in sheet; marks post here (or to REST from the page's script)."""
    session = _managed(request, pk)
    if request.method == "POST":
        form = AttendanceForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose present, absent, late or excused."))
        else:
            registration = session.registrations.filter(
                pk=form.cleaned_data["registration"]
            ).first()
            if registration is None:
                raise Http404
            _attempt(
                request,
                lambda: services.attendance_mark(
                    actor=request.user,
                    registration=registration,
                    attendance=form.cleaned_data["attendance"],
                ),
                _("Attendance saved."),
            )
        return redirect("session-attendance", pk=pk)
    sheet = selectors.attendance_payload(session=session)
    return render(
        request,
        "sessions/attendance.html",
        {
            "session": session,
            "sheet": sheet,
            "rows": selectors.attendance_sheet(session=session),
            "initial": {"session": session.pk, "topic": f"{session.topic}.attendance"},
        },
    )


@login_required
def attendance_csv(request: HttpRequest, pk: int) -> HttpResponse:
    session = _managed(request, pk)
    no_shows = request.GET.get("only") == "no-shows"
    response = HttpResponse(
        reports.attendance_csv(session=session, no_shows=no_shows),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{reports.csv_filename(session, no_shows)}"'
    )
    return response


# -- rooms, assets, bookings, conflicts ---------------------------------
def _scheduled_spaces(request: HttpRequest) -> list[Any]:
    return [
        s
        for s in spaces_of(user=request.user)
        if selectors.can_schedule_in(user=request.user, space=s)
    ]


def _form_errors(serializer: Any) -> str:
    return " ".join(f"{name}: {' '.join(map(str, e))}" for name, e in serializer.errors.items())


@login_required
def rooms_page(request: HttpRequest) -> HttpResponse:
    """Rooms and assets of the spaces one coordinates: list and add (POST)."""
    spaces = _scheduled_spaces(request)
    if not spaces:
        raise PermissionDenied
    if request.method == "POST":
        space = next((s for s in spaces if str(s.pk) == request.POST.get("space")), None)
        if space is None:
            return HttpResponseBadRequest(_("Choose one of your spaces."))
        if request.POST.get("what") == "survey":
            _survey_from_form(request, space)
            return redirect("sessions-rooms")
        if request.POST.get("what") == "asset":
            serializer: Any = AssetSerializer(data=request.POST)
            create: Callable[..., Any] = services.asset_create
        else:
            serializer = RoomSerializer(data=request.POST)
            create = services.room_create
        if not serializer.is_valid():
            messages.error(request, _form_errors(serializer))
        else:
            _attempt(
                request,
                lambda: create(actor=request.user, space=space, **serializer.validated_data),
                _("Added."),
            )
        return redirect("sessions-rooms")
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    return render(
        request,
        "sessions/rooms.html",
        {
            "spaces": [
                {
                    "space": s,
                    "rooms": selectors.rooms_of(space=s),
                    "assets": selectors.assets_of(space=s),
                    "surveys": s.survey_templates.order_by("title", "id"),
                }
                for s in spaces
            ]
        },
    )


def _survey_from_form(request: HttpRequest, space: Any) -> None:
    """The rooms page's survey form: one question a line, ``rating:`` or ``text:`` first."""
    questions = []
    for line in request.POST.get("questions", "").splitlines()[:50]:
        kind, _sep, label = line.partition(":")
        if line.strip():
            questions.append({"kind": kind.strip().lower(), "label": label.strip()})
    serializer = SurveyTemplateSerializer(
        data={
            "title": request.POST.get("title", ""),
            "questions": questions,
            "anonymous": request.POST.get("anonymous") == "on",
            "is_default": request.POST.get("is_default") == "on",
        }
    )
    if not serializer.is_valid():
        messages.error(request, _form_errors(serializer))
        return
    _attempt(
        request,
        lambda: services.survey_template_create(
            actor=request.user, space=space, **serializer.validated_data
        ),
        _("Survey added."),
    )


@login_required
@require_GET
def conflicts_page(request: HttpRequest) -> HttpResponse:
    """Upcoming conflicts of the spaces one coordinates, kept up to date live."""
    spaces = _scheduled_spaces(request)
    if not spaces:
        raise PermissionDenied
    return render(
        request,
        "sessions/conflicts.html",
        {
            "spaces": [
                {"space": s, "conflicts": selectors.space_conflicts(space_ids=[s.pk])}
                for s in spaces
            ],
        },
    )


@login_required
@require_POST
def session_book(request: HttpRequest, pk: int) -> HttpResponse:
    """The session page's "room and equipment" form (the same service as REST)."""
    session = _managed(request, pk)
    data = {
        "part": request.POST.get("part") or None,
        "room": request.POST.get("room") or None,
        "assets": request.POST.getlist("assets"),
        "override_reason": request.POST.get("override_reason", ""),
    }
    serializer = BookSerializer(data=data)
    if not serializer.is_valid():
        messages.error(request, _form_errors(serializer))
        return redirect("session-detail", pk=pk)
    cleaned = serializer.validated_data
    part = session.parts.filter(pk=cleaned["part"]).first() if cleaned.get("part") else None
    room = (
        selectors.rooms_of(space=session.space).filter(pk=cleaned["room"]).first()
        if cleaned.get("room")
        else None
    )
    assets = list(selectors.assets_of(space=session.space).filter(pk__in=cleaned["assets"]))
    if (cleaned.get("part") and part is None) or (cleaned.get("room") and room is None):
        raise Http404
    _attempt(
        request,
        lambda: services.occurrence_book(
            actor=request.user,
            session=session,
            part=part,
            room=room,
            assets=assets,
            override_reason=cleaned["override_reason"],
        ),
        _("Booked."),
    )
    return redirect("session-detail", pk=pk)


# -- self check-in --------------------------------------------------------------------------------
@login_required
def session_checkin(request: HttpRequest, pk: int) -> HttpResponse:
    """A learner's check-in from their phone: the QR code opens this page with the code
    filled in; the POST checks in (a GET changes nothing)."""
    session = _session(request, pk)
    if request.method == "POST":
        serializer = CheckInSerializer(data=request.POST)
        if not serializer.is_valid():
            messages.error(request, _form_errors(serializer))
        else:
            _attempt(
                request,
                lambda: services.checkin(
                    actor=request.user, session=session, code=serializer.validated_data["code"]
                ),
                _("You are checked in."),
            )
        return redirect("session-checkin", pk=pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    mine = selectors.active_registration(session=session, user=request.user)
    return render(
        request,
        "sessions/checkin.html",
        {
            "session": session,
            "mine": mine,
            "code": (request.GET.get("code") or "")[:16],
            "checked_in": mine.check_ins.exists() if mine else False,
        },
    )


@login_required
@require_GET
def checkin_show(request: HttpRequest, pk: int) -> HttpResponse:
    """What the trainer shows the room: each date's code and QR code, and the sheet link."""
    session = _managed(request, pk)
    return render(
        request,
        "sessions/checkin_show.html",
        {
            "session": session,
            "occurrences": [
                {"part": part, "starts_at": starts_at, "ends_at": ends_at, "code": code}
                for part, starts_at, ends_at, code in selectors.checkin_occurrences(session=session)
            ],
        },
    )


@login_required
@require_GET
def checkin_qr(request: HttpRequest, pk: int) -> HttpResponse:
    """The QR code (SVG) of one date's check-in page, for the session's managers."""
    import io

    import segno

    session = _managed(request, pk)
    part_id = request.GET.get("part")
    part = None
    if part_id:
        part = session.parts.filter(pk=parse_id(part_id) or 0).first()
        if part is None:
            raise Http404
    code = selectors.checkin_code(session=session, part=part)
    out = io.BytesIO()
    segno.make(checkin_url(session, code), error="m").save(out, kind="svg", scale=8, border=2)
    response = HttpResponse(out.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# -- feedback surveys ---------------------------------
@login_required
def session_feedback(request: HttpRequest, pk: int) -> HttpResponse:
    """The survey form of a completed session for its attendees (POST answers)."""
    session = _session(request, pk)
    template = selectors.survey_of(session=session)
    if template is None:
        raise Http404
    if request.method == "POST":
        answers = {q["id"]: request.POST.get(q["id"], "") for q in template.questions}
        if _attempt(
            request,
            lambda: services.survey_answer(actor=request.user, session=session, answers=answers),
            _("Thank you for your feedback."),
        ):
            return redirect("session-detail", pk=pk)
        return redirect("session-feedback", pk=pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    return render(
        request,
        "sessions/feedback.html",
        {
            "session": session,
            "template": template,
            "may_answer": selectors.may_answer_survey(user=request.user, session=session),
            "ratings": range(1, 6),
        },
    )


@login_required
@require_GET
def feedback_results(request: HttpRequest, pk: int) -> HttpResponse:
    session = _managed(request, pk)
    return render(
        request,
        "sessions/feedback_results.html",
        {
            "heading": session.title,
            "session": session,
            "results": selectors.survey_results(sessions=[session]),
        },
    )


@login_required
@require_GET
def trainer_feedback(request: HttpRequest, user_id: int) -> HttpResponse:
    from hub.accounts.models import User

    trainer = User.objects.filter(pk=user_id).first()
    if trainer is None or not selectors.can_see_trainer_feedback(
        user=request.user, trainer=trainer
    ):
        raise Http404
    return render(
        request,
        "sessions/feedback_results.html",
        {
            "heading": trainer.name,
            "results": selectors.survey_results(sessions=Session.objects.filter(trainers=trainer)),
        },
    )


@login_required
@require_GET
def feedback_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """Every response, one line each (no name when the survey is anonymous)."""
    import csv

    session = _managed(request, pk)
    template = selectors.survey_of(session=session)
    questions = template.questions if template else []
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="feedback-{session.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow([_("Respondent"), _("Date")] + [q["label"] for q in questions])
    for row in session.survey_responses.select_related("user"):
        name = row.user.name if row.user_id else _("Anonymous")
        cells = [str(row.answers.get(q["id"], "")) for q in questions]
        # A cell that a spreadsheet would run as a formula is quoted as text.
        cells = ["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in cells]
        writer.writerow([name, row.submitted_on.isoformat(), *cells])
    return response


# -- manager seat reservations ---------------------------------
def _reservations_context(request: HttpRequest, session: Session, *, manages: bool) -> dict:
    """The session page's reservations: the whole list (live) for those who manage it, the
    manager's own reservation and forms for a manager of people of the space."""
    context: dict[str, Any] = {}
    if manages:
        context["reservations"] = [
            r | {"deadline_at": datetime.fromisoformat(r["deadline"])}
            for r in selectors.reservations_payload(session=session)
        ]
    if session.status == SessionStatus.SCHEDULED and selectors.may_reserve_for_team(
        user=request.user, session=session
    ):
        own = session.reservations.filter(manager=request.user).first()
        context["can_reserve"] = not selectors.is_coaching_slot(session_id=session.pk)
        context["reserve_form"] = ReserveForm(
            initial={"deadline": session.registration_closes_at or session.starts_at}
        )
        if own is not None:
            context["my_reservation"] = selectors.reservation_payload(own)
            context["my_reservation_obj"] = own
            context["nameable"] = selectors.nameable_reports(reservation=own)
    return context


@login_required
@require_POST
def reservation_action(request: HttpRequest, pk: int) -> HttpResponse:
    """The session page's reservation forms: ``action`` reserve, name or release."""
    session = _session(request, pk)
    action = request.POST.get("action")
    if action == "reserve":
        form = ReserveForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
            return redirect("session-detail", pk=pk)
        _attempt(
            request,
            lambda: services.reservation_reserve(
                actor=request.user,
                session=session,
                seats=form.cleaned_data["seats"],
                deadline=form.cleaned_data["deadline"],
            ),
            _("Seats reserved for your team: name people before the deadline."),
        )
        return redirect("session-detail", pk=pk)
    rid = parse_id(request.POST.get("reservation", ""))
    reservation = SeatReservation.objects.filter(pk=rid, session=session).first() if rid else None
    if reservation is None or action not in ("name", "release"):
        raise Http404
    if action == "release":
        _attempt(
            request,
            lambda: services.reservation_release(actor=request.user, reservation=reservation),
            _("The seats not named went back to everyone."),
        )
        return redirect("session-detail", pk=pk)
    form = RegisterSerializer(data={"user": request.POST.get("user") or None})
    person = form.validated_data.get("user") if form.is_valid() else None
    if person is None:
        messages.error(request, _("Choose whom to name."))
        return redirect("session-detail", pk=pk)
    _attempt(
        request,
        lambda: services.reservation_name(actor=request.user, reservation=reservation, user=person),
        _("%(name)s has a seat.") % {"name": person.name},
    )
    return redirect("session-detail", pk=pk)


# -- one-to-one coaching ---------------------------------------------------------------------------
@login_required
def coaching_page(request: HttpRequest) -> HttpResponse:
    """Book a coaching slot (everyone), publish slots and see who booked them (trainers,
    managers). The open slots follow ``sessions.coaching.<space>`` live."""
    user = request.user
    publisher = selectors.may_publish_slots(user=user)
    form = SlotPublishForm(request.POST or None, user=user) if publisher else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = dict(form.cleaned_data)
            space = data.pop("space")
            done = _attempt(
                request,
                lambda: services.coaching_slots_publish(actor=user, space=space, **data),
                _("Slots published."),
            )
            if done is not None:
                return redirect("sessions-coaching")
    elif request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    slots = [_with_times(s) for s in selectors.coaching_slots(user=user)]
    published = (
        [_with_times(s) for s in selectors.slots_published_by(user=user)] if publisher else []
    )
    return render(
        request,
        "sessions/coaching.html",
        {
            "slots": [s for s in slots if not s["mine"]],
            "mine": [s for s in slots if s["mine"]],
            "published": published,
            "all_taken": all(s["taken"] for s in slots if not s["mine"]),
            "form": form,
            "topics": [f"sessions.coaching.{s.pk}" for s in spaces_of(user=user)],
        },
    )


def _with_times(slot: dict[str, Any]) -> dict[str, Any]:
    """The slot's times as datetimes for the ``when`` filter."""
    return slot | {
        "starts_at_dt": datetime.fromisoformat(slot["starts_at"]),
        "ends_at_dt": datetime.fromisoformat(slot["ends_at"]),
    }


@login_required
@require_POST
def coaching_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Book, cancel (the learner or the coach) or withdraw (the coach) a slot."""
    session = _session(request, pk)
    if action == "book":
        _attempt(
            request,
            lambda: services.coaching_book(actor=request.user, session=session),
            _("Booked: the invitation is on its way."),
        )
    elif action == "cancel":
        _attempt(
            request,
            lambda: services.coaching_cancel(actor=request.user, session=session),
            _("Cancelled: the slot is free again."),
        )
    elif action == "withdraw":
        _attempt(
            request,
            lambda: services.session_cancel(actor=request.user, session=session),
            _("Slot withdrawn."),
        )
    else:
        raise Http404
    return redirect("sessions-coaching")


# -- facilitators' weekly availability ---------------------------------
@login_required
def availability_page(request: HttpRequest) -> HttpResponse:
    """A trainer's own working week: one window per weekday."""
    user = request.user
    if not selectors.may_publish_slots(user=user):
        raise PermissionDenied
    windows = list(selectors.availability_of(trainer=user))
    if request.method == "POST":
        form = AvailabilityForm(request.POST)
        if form.is_valid():
            done = _attempt(
                request,
                lambda: services.availability_set(
                    actor=user,
                    trainer=user,
                    windows=form.windows(),
                    time_zone=form.cleaned_data["time_zone"],
                ),
                _("Working hours saved."),
            )
            if done is not None:
                return redirect("sessions-availability")
    elif request.method in ("GET", "HEAD"):
        initial: dict[str, Any] = {
            "time_zone": windows[0].time_zone if windows else (user.time_zone or "UTC")
        }
        for window in windows:
            initial.setdefault(f"from_{window.weekday}", window.starts)
            initial.setdefault(f"until_{window.weekday}", window.ends)
        form = AvailabilityForm(initial=initial)
    else:
        return HttpResponse(status=405)
    return render(request, "sessions/availability.html", {"form": form, "windows": windows})


# -- survey templates ---------------------------------
SURVEY_ROWS = 10


@login_required
def surveys_page(request: HttpRequest) -> HttpResponse:
    """Coordinators write the feedback surveys of their spaces: a title, up to ten
    questions (a rating 1-5 or an open text), anonymous or not, the space's default."""
    spaces = _scheduled_spaces(request)
    if not spaces:
        raise PermissionDenied
    posted: dict[str, Any] = {}
    if request.method == "POST":
        space = next((s for s in spaces if str(s.pk) == request.POST.get("space")), None)
        if space is None:
            return HttpResponseBadRequest(_("Choose one of your spaces."))
        questions = []
        for index in range(1, SURVEY_ROWS + 1):
            label = request.POST.get(f"label_{index}", "").strip()
            if label:
                questions.append({"kind": request.POST.get(f"kind_{index}", ""), "label": label})
        serializer = SurveyTemplateSerializer(
            data={
                "title": request.POST.get("title", ""),
                "questions": questions,
                "anonymous": request.POST.get("anonymous") == "on",
                "is_default": request.POST.get("is_default") == "on",
            }
        )
        if not serializer.is_valid():
            messages.error(request, _form_errors(serializer))
        elif _attempt(
            request,
            lambda: services.survey_template_create(
                actor=request.user, space=space, **serializer.validated_data
            ),
            _("Survey saved."),
        ):
            return redirect("sessions-surveys")
        posted = request.POST
    elif request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405)
    rows = [
        {
            "n": i,
            "kind": posted.get(f"kind_{i}", "rating" if i < 3 else "text"),
            "label": posted.get(f"label_{i}", ""),
        }
        for i in range(1, SURVEY_ROWS + 1)
    ]
    return render(
        request,
        "sessions/surveys.html",
        {
            "spaces": [
                {"space": s, "surveys": s.survey_templates.order_by("title", "id")} for s in spaces
            ],
            "rows": rows,
            "posted": posted,
        },
    )
