"""REST endpoints of sessions (mounted under /api/v1/): thin, over services/selectors."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms.models import Activity, Course
from hub.accounts.models import Space, User
from hub.api import DateTimeInRangeField, validated
from hub.params import parse_id, query_id
from sessions import reports, selectors, services
from sessions.models import (
    Approval,
    Attendance,
    Registration,
    Session,
    SessionKind,
    SessionPart,
    SessionSeries,
)

KIND_HELP = " | ".join(SessionKind.values)
# The most seats a session offers (a large webinar); the forms share it.
MAX_CAPACITY = 100_000


# -- serializers (validation; REST, pages and the gateway share them) --------------------------
class SessionWriteSerializer(serializers.Serializer):
    # A plain string in the schema ("kind" enums of other apps would collide); the service
    # checks it is one of SessionKind.
    kind = serializers.CharField(max_length=20, required=False, help_text=KIND_HELP)
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    starts_at = DateTimeInRangeField(required=False)
    ends_at = DateTimeInRangeField(required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    location = serializers.CharField(max_length=255, required=False, allow_blank=True)
    join_url = serializers.URLField(required=False, allow_blank=True)
    # Negative capacities reach the service, which says why they are refused; the most is
    # the product's (and within the column: 10**20 or 2**31 would not be stored).
    capacity = serializers.IntegerField(required=False, max_value=MAX_CAPACITY)
    registration_opens_at = DateTimeInRangeField(required=False, allow_null=True)
    registration_closes_at = DateTimeInRangeField(required=False, allow_null=True)
    approval = serializers.ChoiceField(choices=Approval.choices, required=False)
    cancellation_deadline = DateTimeInRangeField(required=False, allow_null=True)
    course = serializers.PrimaryKeyRelatedField(
        queryset=Course.objects.all(), required=False, allow_null=True
    )
    activity = serializers.PrimaryKeyRelatedField(
        queryset=Activity.objects.all(), required=False, allow_null=True
    )
    trainers = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), many=True, required=False
    )
    # Bounds are the service's (it says why a value is refused).
    reminder_hours = serializers.IntegerField(required=False)
    claim_hours = serializers.IntegerField(required=False, allow_null=True)


OVERRIDE_HELP = (
    "Why a move into a conflict (a resource booked, a trainer outside their working hours) "
    "is accepted anyway: recorded on the conflicts page. Without it such a move is a 409."
)


class SessionUpdateSerializer(SessionWriteSerializer):
    override_reason = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text=OVERRIDE_HELP
    )


class SessionCreateSerializer(SessionWriteSerializer):
    space = serializers.PrimaryKeyRelatedField(queryset=Space.objects.all())
    kind = serializers.CharField(max_length=20, help_text=KIND_HELP)
    title = serializers.CharField(max_length=200)
    starts_at = DateTimeInRangeField()
    ends_at = DateTimeInRangeField()
    capacity = serializers.IntegerField(max_value=MAX_CAPACITY)


class SeriesCreateSerializer(SessionCreateSerializer):
    count = serializers.IntegerField(help_text="How many occurrences (1..52).")
    interval_days = serializers.IntegerField(default=7, help_text="7: weekly.")


class ScopeSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["one", "following"], default="one")


class SeriesUpdateSerializer(SessionWriteSerializer, ScopeSerializer):
    pass


class PartSerializer(serializers.Serializer):
    starts_at = DateTimeInRangeField()
    ends_at = DateTimeInRangeField()
    location = serializers.CharField(max_length=255, required=False, allow_blank=True)


class PartUpdateSerializer(PartSerializer):
    starts_at = DateTimeInRangeField(required=False)
    ends_at = DateTimeInRangeField(required=False)
    override_reason = serializers.CharField(
        max_length=255, required=False, allow_blank=True, help_text=OVERRIDE_HELP
    )


class OfferSerializer(serializers.Serializer):
    # A manager answers for a report; default: one's own offer.
    registration = serializers.IntegerField(required=False, allow_null=True)


@extend_schema_field(OpenApiTypes.INT)
class VisibleSessionField(serializers.PrimaryKeyRelatedField):
    """A session the caller (context ``user``) may see: any other id is simply invalid, so
    the answer does not tell a session of another space from one that does not exist."""

    def get_queryset(self) -> Any:
        return selectors.sessions_for(user=self.context["user"])


class MoveSerializer(serializers.Serializer):
    to = VisibleSessionField()


class ShiftSerializer(serializers.Serializer):
    by = serializers.IntegerField(min_value=-2000, max_value=2000)


class AttendanceMarkSerializer(serializers.Serializer):
    registration = serializers.IntegerField()
    attendance = serializers.ChoiceField(choices=Attendance.choices)
    # A mark made offline and synced later (issue 21): when it was made.
    marked_at = DateTimeInRangeField(required=False)


class AttendanceSheetSerializer(serializers.Serializer):
    open = serializers.BooleanField()
    opens_at = serializers.DateTimeField()
    summary = serializers.DictField(child=serializers.IntegerField())
    rows = serializers.ListField(child=serializers.DictField())


class RegisterSerializer(serializers.Serializer):
    # Someone else: a manager registers a report, a coordinator anyone of the space.
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )


class CancelSerializer(serializers.Serializer):
    # Someone else's registration (their manager, a coordinator); default: one's own.
    registration = serializers.IntegerField(required=False, allow_null=True)


class RegistrationResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["confirmed", "waitlisted", "pending", "offered", "cancelled"]
    )
    position = serializers.IntegerField(allow_null=True)
    registration = serializers.IntegerField()
    offer_expires_at = serializers.DateTimeField(allow_null=True)


class WaitlistReorderSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), max_length=2000)


class SessionObject(serializers.Serializer):
    """Documented by example in the payload functions of ``sessions/selectors.py``."""


def _session(request: Request, pk: int) -> Session:
    session = selectors.visible_session(user=request.user, pk=pk)
    if session is None:
        raise Http404
    return session


def _managed(request: Request, pk: int) -> Session:
    """The session, for those who manage it (others get a 404: it reveals nothing)."""
    session = _session(request, pk)
    if not selectors.can_manage_session(user=request.user, session=session):
        raise Http404
    return session


def _registration(session: Session, pk: int) -> Registration:
    registration = selectors.registration_in(session=session, pk=pk)
    if registration is None:
        raise Http404
    return registration


class SessionListView(APIView):
    @extend_schema(responses={200: SessionObject(many=True)})
    def get(self, request: Request) -> Response:
        sessions = selectors.sessions_for(user=request.user)
        return Response(selectors.session_payloads(sessions, user=request.user))

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionObject})
    def post(self, request: Request) -> Response:
        data = validated(SessionCreateSerializer, request.data)
        session = services.session_create(actor=request.user, **data)
        return Response(selectors.session_payload(session, user=request.user), status=201)


class SessionDetailView(APIView):
    @extend_schema(responses={200: SessionObject})
    def get(self, request: Request, pk: int) -> Response:
        return Response(selectors.session_payload(_session(request, pk), user=request.user))

    @extend_schema(request=SessionUpdateSerializer, responses={200: SessionObject})
    def patch(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        data = validated(SessionUpdateSerializer, request.data)
        try:
            session = services.session_update(actor=request.user, session=session, **data)
        except services.BookingConflict as exc:
            return conflict_response(exc)
        return Response(selectors.session_payload(session, user=request.user))


class SessionCancelSessionView(APIView):
    @extend_schema(request=None, responses={200: SessionObject})
    def post(self, request: Request, pk: int) -> Response:
        session = services.session_cancel(actor=request.user, session=_session(request, pk))
        return Response(selectors.session_payload(session, user=request.user))


class RegisterView(APIView):
    @extend_schema(request=RegisterSerializer, responses={201: RegistrationResultSerializer})
    def post(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        data = validated(RegisterSerializer, request.data)
        registration = services.registration_register(
            actor=request.user, session=session, user=data.get("user")
        )
        return Response(selectors.registration_result(registration), status=201)


class CancelView(APIView):
    @extend_schema(request=CancelSerializer, responses={200: RegistrationResultSerializer})
    def post(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        data = validated(CancelSerializer, request.data)
        if data.get("registration"):
            registration = session.registrations.filter(pk=data["registration"]).first()
        else:
            registration = selectors.active_registration(session=session, user=request.user)
        if registration is None:
            raise Http404
        registration = services.registration_cancel(actor=request.user, registration=registration)
        return Response(selectors.registration_result(registration))


class RespondSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(
        choices=["accepted", "declined"],
        help_text="The answer to the calendar invitation: declined gives the seat up.",
    )


class RespondView(APIView):
    @extend_schema(request=RespondSerializer, responses={200: RegistrationResultSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Answer the invitation of one's seat (the e-mail's accept / decline links)."""
        session = _session(request, pk)
        data = validated(RespondSerializer, request.data)
        registration = selectors.active_registration(session=session, user=request.user)
        if registration is None:
            raise Http404
        registration = services.registration_respond(
            actor=request.user, registration=registration, answer=data["answer"]
        )
        return Response(selectors.registration_result(registration))


