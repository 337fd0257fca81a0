"""Lyceum's own xAPI statements resource, for content (cmi5 AUs) that reports to it: it
stores what it receives and forwards it to the space's record stores like the rest.

``POST /api/v1/xapi/statements?space=<id>`` with ``X-Experience-API-Version: 1.0.x``, a
statement or a list (at most 100), authenticated by the learner's token. Each actor must be
the caller (the account ``{"homePage": SITE_URL, "name": "<their id>"}``): nobody reports
for someone else. Answers the list of statement ids, as an LRS does.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_array_type, build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.accounts.selectors import is_space_member
from hub.api import error_json
from hub.params import query_id
from integrations.models import (
    DeliveryStatus,
    StatementSource,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)
from integrations.xapi import statements_store

MAX_STATEMENTS = 100


class StatementSerializer(serializers.Serializer):
    id = serializers.UUIDField(required=False)
    actor = serializers.DictField()
    verb = serializers.DictField()
    object = serializers.DictField()
    result = serializers.DictField(required=False)
    context = serializers.DictField(required=False)
    timestamp = serializers.DateTimeField(required=False)


def _problem(index: int, message: str) -> str:
    return f"statement {index}: {message}"


def clean_statements(data: Any, user: Any) -> list[dict[str, Any]]:
    """Check the shape of each statement and that its actor is ``user``; give ids."""
    from rest_framework.exceptions import ValidationError

    items = data if isinstance(data, list) else [data]
    if not items or len(items) > MAX_STATEMENTS:
        raise ValidationError(_("Send 1 to %(n)d statements.") % {"n": MAX_STATEMENTS})
    out = []
    me = {"homePage": settings.SITE_URL, "name": str(user.pk)}
    for i, item in enumerate(items):
        serializer = StatementSerializer(data=item)
        if not isinstance(item, dict) or not serializer.is_valid():
            raise ValidationError(_problem(i, _("not an xAPI statement")))
        verb_id = item["verb"].get("id")
        object_id = item["object"].get("id")
        if not isinstance(verb_id, str) or not verb_id.startswith(("http://", "https://")):
            raise ValidationError(_problem(i, _("verb.id must be an IRI")))
        if not isinstance(object_id, str) or not object_id:
            raise ValidationError(_problem(i, _("object.id is missing")))
        if item["actor"].get("account") != me:
            raise PermissionDenied(_problem(i, _("the actor must be you")))
        statement = dict(item)
        statement["id"] = str(item.get("id") or uuid.uuid4())
        out.append(statement)
    return out


class StatementsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("space", int, required=True)],
        request=StatementSerializer(many=True),
        responses={200: build_array_type(build_basic_type(OpenApiTypes.UUID))},
    )
    def post(self, request: Request) -> Response:
        version = request.headers.get("X-Experience-API-Version", "")
        if not version.startswith("1.0"):
            return error_json(400, _("Send the X-Experience-API-Version header (1.0.x)."))
        space_id = query_id(request, "space", required=True)
        if not is_space_member(user=request.user, space=space_id):
            raise PermissionDenied(_("You are not a member of this space."))
        statements = clean_statements(request.data, request.user)
        statements_store(
            statements=statements,
            space_id=space_id,
            user_id=request.user.pk,
            source=StatementSource.CONTENT,
        )
        return Response([s["id"] for s in statements])


# -- packages (SCORM 1.2, SCORM 2004, cmi5): the player page's REST API ---------------------
class PackageLaunchSerializer(serializers.Serializer):
    attempt = serializers.IntegerField()
    number = serializers.IntegerField()
    resumed = serializers.BooleanField()
    kind = serializers.CharField()
    session = serializers.IntegerField(help_text="This launch's session of the attempt.")
    cmi = serializers.DictField(child=serializers.CharField(allow_blank=True))
    content_url = serializers.CharField()
    commit_url = serializers.CharField()


class PackageAttemptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    unit = serializers.IntegerField(source="unit_id")
    location = serializers.CharField()
    suspend_data = serializers.CharField()
    completion_status = serializers.CharField()
    success_status = serializers.CharField()
    lesson_status = serializers.CharField()
    score_raw = serializers.FloatField(allow_null=True)
    score_scaled = serializers.FloatField(allow_null=True)
    total_seconds = serializers.FloatField()
    commits = serializers.IntegerField()
    finished_at = serializers.DateTimeField(allow_null=True)


class PackageCommitSerializer(serializers.Serializer):
    cmi = serializers.DictField(
        help_text="Flattened CMI elements (``cmi.core.lesson_status`` -> text), "
        "as scorm-again commits them."
    )


COMMIT_SESSION = OpenApiParameter(
    "session",
    int,
    description="The launch (session) the commit comes from, as the launch's commit_url "
    "says; a commit from a session a newer launch replaced is refused (409). Omitted: not "
    "checked.",
    required=False,
)


class PackageLaunchView(APIView):
    """Start or resume the caller's attempt at a SCO/AU (see integrations/scorm.py)."""

    @extend_schema(request=None, responses={200: PackageLaunchSerializer})
    def post(self, request: Request, pk: int) -> Response:
        from django.shortcuts import get_object_or_404

        from integrations import scorm
        from integrations.models import PackageUnit

        unit = get_object_or_404(
            PackageUnit.objects.select_related("package__activity__course"), pk=pk
        )
        # One transaction: the attempt's row stays locked until the launch's seed and
        # session are stored, so a commit arriving meanwhile waits and then sees them.
        with transaction.atomic():
            attempt, resumed = scorm.attempt_launch(user=request.user, unit=unit)
            payload = scorm.launch_payload(request, attempt, resumed=resumed)
        return Response(payload)


