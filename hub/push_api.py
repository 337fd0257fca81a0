"""REST for Web Push: the installation's public key, a device's subscription, and which
kinds a person wants pushed (hub/webpush.py does the work)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub import notify, webpush
from hub.api import validated


class KeysSerializer(serializers.Serializer):
    p256dh = serializers.CharField(max_length=120)
    auth = serializers.CharField(max_length=60)


class SubscriptionSerializer(serializers.Serializer):
    """What ``PushSubscription.toJSON()`` gives in the browser."""

    endpoint = serializers.URLField(max_length=1000)
    keys = KeysSerializer()


class EndpointSerializer(serializers.Serializer):
    endpoint = serializers.URLField(max_length=1000)


class RenewSerializer(serializers.Serializer):
    old_endpoint = serializers.URLField(max_length=1000)
    old_auth = serializers.CharField(max_length=60)
    subscription = SubscriptionSerializer()


class PushPreferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[])
    push = serializers.BooleanField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = list(notify.KINDS)


PushState = inline_serializer(
    "PushState",
    {
        "public_key": serializers.CharField(),
        "devices": serializers.IntegerField(),
        "kinds": serializers.ListField(child=serializers.DictField()),
    },
)


def _state(user) -> dict:
    choices = webpush.push_choices_for(user=user)
    return {
        "public_key": webpush.public_key(),
        "devices": user.push_subscriptions.count(),
        "kinds": [
            {"kind": k.code, "label": str(k.label), "push": choices[k.code]}
            for k in notify.KINDS.values()
        ],
    }


class PushView(APIView):
    """``GET``: the key to subscribe with, the person's devices count and push choices;
    ``PUT {kind, push}``: push this kind or not."""

    @extend_schema(responses=PushState)
    def get(self, request: Request) -> Response:
        return Response(_state(request.user))

    @extend_schema(request=PushPreferenceSerializer, responses=PushState)
    def put(self, request: Request) -> Response:
        data = validated(PushPreferenceSerializer, request.data)
        webpush.push_preference_set(user=request.user, kind=data["kind"], enabled=data["push"])
        return Response(_state(request.user))


class SubscriptionView(APIView):
    """``POST``: this device wants pushes (the browser's subscription);
    ``DELETE {endpoint}``: it no longer does."""

    @extend_schema(request=SubscriptionSerializer, responses={201: None})
    def post(self, request: Request) -> Response:
        data = validated(SubscriptionSerializer, request.data)
        webpush.subscription_save(
            user=request.user,
            endpoint=data["endpoint"],
            p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"],
            user_agent=request.headers.get("User-Agent", ""),
        )
        return Response({"subscribed": True}, status=status.HTTP_201_CREATED)

    @extend_schema(request=EndpointSerializer, responses={204: None})
    def delete(self, request: Request) -> Response:
        data = validated(EndpointSerializer, request.data)
        webpush.subscription_delete(user=request.user, endpoint=data["endpoint"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class RenewView(APIView):
    """``POST`` from the service worker's ``pushsubscriptionchange``: the old subscription
    (endpoint + auth secret) proves who it is, no session needed (a worker cannot send a
    CSRF token)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=RenewSerializer, responses={201: None})
    def post(self, request: Request) -> Response:
        data = validated(RenewSerializer, request.data)
        new = data["subscription"]
        webpush.subscription_renew(
            old_endpoint=data["old_endpoint"],
            old_auth=data["old_auth"],
            endpoint=new["endpoint"],
            p256dh=new["keys"]["p256dh"],
            auth=new["keys"]["auth"],
        )
        return Response({"subscribed": True}, status=status.HTTP_201_CREATED)