class RegistrationListView(APIView):
    @extend_schema(responses={200: SessionObject(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        if not selectors.can_manage_session(user=request.user, session=session):
            raise Http404
        rows = session.registrations.order_by("status", "position", "created_at", "id")
        return Response([selectors.registration_payload(r) for r in rows])


class WaitlistReorderView(APIView):
    @extend_schema(request=WaitlistReorderSerializer, responses={200: SessionObject})
    def post(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        data = validated(WaitlistReorderSerializer, request.data)
        services.waitlist_reorder(actor=request.user, session=session, registration_ids=data["ids"])
        return Response(selectors.seats_state(session=session))


# -- claim window -----------------------------------------------------------------------------
class OfferAnswerView(APIView):
    """``offer/accept/`` and ``offer/decline/``: answer the seat offered to you (or a report)."""

    accept = True

    @extend_schema(request=OfferSerializer, responses={200: RegistrationResultSerializer})
    def post(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        data = validated(OfferSerializer, request.data)
        if data.get("registration"):
            registration = _registration(session, data["registration"])
        else:
            registration = selectors.active_registration(session=session, user=request.user)
            if registration is None:
                raise Http404
        answer = services.offer_accept if self.accept else services.offer_decline
        return Response(
            selectors.registration_result(answer(actor=request.user, registration=registration))
        )


# -- coordinators: registrations and the waiting list -----------------------------------------
class RegistrationApproveView(APIView):
    @extend_schema(request=None, responses={200: RegistrationResultSerializer})
    def post(self, request: Request, pk: int, rid: int) -> Response:
        registration = _registration(_session(request, pk), rid)
        registration = services.registration_approve(actor=request.user, registration=registration)
        return Response(selectors.registration_result(registration))


class RegistrationRemoveView(APIView):
    @extend_schema(request=None, responses={200: RegistrationResultSerializer})
    def post(self, request: Request, pk: int, rid: int) -> Response:
        registration = _registration(_managed(request, pk), rid)
        registration = services.registration_remove(actor=request.user, registration=registration)
        return Response(selectors.registration_result(registration))


class RegistrationMoveView(APIView):
    @extend_schema(request=MoveSerializer, responses={200: RegistrationResultSerializer})
    def post(self, request: Request, pk: int, rid: int) -> Response:
        registration = _registration(_managed(request, pk), rid)
        data = validated(MoveSerializer, request.data, user=request.user)
        moved = services.registration_move(
            actor=request.user, registration=registration, to=data["to"]
        )
        return Response(selectors.registration_result(moved))


class WaitlistShiftView(APIView):
    @extend_schema(request=ShiftSerializer, responses={200: SessionObject})
    def post(self, request: Request, pk: int, rid: int) -> Response:
        session = _managed(request, pk)
        registration = _registration(session, rid)
        data = validated(ShiftSerializer, request.data)
        services.waitlist_shift(actor=request.user, registration=registration, by=data["by"])
        return Response(selectors.seats_state(session=session))


# -- parts ------------------------------------------------------------------------------------
class PartListView(APIView):
    @extend_schema(responses={200: SessionObject(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        return Response([selectors.part_payload(p) for p in session.parts.all()])

    @extend_schema(request=PartSerializer, responses={201: SessionObject})
    def post(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        data = validated(PartSerializer, request.data)
        part = services.part_add(actor=request.user, session=session, **data)
        return Response(selectors.part_payload(part), status=201)


class PartDetailView(APIView):
    def _part(self, request: Request, pk: int, part_id: int) -> SessionPart:
        part = _session(request, pk).parts.filter(pk=part_id).first()
        if part is None:
            raise Http404
        return part

    @extend_schema(request=PartUpdateSerializer, responses={200: SessionObject})
    def patch(self, request: Request, pk: int, part_id: int) -> Response:
        part = self._part(request, pk, part_id)
        data = validated(PartUpdateSerializer, request.data)
        try:
            part = services.part_update(actor=request.user, part=part, **data)
        except services.BookingConflict as exc:
            return conflict_response(exc)
        return Response(selectors.part_payload(part))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int, part_id: int) -> Response:
        services.part_remove(actor=request.user, part=self._part(request, pk, part_id))
        return Response(status=204)


# -- series -----------------------------------------------------------------------------------
def series_payload(series: SessionSeries) -> dict:
    return {
        "id": series.pk,
        "title": series.title,
        "interval_days": series.interval_days,
        "count": series.count,
        "occurrences": list(series.occurrences.order_by("starts_at").values_list("pk", flat=True)),
    }


class SeriesCreateView(APIView):
    @extend_schema(request=SeriesCreateSerializer, responses={201: SessionObject})
    def post(self, request: Request) -> Response:
        data = validated(SeriesCreateSerializer, request.data)
        series = services.series_create(actor=request.user, **data)
        return Response(series_payload(series), status=201)


class SeriesUpdateView(APIView):
    """Change this occurrence (``scope: one``) or it and the following ones."""

    @extend_schema(request=SeriesUpdateSerializer, responses={200: SessionObject(many=True)})
    def post(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        data = validated(SeriesUpdateSerializer, request.data)
        updated = services.series_update(actor=request.user, session=session, **data)
        return Response(selectors.session_payloads(updated, user=request.user))


class SeriesCancelView(APIView):
    @extend_schema(request=ScopeSerializer, responses={200: SessionObject(many=True)})
    def post(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        data = validated(ScopeSerializer, request.data)
        cancelled = services.series_cancel(actor=request.user, session=session, **data)
        return Response(selectors.session_payloads(cancelled, user=request.user))


# -- attendance -------------------------------------------------------------------------------
class AttendanceView(APIView):
    @extend_schema(responses={200: AttendanceSheetSerializer})
    def get(self, request: Request, pk: int) -> Response:
        session = _managed(request, pk)
        return Response(selectors.attendance_payload(session=session))

    @extend_schema(request=AttendanceMarkSerializer, responses={200: SessionObject})
    def post(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        data = validated(AttendanceMarkSerializer, request.data)
        registration = _registration(session, data["registration"])
        registration = services.attendance_mark(
            actor=request.user,
            registration=registration,
            attendance=data["attendance"],
            marked_at=data.get("marked_at"),
        )
        return Response(selectors.attendance_row(registration))


class AttendanceCsvView(APIView):
    """The sign-in sheet as CSV; ``?only=no-shows`` lists the absent and unmarked."""

    @extend_schema(responses={(200, "text/csv"): str})
    def get(self, request: Request, pk: int) -> HttpResponse:
        session = _managed(request, pk)
        only = request.query_params.get("only", "")
        if only not in ("", "no-shows"):
            raise serializers.ValidationError({"only": "Use only=no-shows or nothing."})
        no_shows = only == "no-shows"
        response = HttpResponse(
            reports.attendance_csv(session=session, no_shows=no_shows),
            content_type="text/csv; charset=utf-8",
        )
        filename = reports.csv_filename(session, no_shows)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


# -- rooms, assets, bookings, conflicts ---------------------------------------------------------
def conflict_response(exc: services.BookingConflict) -> Response:
    """409: what is taken, so the client can choose another or override with a reason."""
    return Response(
        {
            "error": {
                "code": "conflict",
                "message": "A room, an asset or a trainer is taken at that time.",
                "details": exc.message_dict,
            }
        },
        status=409,
    )


def _scheduled_space(request: Request) -> Space:
    """``?space=<id>`` (or ``space`` in the body): a space the user schedules in; 404 else."""
    body = request.data if isinstance(request.data, dict) else {}
    space_id = query_id(request, "space") or parse_id(str(body.get("space", "")))
    space = Space.objects.filter(pk=space_id).first() if space_id else None
    if space is None or not selectors.can_schedule_in(user=request.user, space=space):
        raise Http404
    return space


class RoomSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    site = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    capacity = serializers.IntegerField(min_value=1, max_value=100_000)
    equipment = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class AssetSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )


class RoomListView(APIView):
    @extend_schema(responses={200: SessionObject(many=True)})
    def get(self, request: Request) -> Response:
        """The rooms of a space (``?space=<id>``; its coordinators)."""
        space = _scheduled_space(request)
        return Response([selectors.room_payload(r) for r in selectors.rooms_of(space=space)])

    @extend_schema(request=RoomSerializer, responses={201: SessionObject})
    def post(self, request: Request) -> Response:
        space = _scheduled_space(request)
        data = validated(RoomSerializer, request.data)
        room = services.room_create(actor=request.user, space=space, **data)
        return Response(selectors.room_payload(room), status=201)


class AssetListView(APIView):
    @extend_schema(responses={200: SessionObject(many=True)})
    def get(self, request: Request) -> Response:
        """The bookable assets of a space (``?space=<id>``; its coordinators)."""
        space = _scheduled_space(request)
        return Response([selectors.asset_payload(a) for a in selectors.assets_of(space=space)])

    @extend_schema(request=AssetSerializer, responses={201: SessionObject})
    def post(self, request: Request) -> Response:
        space = _scheduled_space(request)
        data = validated(AssetSerializer, request.data)
        asset = services.asset_create(actor=request.user, space=space, **data)
        return Response(selectors.asset_payload(asset), status=201)


class BookSerializer(serializers.Serializer):
    part = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    room = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    assets = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list, max_length=50
    )
    override_reason = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        help_text="Given: a conflict is accepted (recorded with who accepted it).",
    )


class BookView(APIView):
    @extend_schema(request=BookSerializer, responses={200: SessionObject(many=True)})
    def post(self, request: Request, pk: int) -> Response:
        """Hold a room, assets and the trainers for the session's dates or one part; 409
        ``conflict`` when something is taken (unless ``override_reason``)."""
        session = _managed(request, pk)
        data = validated(BookSerializer, request.data)
        part = None
        if data.get("part"):
            part = session.parts.filter(pk=data["part"]).first()
            if part is None:
                raise Http404
        room = None
        if data.get("room"):
            room = selectors.rooms_of(space=session.space).filter(pk=data["room"]).first()
            if room is None:
                raise Http404
        assets = list(selectors.assets_of(space=session.space).filter(pk__in=data["assets"]))
        if len(assets) != len(set(data["assets"])):
            raise Http404
        try:
            rows = services.occurrence_book(
                actor=request.user,
                session=session,
                part=part,
                room=room,
                assets=assets,
                override_reason=data["override_reason"],
            )
        except services.BookingConflict as exc:
            return conflict_response(exc)
        return Response([selectors.booking_payload(b) for b in rows])


class TimeOffSerializer(serializers.Serializer):
    space = serializers.IntegerField(min_value=1)
    trainer = serializers.IntegerField(required=False, min_value=1)
    starts_at = DateTimeInRangeField()
    ends_at = DateTimeInRangeField()
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default=""
    )


class TimeOffView(APIView):
    @extend_schema(request=TimeOffSerializer, responses={201: SessionObject})
    def post(self, request: Request) -> Response:
        """A trainer's time off (their own; a coordinator of the space for anyone)."""
        data = validated(TimeOffSerializer, request.data)
        space = Space.objects.filter(pk=data["space"]).first()
        if space is None:
            raise Http404
        trainer = request.user
        if data.get("trainer") and data["trainer"] != request.user.pk:
            trainer = User.objects.filter(pk=data["trainer"]).first()
            if trainer is None:
                raise Http404
        try:
            row = services.time_off_add(
                actor=request.user,
                trainer=trainer,
                space=space,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                note=data["note"],
                override_reason=data["override_reason"],
            )
        except services.BookingConflict as exc:
            return conflict_response(exc)
        return Response(selectors.booking_payload(row), status=201)


class ConflictListView(APIView):
    @extend_schema(responses={200: SessionObject(many=True)})
    def get(self, request: Request) -> Response:
        """Upcoming conflicts of a space (``?space=<id>``): bookings accepted over a
        conflict with their reason, and learners booked twice."""
        space = _scheduled_space(request)
        return Response(selectors.space_conflicts(space_ids=[space.pk]))


# -- self check-in ------------------------------------------------------------------------------
class CheckInSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=16, help_text="The code the trainer shows.")


def checkin_url(session: Session, code: str) -> str:
    """What the QR code holds: the check-in page with the code filled in."""
    from django.conf import settings
    from django.urls import reverse

    return f"{settings.SITE_URL}{reverse('session-checkin', args=[session.pk])}?code={code}"


class CheckInView(APIView):
    @extend_schema(request=CheckInSerializer, responses={200: SessionObject})
    def post(self, request: Request, pk: int) -> Response:
        """Check oneself in with the code of one of the session's dates (a confirmed seat,
        from 15 minutes before that date's start to its end)."""
        session = _session(request, pk)
        data = validated(CheckInSerializer, request.data)
        check_in = services.checkin(actor=request.user, session=session, code=data["code"])
        check_in.registration.refresh_from_db(fields=["attendance"])
        return Response(
            {
                "part": check_in.part_id,
                "checked_in_at": check_in.checked_in_at,
                "attendance": check_in.registration.attendance,
            }
        )


class CheckInCodesView(APIView):
    @extend_schema(responses={200: SessionObject(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        """The check-in code of each date, for the session's trainers and coordinators."""
        session = _managed(request, pk)
        return Response(
            [
                {
                    "part": part.pk if part else None,
                    "starts_at": starts_at,
                    "ends_at": ends_at,
                    "code": code,
                    "url": checkin_url(session, code),
                }
                for part, starts_at, ends_at, code in selectors.checkin_occurrences(session=session)
            ]
        )


# -- feedback surveys -----------------------------------------------------------------------------
class SurveyQuestionSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["rating", "text"])
    label = serializers.CharField(max_length=300)


class SurveyTemplateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    questions = SurveyQuestionSerializer(many=True, max_length=20, min_length=1)
    anonymous = serializers.BooleanField(default=False)
    is_default = serializers.BooleanField(default=False)


def survey_template_payload(template: Any) -> dict[str, Any]:
    return {
        "id": template.pk,
        "space": template.space_id,
        "title": template.title,
        "questions": template.questions,
        "anonymous": template.anonymous,
        "is_default": template.is_default,
    }


class SurveyTemplateListView(APIView):
    @extend_schema(responses={200: SessionObject(many=True)})
    def get(self, request: Request) -> Response:
        """The feedback surveys of a space (``?space=<id>``; its coordinators)."""
        space = _scheduled_space(request)
        return Response(
            [survey_template_payload(t) for t in space.survey_templates.order_by("title", "id")]
        )

    @extend_schema(request=SurveyTemplateSerializer, responses={201: SessionObject})
    def post(self, request: Request) -> Response:
        space = _scheduled_space(request)
        data = validated(SurveyTemplateSerializer, request.data)
        template = services.survey_template_create(actor=request.user, space=space, **data)
        return Response(survey_template_payload(template), status=201)


class SessionSurveySerializer(serializers.Serializer):
    template = serializers.IntegerField(allow_null=True, min_value=1)


class SessionSurveyView(APIView):
    @extend_schema(request=SessionSurveySerializer, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        """Choose the session's survey (null: the space's default)."""
        session = _managed(request, pk)
        data = validated(SessionSurveySerializer, request.data)
        template = None
        if data["template"]:
            template = session.space.survey_templates.filter(pk=data["template"]).first()
            if template is None:
                raise Http404
        services.session_set_survey(actor=request.user, session=session, template=template)
        return Response(status=204)


class FeedbackSerializer(serializers.Serializer):
    # Keyed by question id ("q1"...); keys that are not the survey's are ignored.
    answers = serializers.DictField(child=serializers.CharField(max_length=2000, allow_blank=True))


class FeedbackView(APIView):
    @extend_schema(request=FeedbackSerializer, responses={201: None})
    def post(self, request: Request, pk: int) -> Response:
        """Answer the session's survey (attendees of a completed session, once)."""
        session = _session(request, pk)
        data = validated(FeedbackSerializer, request.data)
        services.survey_answer(actor=request.user, session=session, answers=data["answers"])
        return Response(status=201)


class FeedbackResultsView(APIView):
    @extend_schema(responses={200: SessionObject})
    def get(self, request: Request, pk: int) -> Response:
        """The survey's results (its trainers and coordinators)."""
        session = _managed(request, pk)
        return Response(selectors.survey_results(sessions=[session]))


class TrainerFeedbackView(APIView):
    @extend_schema(responses={200: SessionObject})
    def get(self, request: Request, user_id: int) -> Response:
        """Survey results over every session a trainer taught (themself, coordinators)."""
        trainer = User.objects.filter(pk=user_id).first()
        if trainer is None or not selectors.can_see_trainer_feedback(
            user=request.user, trainer=trainer
        ):
            raise Http404
        return Response(selectors.survey_results(sessions=Session.objects.filter(trainers=trainer)))


# -- manager seat reservations ------------------------------------------------------------------
def seat_conflict_response(exc: services.SeatConflict) -> Response:
    """409: not enough free seats (or the slot was taken): nothing changed."""
    return Response(
        {
            "error": {
                "code": "conflict",
                "message": " ".join(exc.messages),
                "details": exc.message_dict,
            }
        },
        status=409,
    )


class ReserveSerializer(serializers.Serializer):
    seats = serializers.IntegerField(min_value=1, max_value=services.MAX_RESERVATION)
    deadline = DateTimeInRangeField(help_text="Name people by then; at the latest the start.")


class NameSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))


def _reservation(request: Request, rid: int) -> Any:
    """The reservation, for its manager and those who manage its session (404 else)."""
    from sessions.models import SeatReservation

    reservation = (
        SeatReservation.objects.select_related("session", "manager").filter(pk=rid).first()
    )
    if reservation is None or not (
        reservation.manager_id == request.user.pk
        or selectors.can_manage_session(user=request.user, session=reservation.session)
    ):
        raise Http404
    return reservation


class ReservationListView(APIView):
    @extend_schema(responses={200: SessionObject(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        """The session's reservations: all for those who manage it, one's own for a manager."""
        session = _session(request, pk)
        rows = selectors.reservations_payload(session=session)
        if not selectors.can_manage_session(user=request.user, session=session):
            rows = [r for r in rows if r["manager"]["id"] == request.user.pk]
        return Response(rows)

    @extend_schema(request=ReserveSerializer, responses={201: SessionObject, 409: None})
    def post(self, request: Request, pk: int) -> Response:
        """Reserve seats for one's team (managers); 409 ``conflict`` when fewer are free."""
        session = _session(request, pk)
        data = validated(ReserveSerializer, request.data)
        try:
            reservation = services.reservation_reserve(
                actor=request.user, session=session, seats=data["seats"], deadline=data["deadline"]
            )
        except services.SeatConflict as exc:
            return seat_conflict_response(exc)
        return Response(selectors.reservation_payload(reservation), status=201)


class ReservationNameView(APIView):
    @extend_schema(request=NameSerializer, responses={201: RegistrationResultSerializer})
    def post(self, request: Request, rid: int) -> Response:
        """Name a report to one of the reserved seats: a confirmed registration."""
        reservation = _reservation(request, rid)
        data = validated(NameSerializer, request.data)
        registration = services.reservation_name(
            actor=request.user, reservation=reservation, user=data["user"]
        )
        return Response(selectors.registration_result(registration), status=201)


class ReservationReleaseView(APIView):
    @extend_schema(request=None, responses={200: SessionObject})
    def post(self, request: Request, rid: int) -> Response:
        """Give the seats not named back now (they promote the waiting list)."""
        reservation = services.reservation_release(
            actor=request.user, reservation=_reservation(request, rid)
        )
        return Response(selectors.reservation_payload(reservation))


# -- one-to-one coaching slots ------------------------------------------------------------------
class SlotPublishSerializer(serializers.Serializer):
    space = serializers.IntegerField(min_value=1)
    starts_at = DateTimeInRangeField()
    ends_at = DateTimeInRangeField()
    slot_minutes = serializers.IntegerField(min_value=15, max_value=240)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    location = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class CoachingSlotListView(APIView):
    @extend_schema(responses={200: SessionObject(many=True)})
    def get(self, request: Request) -> Response:
        """Upcoming slots one may book (``taken``, ``mine``); ``?mine=1``: the slots one
        coaches, with who booked each."""
        if request.query_params.get("mine") == "1":
            return Response(selectors.slots_published_by(user=request.user))
        return Response(selectors.coaching_slots(user=request.user))

    @extend_schema(request=SlotPublishSerializer, responses={201: SessionObject(many=True)})
    def post(self, request: Request) -> Response:
        """Publish back-to-back slots (trainers, managers); 409 over the coach's bookings."""
        data = validated(SlotPublishSerializer, request.data)
        space = Space.objects.filter(pk=data.pop("space")).first()
        if space is None:
            raise Http404
        try:
            created = services.coaching_slots_publish(actor=request.user, space=space, **data)
        except services.BookingConflict as exc:
            return conflict_response(exc)
        return Response(selectors.session_payloads(created, user=request.user), status=201)


class CoachingBookView(APIView):
    @extend_schema(request=None, responses={201: RegistrationResultSerializer, 409: None})
    def post(self, request: Request, pk: int) -> Response:
        """Book a coaching slot; 409 ``conflict`` if someone booked it first."""
        session = _session(request, pk)
        try:
            registration = services.coaching_book(actor=request.user, session=session)
        except services.SeatConflict as exc:
            return seat_conflict_response(exc)
        return Response(selectors.registration_result(registration), status=201)


class CoachingCancelView(APIView):
    @extend_schema(request=None, responses={200: RegistrationResultSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Cancel a booked slot (the learner, the coach): it is free again."""
        session = _session(request, pk)
        registration = services.coaching_cancel(actor=request.user, session=session)
        return Response(selectors.registration_result(registration))


# -- facilitators' weekly availability -----------------------------------------------------------
class AvailabilityWindowSerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday")
    starts = serializers.TimeField()
    ends = serializers.TimeField()


class AvailabilitySerializer(serializers.Serializer):
    time_zone = serializers.CharField(max_length=64)
    windows = AvailabilityWindowSerializer(many=True, max_length=services.MAX_WINDOWS)


def _trainer(request: Request) -> Any:
    trainer_id = query_id(request, "trainer")
    if trainer_id is None or trainer_id == request.user.pk:
        return request.user
    trainer = User.objects.filter(pk=trainer_id).first()
    if trainer is None or not selectors.can_see_trainer_feedback(
        user=request.user, trainer=trainer
    ):
        raise Http404
    return trainer


class AvailabilityView(APIView):
    @extend_schema(responses={200: SessionObject})
    def get(self, request: Request) -> Response:
        """A trainer's working week (``?trainer=<id>``; default oneself)."""
        trainer = _trainer(request)
        windows = [
            selectors.availability_payload(w) for w in selectors.availability_of(trainer=trainer)
        ]
        return Response({"trainer": trainer.pk, "windows": windows})

    @extend_schema(request=AvailabilitySerializer, responses={200: SessionObject})
    def put(self, request: Request) -> Response:
        """Replace the working week (oneself; coordinators of a shared space for a trainer);
        an empty list: no hours given, any time is fine."""
        trainer = _trainer(request)
        data = validated(AvailabilitySerializer, request.data)
        rows = services.availability_set(
            actor=request.user,
            trainer=trainer,
            windows=data["windows"],
            time_zone=data["time_zone"],
        )
        return Response(
            {"trainer": trainer.pk, "windows": [selectors.availability_payload(w) for w in rows]}
        )
