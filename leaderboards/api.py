"""REST of the leaderboards: my points, my badges, a board, manual badges, point rules and
badge definitions, a person's badges, Open Badges 2.0 (assertion, BadgeClass, Issuer, image)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.accounts.models import Space, User
from hub.accounts.selectors import default_space, is_space_member, spaces_of
from hub.api import validated
from hub.params import parse_id
from leaderboards import ranks, selectors, services
from leaderboards.models import BadgeAward, BadgeCriterion, BadgeDefinition, Reason

Any_ = inline_serializer("LeaderboardsAny", {"ok": serializers.BooleanField()})


class VisibilitySerializer(serializers.Serializer):
    hidden = serializers.BooleanField()


class ManualBadgeSerializer(serializers.Serializer):
    user = serializers.IntegerField()
    evidence = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AwardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.IntegerField()
    reason = serializers.CharField()
    reason_label = serializers.CharField()
    space = serializers.IntegerField()
    course = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


class MyPointsSerializer(serializers.Serializer):
    space = serializers.IntegerField()
    all = serializers.IntegerField()
    week = serializers.IntegerField()
    month = serializers.IntegerField()
    hidden = serializers.BooleanField()
    awards = AwardSerializer(many=True)


class BadgeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    image = serializers.CharField(help_text="The uploaded image's URL, or empty.")
    image_url = serializers.CharField(help_text="The uploaded image, else a generated SVG.")
    criterion = serializers.CharField()
    threshold = serializers.IntegerField()
    space = serializers.IntegerField()


class BadgeAwardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    badge = BadgeSerializer()
    user = serializers.IntegerField()
    awarded_by = serializers.IntegerField(allow_null=True)
    evidence = serializers.CharField()
    created_at = serializers.DateTimeField()
    assertion = serializers.CharField()


class EntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    score = serializers.IntegerField()
    user = serializers.DictField()


class MeSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True)
    score = serializers.IntegerField()
    hidden = serializers.BooleanField()


class BoardSerializer(serializers.Serializer):
    key = serializers.CharField()
    scope = serializers.CharField()
    id = serializers.IntegerField()
    window = serializers.CharField()
    topic = serializers.CharField()
    top = EntrySerializer(many=True)
    podium = EntrySerializer(many=True)
    me = MeSerializer()
    neighbours = EntrySerializer(many=True)


def _space_id(request: Request) -> int:
    raw = request.query_params.get("space")
    if raw:
        space_id = parse_id(raw)
        if space_id is None:
            raise PermissionDenied("bad space")
        if not is_space_member(user=request.user, space=space_id):
            raise PermissionDenied("not a member of this space")
        return space_id
    space = spaces_of(user=request.user).first() or default_space()
    if space is None:
        raise PermissionDenied("no space")
    return space.pk


class MyPointsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("space", int, required=False)],
        responses=MyPointsSerializer,
    )
    def get(self, request: Request) -> Response:
        space_id = _space_id(request)
        points = selectors.points_of(user=request.user, space_id=space_id)
        awards = selectors.awards_of(user=request.user, space_id=space_id)
        return Response(
            {
                "space": space_id,
                **points,
                "hidden": selectors.is_hidden(user=request.user),
                "awards": [selectors.award_payload(a) for a in awards],
            }
        )


class MyVisibilityView(APIView):
    @extend_schema(request=VisibilitySerializer, responses=VisibilitySerializer)
    def post(self, request: Request) -> Response:
        data = validated(VisibilitySerializer, request.data)
        if data["hidden"]:
            services.ranking_hide(user=request.user)
        else:
            services.ranking_show(user=request.user)
        return Response({"hidden": data["hidden"]})


class MyBadgesView(APIView):
    @extend_schema(responses=BadgeAwardSerializer(many=True))
    def get(self, request: Request) -> Response:
        awards = selectors.badges_of(user=request.user)
        return Response([selectors.badge_award_payload(a) for a in awards])


class BoardView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("n", int, required=False, description="how many at the top"),
            OpenApiParameter("around", int, required=False, description="neighbours each side"),
        ],
        responses=BoardSerializer,
    )
    def get(self, request: Request, key: str) -> Response:
        try:
            ranks.parse_board(key)
        except ValueError:
            raise Http404 from None
        if not selectors.can_view_board(user=request.user, key=key):
            raise PermissionDenied("You may not see this board.")
        n = _bounded(request.query_params.get("n"), 10, 100)
        around = _bounded(request.query_params.get("around"), 2, 10)
        return Response(selectors.board_payload(user=request.user, key=key, n=n, around=around))


def _bounded(raw: Any, default: int, most: int) -> int:
    try:
        return max(0, min(int(raw), most))
    except (TypeError, ValueError):
        return default


class BadgeAwardManualView(APIView):
    @extend_schema(request=ManualBadgeSerializer, responses={201: BadgeAwardSerializer})
    def post(self, request: Request, pk: int) -> Response:
        badge = get_object_or_404(BadgeDefinition, pk=pk)
        data = validated(ManualBadgeSerializer, request.data)
        user = get_object_or_404(User, pk=data["user"])
        award = services.badge_award_manual(
            actor=request.user, user=user, badge=badge, evidence=data["evidence"]
        )
        return Response(selectors.badge_award_payload(award), status=status.HTTP_201_CREATED)


OpenBadgeAssertion = inline_serializer(
    "OpenBadgeAssertion",
    {
        "@context": serializers.CharField(),
        "type": serializers.CharField(default="Assertion"),
        "id": serializers.URLField(),
        "recipient": inline_serializer(
            "OpenBadgeRecipient",
            {
                "type": serializers.CharField(),
                "hashed": serializers.BooleanField(),
                "salt": serializers.CharField(required=False),
                "identity": serializers.CharField(),
            },
        ),
        "badge": serializers.URLField(help_text="Its hosted BadgeClass."),
        "issuedOn": serializers.DateTimeField(),
        "verification": inline_serializer(
            "OpenBadgeVerification", {"type": serializers.CharField(default="hosted")}
        ),
        "evidence": inline_serializer(
            "OpenBadgeEvidence",
            {"type": serializers.CharField(), "narrative": serializers.CharField()},
            required=False,
        ),
    },
)


class BadgeAssertionView(APIView):
    """Public: hosted Open Badges verification fetches this URL without credentials."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: OpenBadgeAssertion})
    def get(self, request: Request, pk: int) -> Response:
        award = get_object_or_404(BadgeAward.objects.select_related("badge__space", "user"), pk=pk)
        base = request.build_absolute_uri("/").rstrip("/")
        return Response(selectors.badge_assertion(award, base_url=base))


