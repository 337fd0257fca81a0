"""REST endpoints of sessions (mounted under /api/v1/): thin, over services/selectors."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from classrooms.models import Activity, Course
from hub.accounts.models import Space, User
from hub.api import validated
from sessions import selectors, services
from sessions.models import Approval, Registration, Session, SessionKind

KIND_HELP = " | ".join(SessionKind.values)


# -- serializers (validation; REST, pages and the gateway share them) --------------------------
class SessionWriteSerializer(serializers.Serializer):
    # A plain string in the schema ("kind" enums of other apps would collide); the service
    # checks it is one of SessionKind.
    kind = serializers.CharField(max_length=20, required=False, help_text=KIND_HELP)
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False)
    time_zone = serializers.CharField(max_length=64, required=False)
    location = serializers.CharField(max_length=255, required=False, allow_blank=True)
    join_url = serializers.URLField(required=False, allow_blank=True)
    # Negative capacities reach the service, which says why they are refused.
    capacity = serializers.IntegerField(required=False)
    registration_opens_at = serializers.DateTimeField(required=False, allow_null=True)
    registration_closes_at = serializers.DateTimeField(required=False, allow_null=True)
    approval = serializers.ChoiceField(choices=Approval.choices, required=False)
    cancellation_deadline = serializers.DateTimeField(required=False, allow_null=True)
    course = serializers.PrimaryKeyRelatedField(
        queryset=Course.objects.all(), required=False, allow_null=True
    )
    activity = serializers.PrimaryKeyRelatedField(
        queryset=Activity.objects.all(), required=False, allow_null=True
    )
    trainers = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), many=True, required=False
    )


class SessionCreateSerializer(SessionWriteSerializer):
    space = serializers.PrimaryKeyRelatedField(queryset=Space.objects.all())
    kind = serializers.CharField(max_length=20, help_text=KIND_HELP)
    title = serializers.CharField(max_length=200)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField()


class RegisterSerializer(serializers.Serializer):
    # Someone else: a manager registers a report, a coordinator anyone of the space.
    user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.all(), required=False, allow_null=True
    )


class CancelSerializer(serializers.Serializer):
    # Someone else's registration (their manager, a coordinator); default: one's own.
    registration = serializers.IntegerField(required=False, allow_null=True)


class RegistrationResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["confirmed", "waitlisted", "pending", "cancelled"])
    position = serializers.IntegerField(allow_null=True)
    registration = serializers.IntegerField()


class WaitlistReorderSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), max_length=2000)


class SessionObject(serializers.Serializer):
    """Documented by example in the payload functions of ``sessions/selectors.py``."""


def _session(request: Request, pk: int) -> Session:
    session = Session.objects.select_related("space").filter(pk=pk).first()
    if session is None or not selectors.can_view_session(user=request.user, session=session):
        raise Http404
    return session


def _result(registration: Registration) -> dict:
    return {
        "status": registration.status,
        "position": registration.position,
        "registration": registration.pk,
    }


class SessionListView(APIView):
    @extend_schema(responses={200: SessionObject(many=True)})
    def get(self, request: Request) -> Response:
        sessions = selectors.sessions_for(user=request.user).prefetch_related("trainers")
        return Response([selectors.session_payload(s, user=request.user) for s in sessions])

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
        return Response(_result(registration), status=201)


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
        return Response(_result(registration))


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
