"""REST: tokens for scripts and apps, and who am I."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.accounts import lockout
from hub.accounts.selectors import user_payload
from hub.api import AddressRateThrottle, RateLimited, validated
from hub.outages import ServiceUnavailable


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    # Issue 16: asked of people who have a second factor (a code from their app or a
    # recovery code); without it a password alone gets no token.
    code = serializers.CharField(max_length=20, required=False, allow_blank=True)


class AuthRateThrottle(AddressRateThrottle):
    scope = "auth"


class CurrentUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    spaces = serializers.ListField(child=serializers.DictField())


class TokenView(APIView):
    """Exchange a username and password for an API token (``Authorization: Token <key>``)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [AuthRateThrottle]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("Token", {"token": serializers.CharField()})},
    )
    def post(self, request: Request) -> Response:
        data = validated(TokenRequestSerializer, request.data)
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None and isinstance(lockout.refusal(request), lockout.Unavailable):
            raise ServiceUnavailable
        if user is None and (locked := lockout.refusal(request)) is not None:
            refused = RateLimited(detail=locked.message)
            refused.wait = locked.retry_after  # Retry-After
            raise refused
        if user is None or not user.is_active:
            return Response(
                {
                    "error": {
                        "code": "invalid_credentials",
                        "message": "Wrong username or password.",
                    }
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        from hub.accounts import mfa

        if mfa.has_second_factor(user=user):
            code = data.get("code") or ""
            if not code or not mfa.second_factor_verify(user=user, code=code, request=request):
                if code:
                    lockout.record_failure(request, user.username)
                return Response(
                    {
                        "error": {
                            "code": "second_factor_required",
                            "message": "Send the code from your authenticator app as `code`.",
                        }
                    },
                    status=status.HTTP_400_BAD_REQUEST,
                )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    @extend_schema(responses=CurrentUserSerializer)
    def get(self, request: Request) -> Response:
        return Response(user_payload(request.user))
