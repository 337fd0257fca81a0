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

    @extend_schema(request=SessionWriteSerializer, responses={200: SessionObject})
    def patch(self, request: Request, pk: int) -> Response:
        session = _session(request, pk)
        data = validated(SessionWriteSerializer, request.data)
        session = services.session_update(actor=request.user, session=session, **data)
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
        part = services.part_update(actor=request.user, part=part, **data)
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