# -- point rules of a space -------------------------------------------------------------------
class PointRuleSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Reason.choices)
    label = serializers.CharField()
    amount = serializers.IntegerField()
    default = serializers.IntegerField()
    custom = serializers.BooleanField(help_text="The space overrides the default.")


class PointRuleAmountSerializer(serializers.Serializer):
    amount = serializers.IntegerField(min_value=0, max_value=services.POINT_RULE_MAX)


class PointRuleWriteSerializer(PointRuleAmountSerializer):
    reason = serializers.ChoiceField(choices=Reason.choices)


class PointRulesWriteSerializer(serializers.Serializer):
    rules = PointRuleWriteSerializer(many=True, allow_empty=False, max_length=len(Reason))

    def validate_rules(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        reasons = [r["reason"] for r in rules]
        if len(set(reasons)) != len(reasons):
            raise serializers.ValidationError(_("Each reason once."))
        return rules


def _readable_space(request: Request, space_id: int) -> Space:
    space = get_object_or_404(Space, pk=space_id)
    if not is_space_member(user=request.user, space=space):
        raise PermissionDenied(_("You are not a member of this space."))
    return space


class PointRulesView(APIView):
    """What each reason pays in a space: members read it, its trainers and coordinators
    change it."""

    @extend_schema(responses=PointRuleSerializer(many=True))
    def get(self, request: Request, space_id: int) -> Response:
        space = _readable_space(request, space_id)
        return Response(selectors.point_rules_payload(space_id=space.pk))

    @extend_schema(request=PointRulesWriteSerializer, responses=PointRuleSerializer(many=True))
    def patch(self, request: Request, space_id: int) -> Response:
        space = _readable_space(request, space_id)
        data = validated(PointRulesWriteSerializer, request.data)
        services.point_rules_set(
            actor=request.user,
            space=space,
            amounts={r["reason"]: r["amount"] for r in data["rules"]},
        )
        return Response(selectors.point_rules_payload(space_id=space.pk))


class PointRuleView(APIView):
    """One reason's rule: set it, or delete it to pay the default again."""

    def _reason(self, reason: str) -> str:
        if reason not in Reason.values:
            raise Http404
        return reason

    @extend_schema(request=PointRuleAmountSerializer, responses=PointRuleSerializer)
    def put(self, request: Request, space_id: int, reason: str) -> Response:
        space = _readable_space(request, space_id)
        reason = self._reason(reason)
        data = validated(PointRuleAmountSerializer, request.data)
        services.point_rules_set(actor=request.user, space=space, amounts={reason: data["amount"]})
        return Response(_rule_of(space.pk, reason))

    @extend_schema(request=None, responses=PointRuleSerializer)
    def delete(self, request: Request, space_id: int, reason: str) -> Response:
        space = _readable_space(request, space_id)
        reason = self._reason(reason)
        services.point_rule_reset(actor=request.user, space=space, reason=reason)
        return Response(_rule_of(space.pk, reason))


def _rule_of(space_id: int, reason: str) -> dict[str, Any]:
    return next(
        r for r in selectors.point_rules_payload(space_id=space_id) if r["reason"] == reason
    )


# -- badge definitions ------------------------------------------------------------------------
class BadgeDefinitionSerializer(BadgeSerializer):
    criterion_label = serializers.CharField()
    reason = serializers.CharField(help_text="The reason counted ('events' criterion).")
    course = serializers.IntegerField(allow_null=True, help_text="'course' criterion.")
    criteria_narrative = serializers.CharField()
    holders = serializers.IntegerField()
    badge_class = serializers.CharField(help_text="Its public Open Badges BadgeClass.")


class BadgeWriteSerializer(serializers.Serializer):
    """JSON, or multipart with an ``image`` file (PNG, JPEG, GIF or WebP, at most 1 MB)."""

    name = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    criterion = serializers.ChoiceField(choices=BadgeCriterion.choices, required=False)
    threshold = serializers.IntegerField(
        min_value=1, max_value=services.BADGE_THRESHOLD_MAX, required=False
    )
    reason = serializers.ChoiceField(choices=Reason.choices, required=False, allow_blank=True)
    course = serializers.IntegerField(required=False, allow_null=True)
    image = serializers.ImageField(required=False, allow_null=True)


class BadgeCreateSerializer(BadgeWriteSerializer):
    space = serializers.IntegerField(required=False, help_text="Default: your first space.")


class BadgeUpdateSerializer(BadgeWriteSerializer):
    name = serializers.CharField(max_length=120, required=False)


def _badge_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The serializer's data as the services take it (a course id becomes the course)."""
    fields = {k: v for k, v in data.items() if k != "space"}
    if fields.get("course") is not None:
        course = selectors.course_by_id(fields["course"])
        if course is None:
            raise ValidationError({"course": [_("Unknown course.")]})
        fields["course"] = course
    return fields


class BadgeDefinitionListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("space", int, required=False)],
        responses=BadgeDefinitionSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        space_id = _space_id(request)
        badges = selectors.badge_definitions_of(space_id=space_id)
        return Response([selectors.badge_definition_payload(b) for b in badges])

    @extend_schema(request=BadgeCreateSerializer, responses={201: BadgeDefinitionSerializer})
    def post(self, request: Request) -> Response:
        data = validated(BadgeCreateSerializer, request.data)
        if "space" in data:
            space = get_object_or_404(Space, pk=data["space"])
        else:
            space = Space.objects.get(pk=_space_id(request))
        badge = services.badge_definition_create(
            actor=request.user, space=space, **_badge_fields(data)
        )
        return Response(selectors.badge_definition_payload(badge), status=status.HTTP_201_CREATED)