class PackageAttemptView(APIView):
    """The caller's attempt: what was stored (GET), or a commit of the runtime (POST/PUT).

    A commit with an unknown element, a value of the wrong type, too long or out of range
    is refused whole (400) and nothing is stored; someone else's attempt is 404."""

    @extend_schema(responses={200: PackageAttemptSerializer})
    def get(self, request: Request, pk: int) -> Response:
        from integrations import scorm

        return Response(PackageAttemptSerializer(scorm.attempt_of(user=request.user, pk=pk)).data)

    @extend_schema(
        request=PackageCommitSerializer,
        parameters=[COMMIT_SESSION],
        responses={200: PackageAttemptSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        from django.core.exceptions import ValidationError as DjangoValidationError

        from integrations import scorm

        data = request.data if isinstance(request.data, dict) else {}
        if "cmi" not in data:
            raise DjangoValidationError(_('Send the CMI data as {"cmi": {...}}.'))
        raw_session = request.query_params.get("session")
        if raw_session is not None and not raw_session.isdigit():
            raise DjangoValidationError(_("session must be a launch number."))
        attempt = scorm.attempt_commit(
            user=request.user,
            attempt_id=pk,
            data=data["cmi"],
            session=int(raw_session) if raw_session is not None else None,
        )
        body = dict(PackageAttemptSerializer(attempt).data)
        # What scorm-again reads from a commit's answer.
        body.update({"result": True, "errorCode": 0})
        return Response(body)

    @extend_schema(
        request=PackageCommitSerializer,
        parameters=[COMMIT_SESSION],
        responses={200: PackageAttemptSerializer},
    )
    def put(self, request: Request, pk: int) -> Response:
        return self.post(request, pk)


# -- cmi5: the fetch URL and the xAPI resources an AU uses (integrations/cmi5.py) -------------
class Cmi5TokenAuthentication:
    """``Authorization: Basic <token>``, the token the AU fetched (cmi5 §8.2): the request's
    user is the attempt's learner, ``request.auth`` the attempt. No session, no cookie."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        from rest_framework.exceptions import AuthenticationFailed

        from integrations import cmi5

        header = request.headers.get("Authorization", "")
        if not header:
            return None
        attempt = cmi5.attempt_for_authorization(header)
        if attempt is None:
            raise AuthenticationFailed(_("This token is not valid (any more)."))
        return attempt.user, attempt

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="cmi5"'


class Cmi5TokenScheme(OpenApiAuthenticationExtension):
    """The cmi5 token in the OpenAPI schema: HTTP Basic carrying the fetched token."""

    target_class = "integrations.api.Cmi5TokenAuthentication"
    name = "cmi5Token"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "cmi5: the auth-token from the launch's fetch URL (Basic <token>).",
        }


class Cmi5Launched(BasePermission):
    """A cmi5 token, except for the CORS preflight (which carries no credentials)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        from integrations.models import PackageAttempt

        return request.method == "OPTIONS" or isinstance(request.auth, PackageAttempt)


class Cmi5Cors(APIView):
    """CORS for the AU's frame only: it runs in an opaque origin (``Origin: null``) and
    sends the token, never cookies, so only ``null`` is allowed and no credentials."""

    authentication_classes = [Cmi5TokenAuthentication]
    permission_classes = [Cmi5Launched]
    needs_version = True

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        version = request.headers.get("X-Experience-API-Version", "")
        if self.needs_version and request.method != "OPTIONS" and not version.startswith("1.0"):
            from rest_framework.exceptions import ValidationError

            raise ValidationError(_("Send the X-Experience-API-Version header (1.0.x)."))

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.headers.get("Origin") == "null":
            response["Access-Control-Allow-Origin"] = "null"
            response["Access-Control-Allow-Methods"] = "GET, POST, PUT, OPTIONS"
            response["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, X-Experience-API-Version"
            )
            response["Access-Control-Expose-Headers"] = "X-Experience-API-Version"
            response["Access-Control-Max-Age"] = "600"
        response["Vary"] = "Origin"
        response["X-Experience-API-Version"] = "1.0.3"
        return response

    @extend_schema(exclude=True)
    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(status=204)


class Cmi5FetchView(Cmi5Cors):
    """The launch's one-time fetch URL (cmi5 §8.2.3): POST answers ``{"auth-token"}`` once;
    a second POST, or an unknown URL, answers cmi5's error JSON with a 400."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    needs_version = False

    @extend_schema(
        request=None,
        responses={200: inline_serializer("Cmi5Fetch", {"auth-token": serializers.CharField()})},
    )
    def post(self, request: Request, secret: str) -> Response:
        from integrations import cmi5

        try:
            token = cmi5.token_fetch(secret=secret)
        except cmi5.FetchError as error:
            return Response({"error-code": error.code, "error-text": error.text}, status=400)
        return Response({"auth-token": token})


class Cmi5RootView(Cmi5Cors):
    """The xAPI base URL handed to the AU (``endpoint``): nothing lives at the root."""

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response({"version": ["1.0.3"]})


class Cmi5StatementsView(Cmi5Cors):
    """The AU's statements: POST one or a list, PUT one with ``?statementId``. The actor
    must be the learner, the registration the launch's; checked whole, else 4xx and nothing
    stored. Stored and forwarded to the space's record stores."""

    @extend_schema(
        request=StatementSerializer(many=True),
        responses={200: build_array_type(build_basic_type(OpenApiTypes.UUID))},
    )
    def post(self, request: Request) -> Response:
        from integrations import cmi5

        return Response(cmi5.statements_receive(attempt=request.auth, data=request.data))

    @extend_schema(
        parameters=[OpenApiParameter("statementId", str, required=True)],
        request=StatementSerializer,
        responses={204: None},
    )
    def put(self, request: Request) -> Response:
        from integrations import cmi5

        statement_id = request.query_params.get("statementId", "")
        if not statement_id:
            return Response(
                {"error": {"code": "invalid", "message": _("Send statementId.")}}, status=400
            )
        cmi5.statements_receive(attempt=request.auth, data=request.data, statement_id=statement_id)
        return Response(status=204)


def _return_url(request: Request, attempt: Any) -> str:
    from django.urls import reverse

    path = reverse("package-player", args=[attempt.unit.package.activity_id])
    return request.build_absolute_uri(f"{path}?unit={attempt.unit_id}")


class Cmi5StateView(Cmi5Cors):
    """The State resource for the launch's AU, learner and registration: ``LMS.LaunchData``
    (read only) and the AU's own documents."""

    @extend_schema(
        parameters=[
            OpenApiParameter(name, str, required=True)
            for name in ("stateId", "activityId", "agent", "registration")
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        from integrations import cmi5

        document = cmi5.state_get(
            attempt=request.auth,
            params=request.query_params,
            return_url=_return_url(request, request.auth),
        )
        if document is None:
            return Response({"error": {"code": "not_found", "message": _("No such state.")}},
                            status=404)  # fmt: skip
        return Response(document)

    @extend_schema(
        parameters=[
            OpenApiParameter(name, str, required=True)
            for name in ("stateId", "activityId", "agent", "registration")
        ],
        request=OpenApiTypes.OBJECT,
        responses={204: None},
    )
    def put(self, request: Request) -> Response:
        from integrations import cmi5

        cmi5.state_put(attempt=request.auth, params=request.query_params, body=request.body)
        return Response(status=204)


class Cmi5AgentProfileView(Cmi5Cors):
    """The learner's ``cmi5LearnerPreferences`` profile (language, audio)."""

    @extend_schema(
        parameters=[OpenApiParameter("agent", str, required=True),
                    OpenApiParameter("profileId", str, required=True)],
        responses={200: OpenApiTypes.OBJECT},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        from integrations import cmi5

        document = cmi5.profile_get(attempt=request.auth, params=request.query_params)
        if document is None:
            return Response({"error": {"code": "not_found", "message": _("No such profile.")}},
                            status=404)  # fmt: skip
        return Response(document)


# -- outbound webhook subscriptions (administrators and the space's coordinators) -----------
class WebhookTrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    duration_ms = serializers.IntegerField()


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subscription = serializers.IntegerField(source="endpoint_id")
    message_id = serializers.CharField(help_text="The `webhook-id` header (kept by a replay).")
    event_type = serializers.CharField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    replay_of = serializers.IntegerField(source="replay_of_id", allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    payload = serializers.JSONField()
    tries = WebhookTrySerializer(many=True)


class WebhookSubscriptionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    space = serializers.IntegerField(source="space_id", read_only=True)
    url = serializers.CharField(max_length=500)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        allow_empty=False,
        max_length=len(WebhookEventType.choices),
    )
    is_active = serializers.BooleanField(required=False)
    failure_streak = serializers.IntegerField(read_only=True)
    disabled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    disabled_reason = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class WebhookSubscriptionWithSecretSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (`whsec_...`): shown only in this answer, keep it.",
    )


def _may_manage_some_space(user: Any) -> None:
    """Learners and trainers are refused (403); a manager asking for another space's ids
    gets a 404, as if they did not exist."""
    from hub.accounts.models import Role

    if not (user.has_role(Role.ADMIN) or user.has_role(Role.COORDINATOR)):
        raise PermissionDenied(_("You may not manage the integrations of this space."))


def _managed_space(user: Any, space_id: int) -> Any:
    from django.http import Http404

    from integrations.selectors import managed_spaces

    _may_manage_some_space(user)
    space = managed_spaces(user=user).filter(pk=space_id).first()
    if space is None:
        raise Http404
    return space


def _managed_endpoint(user: Any, pk: int) -> WebhookEndpoint:
    from django.http import Http404

    from integrations.selectors import managed_spaces

    _may_manage_some_space(user)
    endpoint = (
        WebhookEndpoint.objects.select_related("space")
        .filter(pk=pk, space__in=managed_spaces(user=user))
        .first()
    )
    if endpoint is None:
        raise Http404
    return endpoint


class WebhookSubscriptionsView(APIView):
    """A space's webhook subscriptions: list them, or subscribe an URL to event types."""

    @extend_schema(responses={200: WebhookSubscriptionSerializer(many=True)})
    def get(self, request: Request, space_id: int) -> Response:
        from integrations.selectors import endpoints_of

        space = _managed_space(request.user, space_id)
        return Response(
            WebhookSubscriptionSerializer(endpoints_of(space_id=space.pk), many=True).data
        )

    @extend_schema(
        request=WebhookSubscriptionSerializer,
        responses={201: WebhookSubscriptionWithSecretSerializer},
        description="The answer holds the signing secret: it is not shown again.",
    )
    def post(self, request: Request, space_id: int) -> Response:
        from hub.api import validated
        from integrations import services

        space = _managed_space(request.user, space_id)
        data = validated(WebhookSubscriptionSerializer, request.data)
        with transaction.atomic():
            endpoint = services.endpoint_create(
                actor=request.user,
                space=space,
                url=data["url"],
                event_types=data["event_types"],
                description=data.get("description", ""),
            )
            if data.get("is_active") is False:
                endpoint = services.endpoint_set_active(
                    actor=request.user, endpoint=endpoint, active=False
                )
        return Response(WebhookSubscriptionWithSecretSerializer(endpoint).data, status=201)


class WebhookSubscriptionView(APIView):
    """One subscription: read, change (URL, events, description, active flag), delete."""

    @extend_schema(responses={200: WebhookSubscriptionSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(WebhookSubscriptionSerializer(_managed_endpoint(request.user, pk)).data)

    @extend_schema(
        request=WebhookSubscriptionSerializer(partial=True),
        responses={200: WebhookSubscriptionSerializer},
        description="Fields left out keep their value; `is_active: true` resumes a paused "
        "subscription (and clears its failure count).",
    )
    def patch(self, request: Request, pk: int) -> Response:
        from integrations import services

        endpoint = _managed_endpoint(request.user, pk)
        serializer = WebhookSubscriptionSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        with transaction.atomic():
            if {"url", "event_types", "description"} & data.keys():
                endpoint = services.endpoint_update(
                    actor=request.user,
                    endpoint=endpoint,
                    url=data.get("url", endpoint.url),
                    event_types=data.get("event_types", endpoint.event_types),
                    description=data.get("description", endpoint.description),
                )
            if "is_active" in data and data["is_active"] != endpoint.is_active:
                endpoint = services.endpoint_set_active(
                    actor=request.user, endpoint=endpoint, active=data["is_active"]
                )
        return Response(WebhookSubscriptionSerializer(endpoint).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        from integrations import services

        services.endpoint_delete(actor=request.user, endpoint=_managed_endpoint(request.user, pk))
        return Response(status=204)


class WebhookRotateSecretView(APIView):
    @extend_schema(
        request=None,
        responses={200: WebhookSubscriptionWithSecretSerializer},
        description="A new signing secret replaces the old one at once; the answer is the "
        "only place it is shown.",
    )
    def post(self, request: Request, pk: int) -> Response:
        from integrations import services

        endpoint = services.endpoint_rotate_secret(
            actor=request.user, endpoint=_managed_endpoint(request.user, pk)
        )
        return Response(WebhookSubscriptionWithSecretSerializer(endpoint).data)


class WebhookPingView(APIView):
    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        description="Queue a signed `webhook.test` message to the subscription (whatever "
        "events it listens to); its result appears in the delivery log.",
    )
    def post(self, request: Request, pk: int) -> Response:
        from integrations import services

        delivery = services.endpoint_ping(
            actor=request.user, endpoint=_managed_endpoint(request.user, pk)
        )
        return Response(WebhookDeliverySerializer(delivery).data, status=202)


class WebhookDeliveriesView(ListAPIView):
    """The delivery log of a subscription, newest first, with each HTTP try (paged)."""

    serializer_class = WebhookDeliverySerializer

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        endpoint = _managed_endpoint(self.request.user, self.kwargs["pk"])
        return endpoint.deliveries.prefetch_related("tries").order_by("-pk")


class WebhookReplayView(APIView):
    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        description="Send a finished delivery again: same `webhook-id`, fresh timestamp "
        "and signature.",
    )
    def post(self, request: Request, pk: int) -> Response:
        from django.http import Http404

        from integrations import services
        from integrations.selectors import managed_spaces

        _may_manage_some_space(request.user)
        delivery = (
            WebhookDelivery.objects.select_related("endpoint__space")
            .filter(pk=pk, endpoint__space__in=managed_spaces(user=request.user))
            .first()
        )
        if delivery is None:
            raise Http404
        replay = services.delivery_replay(actor=request.user, delivery=delivery)
        return Response(WebhookDeliverySerializer(replay).data, status=202)