class BadgeDefinitionDetailView(APIView):
    @extend_schema(responses=BadgeDefinitionSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            selectors.badge_definition_payload(
                selectors.badge_for_reader(user=request.user, badge_id=pk)
            )
        )

    @extend_schema(request=BadgeUpdateSerializer, responses=BadgeDefinitionSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        badge = selectors.badge_for_reader(user=request.user, badge_id=pk)
        data = validated(BadgeUpdateSerializer, request.data)
        badge = services.badge_definition_update(
            actor=request.user, badge=badge, **_badge_fields(data)
        )
        return Response(selectors.badge_definition_payload(badge))

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        services.badge_definition_delete(
            actor=request.user, badge=selectors.badge_for_reader(user=request.user, badge_id=pk)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# -- a person's badges ------------------------------------------------------------------------
class UserBadgesView(APIView):
    """Someone's badges: for themselves, administrators and people sharing a space with
    them (the rule of their badge page)."""

    @extend_schema(responses=BadgeAwardSerializer(many=True))
    def get(self, request: Request, user_id: int) -> Response:
        person = get_object_or_404(User, pk=user_id)
        if not selectors.can_see_badges_of(viewer=request.user, user=person):
            raise PermissionDenied(_("You may not see this person's badges."))
        awards = selectors.badges_of(user=person)
        return Response([selectors.badge_award_payload(a) for a in awards])


# -- Open Badges 2.0 hosted objects -----------------------------------------------------------
OpenBadgeClass = inline_serializer(
    "OpenBadgeClass",
    {
        "@context": serializers.CharField(),
        "type": serializers.CharField(default="BadgeClass"),
        "id": serializers.URLField(),
        "name": serializers.CharField(),
        "description": serializers.CharField(),
        "image": serializers.URLField(),
        "criteria": inline_serializer("OpenBadgeCriteria", {"narrative": serializers.CharField()}),
        "issuer": serializers.URLField(),
    },
)
OpenBadgeIssuer = inline_serializer(
    "OpenBadgeIssuer",
    {
        "@context": serializers.CharField(),
        "type": serializers.CharField(default="Issuer"),
        "id": serializers.URLField(),
        "name": serializers.CharField(),
        "url": serializers.URLField(),
        "image": serializers.URLField(required=False),
    },
)


def _base_url(request: Request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


class _OpenBadgeView(APIView):
    """Public for verifiers once something was issued; before that, members only (the
    session or token is read when present, never required)."""

    permission_classes = [AllowAny]

    def _badge(self, request: Request, pk: int) -> BadgeDefinition:
        badge = get_object_or_404(BadgeDefinition.objects.select_related("space", "course"), pk=pk)
        issued = selectors.is_badge_issued(badge)
        if not selectors.can_fetch_open_badge(
            user=request.user, space_id=badge.space_id, issued=issued
        ):
            raise Http404
        return badge


class BadgeClassView(_OpenBadgeView):
    @extend_schema(responses={200: OpenBadgeClass})
    def get(self, request: Request, pk: int) -> Response:
        badge = self._badge(request, pk)
        return Response(selectors.badge_class(badge, base_url=_base_url(request)))


class BadgeImageView(_OpenBadgeView):
    """The SVG drawn for a badge (the uploaded image, when there is one, is under /media/)."""

    @extend_schema(responses={(200, "image/svg+xml"): OpenApiTypes.STR})
    def get(self, request: Request, pk: int) -> HttpResponse:
        badge = self._badge(request, pk)
        response = HttpResponse(selectors.badge_image_svg(badge), content_type="image/svg+xml")
        # Drawn text only: nothing in it may run, even opened on its own.
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
        response["Cache-Control"] = "public, max-age=3600"
        return response


class IssuerView(_OpenBadgeView):
    @extend_schema(responses={200: OpenBadgeIssuer})
    def get(self, request: Request, pk: int) -> Response:
        space = get_object_or_404(Space, pk=pk)
        if not selectors.can_fetch_open_badge(
            user=request.user, space_id=space.pk, issued=selectors.is_space_issuer(space.pk)
        ):
            raise Http404
        return Response(selectors.issuer_profile(space, base_url=_base_url(request)))
