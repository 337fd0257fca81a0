"""REST endpoints of chat (under /api/v1/) and the serializers the gateway shares."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hub.accounts.models import User
from hub.api import PrimaryKeysField, validated, with_fields
from hub.params import query_id
from messaging import selectors, services
from messaging.models import ChatSettings, Conversation, Message, ThreadFollow

MAX_LENGTH = selectors.limits()["MAX_LENGTH"]
# Message ids are BIGINT: a larger number names no message (and SQLite cannot bind it).
MAX_ID = 2**63 - 1


class MessageSendSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=MAX_LENGTH, allow_blank=True, trim_whitespace=False)
    client_id = serializers.UUIDField(required=False, allow_null=True, default=None)
    reply_to = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=MAX_ID
    )
    attachments = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        default=list,
        max_length=20,
    )
    thread = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_ID,
        help_text="reply in the thread of this message (a thread's reply: its root's thread)",
    )


class ChatThreadReplySerializer(MessageSendSerializer):
    """A reply sent to a thread's own endpoint: the thread is the URL's."""

    thread = None


class ThreadRefSerializer(serializers.Serializer):
    thread = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class ChatThreadReadSerializer(serializers.Serializer):
    last_read_id = serializers.IntegerField(min_value=0, max_value=MAX_ID)


class ThreadReadActionSerializer(ThreadRefSerializer, ChatThreadReadSerializer):
    pass


class ChatThreadFollowSerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=ThreadFollow.State.choices,
        help_text="following: notified and listed; muted: never notified; none: unfollowed",
    )


class ThreadFollowActionSerializer(ThreadRefSerializer, ChatThreadFollowSerializer):
    pass


class ChatThreadStateSerializer(serializers.Serializer):
    """Where the person stands in a thread (``selectors.thread_state_payload``)."""

    conversation = serializers.IntegerField()
    root = serializers.IntegerField()
    state = serializers.ChoiceField(choices=ThreadFollow.State.choices)
    last_read_id = serializers.IntegerField()
    unread = serializers.IntegerField()
    reply_count = serializers.IntegerField()
    last_reply_at = serializers.DateTimeField(allow_null=True)


class ChatThreadListItemSerializer(ChatThreadStateSerializer):
    conversation_title = serializers.CharField()
    root_sender = serializers.CharField()
    excerpt = serializers.CharField()


class ChatThreadListSerializer(serializers.Serializer):
    results = ChatThreadListItemSerializer(many=True)


class ChatThreadSerializer(serializers.Serializer):
    root = serializers.DictField(help_text="the root message (same shape as a message)")
    follow = ChatThreadStateSerializer()
    results = serializers.ListField(child=serializers.DictField(), help_text="replies")
    has_more = serializers.BooleanField()


class MessageRefSerializer(serializers.Serializer):
    message = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class MessageEditSerializer(MessageRefSerializer):
    body = serializers.CharField(max_length=MAX_LENGTH, trim_whitespace=False)


class ReactSerializer(MessageRefSerializer):
    emoji = serializers.CharField(max_length=32)
    add = serializers.BooleanField(default=True)


class ReadSerializer(serializers.Serializer):
    last_read_id = serializers.IntegerField(min_value=0, max_value=MAX_ID)


class TypingSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["start", "stop"])


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["online", "away"])


class ConversationCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["direct", "group"])
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    members = PrimaryKeysField(queryset=User.objects.filter(is_active=True), allow_empty=False)


class MemberSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    action = serializers.ChoiceField(choices=["add", "remove", "suspend", "unsuspend"])


class ReportSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class BlockSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all())
    blocked = serializers.BooleanField(default=True)


class SettingsSerializer(serializers.Serializer):
    read_receipts = serializers.BooleanField(required=False)
    email_digest = serializers.BooleanField(required=False)


class ChatMessageSerializer(serializers.Serializer):
    """The shape of ``selectors.message_payload`` (documentation of the API)."""

    id = serializers.IntegerField()
    conversation = serializers.IntegerField()
    body = serializers.CharField()
    body_html = serializers.CharField()
    deleted = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    edited_at = serializers.DateTimeField(allow_null=True)


class ChatAttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class ChatConversationSerializer(serializers.Serializer):
    """The shape of ``selectors.conversation_payload`` (documentation of the API)."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    topic = serializers.CharField()
    last_read_id = serializers.IntegerField()
    unread = serializers.IntegerField()


def readable_conversation(request: Request, pk: int) -> Conversation:
    conversation = get_object_or_404(Conversation, pk=pk)
    if not selectors.can_read(user=request.user, conversation=conversation):
        # Same answer as a missing conversation: outsiders learn nothing.
        raise Http404
    return conversation


def _message(conversation: Conversation, message_id: int) -> Message:
    return get_object_or_404(Message, conversation=conversation, pk=message_id)


def _int_param(request: Request, name: str) -> int | None:
    return query_id(request, name)


def conversation_detail(user: Any, conversation: Conversation) -> dict[str, Any]:
    membership = selectors.conversations_for(user=user).get(conversation=conversation)
    data = selectors.conversation_payload(membership)
    data["members"] = selectors.member_payloads(conversation=conversation)
    data["read_states"] = {
        str(k): v for k, v in selectors.read_states(conversation=conversation).items()
    }
    data["first_unread_id"] = selectors.first_unread_id(membership=membership)
    return data


class ConversationListView(APIView):
    """The current user's conversations with their unread counts; open a direct or a group."""

    serializer_class = ChatConversationSerializer

    @extend_schema(operation_id="conversations_list")
    def get(self, request: Request) -> Response:
        memberships = selectors.conversations_for(user=request.user)
        return Response({"results": [selectors.conversation_payload(m) for m in memberships]})

    @extend_schema(request=ConversationCreateSerializer)
    def post(self, request: Request) -> Response:
        data = validated(ConversationCreateSerializer, request.data)
        if data["kind"] == "direct":
            if len(data["members"]) != 1:
                raise serializers.ValidationError(
                    {"members": "a direct conversation has one other member"}
                )
            conversation = services.conversation_direct_open(
                user=request.user, other=data["members"][0]
            )
        else:
            conversation = services.conversation_group_create(
                creator=request.user, title=data["title"], members=data["members"]
            )
        return Response(
            conversation_detail(request.user, conversation), status=status.HTTP_201_CREATED
        )


class ConversationDetailView(APIView):
    serializer_class = ChatConversationSerializer

    def get(self, request: Request, pk: int) -> Response:
        return Response(conversation_detail(request.user, readable_conversation(request, pk)))


class LiveClassChatView(APIView):
    """The chat of a live class, found by its key (``classrooms.liveclass.<id>``)."""

    serializer_class = ChatConversationSerializer

    @extend_schema(operation_id="live_class_chat_retrieve")
    def get(self, request: Request, key: str) -> Response:
        conversation = selectors.live_class_chat(key=key)
        if conversation is None or not selectors.can_read(
            user=request.user, conversation=conversation
        ):
            raise Http404
        return Response(conversation_detail(request.user, conversation))


class MessageListView(APIView):
    """``GET ?before=<id>`` / ``?after=<id>`` / ``?around=first_unread``; ``POST`` sends."""

    serializer_class = ChatMessageSerializer

    @extend_schema(operation_id="conversation_messages_list")
    def get(self, request: Request, pk: int) -> Response:
        conversation = readable_conversation(request, pk)
        limit = min(_int_param(request, "limit") or selectors.limits()["PAGE_SIZE"], 200)
        before, after = _int_param(request, "before"), _int_param(request, "after")
        if request.query_params.get("around") == "first_unread":
            membership = selectors.membership_of(user=request.user, conversation=conversation)
            first = selectors.first_unread_id(membership=membership)
            if first is not None:
                older = selectors.messages_page(
                    conversation=conversation, before=first, limit=limit // 2
                )
                newer = selectors.messages_page(
                    conversation=conversation, after=first - 1, limit=limit
                )
                messages = older + newer
            else:
                messages = selectors.messages_page(conversation=conversation, limit=limit)
            extra = {"first_unread_id": first}
        else:
            messages = selectors.messages_page(
                conversation=conversation, before=before, after=after, limit=limit
            )
            extra = {}
        return Response(
            {
                "results": [selectors.message_payload(m) for m in messages],
                "has_more": len(messages) >= limit,
                **extra,
            }
        )

    @extend_schema(request=MessageSendSerializer)
    def post(self, request: Request, pk: int) -> Response:
        conversation = get_object_or_404(Conversation, pk=pk)
        data = validated(MessageSendSerializer, request.data)
        message = services.message_send(sender=request.user, conversation=conversation, **data)
        return Response(selectors.message_payload(message), status=status.HTTP_201_CREATED)


class MessageDetailView(APIView):
    serializer_class = ChatMessageSerializer

    def get(self, request: Request, pk: int, message_id: int) -> Response:
        conversation = readable_conversation(request, pk)
        return Response(selectors.message_payload(_message(conversation, message_id)))

    @extend_schema(request=MessageEditSerializer)
    def patch(self, request: Request, pk: int, message_id: int) -> Response:
        conversation = readable_conversation(request, pk)
        data = validated(MessageEditSerializer, with_fields(request.data, message=message_id))
        message = services.message_edit(
            editor=request.user, message=_message(conversation, message_id), body=data["body"]
        )
        return Response(selectors.message_payload(message))

    def delete(self, request: Request, pk: int, message_id: int) -> Response:
        conversation = readable_conversation(request, pk)
        message = services.message_delete(
            actor=request.user, message=_message(conversation, message_id)
        )
        return Response(selectors.message_payload(message))


class ReactionView(APIView):
    serializer_class = ReactSerializer

    @extend_schema(request=ReactSerializer)
    def post(self, request: Request, pk: int, message_id: int) -> Response:
        conversation = readable_conversation(request, pk)
        data = validated(ReactSerializer, with_fields(request.data, message=message_id))
        message = services.message_react(
            user=request.user,
            message=_message(conversation, message_id),
            emoji=data["emoji"],
            add=data["add"],
        )
        return Response(selectors.message_payload(message))


class ReportView(APIView):
    serializer_class = ReportSerializer

    @extend_schema(request=ReportSerializer)
    def post(self, request: Request, pk: int, message_id: int) -> Response:
        conversation = readable_conversation(request, pk)
        data = validated(ReportSerializer, request.data)
        report = services.message_report(
            reporter=request.user, message=_message(conversation, message_id), reason=data["reason"]
        )
        return Response({"id": report.pk}, status=status.HTTP_201_CREATED)


class ReadView(APIView):
    serializer_class = ReadSerializer

    @extend_schema(request=ReadSerializer)
    def post(self, request: Request, pk: int) -> Response:
        conversation = readable_conversation(request, pk)
        data = validated(ReadSerializer, request.data)
        marker = services.conversation_mark_read(
            user=request.user, conversation=conversation, last_read_id=data["last_read_id"]
        )
        return Response({"last_read_id": marker})


class MemberView(APIView):
    serializer_class = MemberSerializer

    @extend_schema(request=MemberSerializer)
    def post(self, request: Request, pk: int) -> Response:
        conversation = readable_conversation(request, pk)
        data = validated(MemberSerializer, request.data)
        user, action = data["user"], data["action"]
        if action == "add":
            services.member_add(actor=request.user, conversation=conversation, user=user)
        elif action == "remove":
            services.member_remove(actor=request.user, conversation=conversation, user=user)
        else:
            services.member_suspend(
                actor=request.user,
                conversation=conversation,
                user=user,
                suspended=action == "suspend",
            )
        return Response({"members": selectors.member_payloads(conversation=conversation)})


class AttachmentView(APIView):
    serializer_class = ChatAttachmentUploadSerializer
    parser_classes = [MultiPartParser, FormParser]

    def post(self, request: Request, pk: int) -> Response:
        conversation = get_object_or_404(Conversation, pk=pk)
        upload = request.FILES.get("file")
        if upload is None:
            raise serializers.ValidationError({"file": "attach a file"})
        attachment = services.attachment_upload(
            uploader=request.user, conversation=conversation, file=upload
        )
        return Response(
            {"id": attachment.pk, "name": attachment.name, "size": attachment.size},
            status=status.HTTP_201_CREATED,
        )


class BlockView(APIView):
    serializer_class = BlockSerializer

    @extend_schema(request=BlockSerializer)
    def post(self, request: Request) -> Response:
        data = validated(BlockSerializer, request.data)
        if data["blocked"]:
            services.user_block(blocker=request.user, blocked=data["user"])
        else:
            services.user_unblock(blocker=request.user, blocked=data["user"])
        return Response({"user": data["user"].pk, "blocked": data["blocked"]})


class SettingsView(APIView):
    serializer_class = SettingsSerializer

    def get(self, request: Request) -> Response:
        row = ChatSettings.objects.filter(user=request.user).first() or ChatSettings(
            user=request.user
        )
        return Response({"read_receipts": row.read_receipts, "email_digest": row.email_digest})

    @extend_schema(request=SettingsSerializer)
    def patch(self, request: Request) -> Response:
        data = validated(SettingsSerializer, request.data)
        row = services.chat_settings_update(user=request.user, **data)
        return Response({"read_receipts": row.read_receipts, "email_digest": row.email_digest})


# -- threads -------------------------------------------------------------------------------
def readable_root(request: Request, pk: int, message_id: int) -> Message:
    """The root of the thread of message ``message_id`` of a conversation the person reads."""
    conversation = readable_conversation(request, pk)
    return selectors.thread_root_of(_message(conversation, message_id))


def thread_state(user: Any, root: Message) -> dict[str, Any]:
    follow = selectors.thread_follow_of(user=user, root=root)
    return selectors.thread_state_payload(root=root, follow=follow, user_id=user.pk)


class ThreadView(APIView):
    """A message's thread: ``GET`` its root, replies (``?after=<id>`` / ``?before=<id>``)
    and where I stand in it; ``POST`` replies in it."""

    serializer_class = ChatThreadSerializer

    @extend_schema(operation_id="conversation_thread_retrieve", responses=ChatThreadSerializer)
    def get(self, request: Request, pk: int, message_id: int) -> Response:
        root = readable_root(request, pk, message_id)
        limit = min(_int_param(request, "limit") or selectors.limits()["PAGE_SIZE"], 200)
        replies = selectors.thread_replies(
            root=root,
            before=_int_param(request, "before"),
            after=_int_param(request, "after"),
            limit=limit,
        )
        root_full = selectors.get_message(conversation=root.conversation, message_id=root.id)
        return Response(
            {
                "root": selectors.message_payload(root_full),
                "follow": thread_state(request.user, root),
                "results": [selectors.message_payload(m) for m in replies],
                "has_more": len(replies) >= limit,
            }
        )

    @extend_schema(
        operation_id="conversation_thread_reply",
        request=ChatThreadReplySerializer,
        responses={201: ChatMessageSerializer},
    )
    def post(self, request: Request, pk: int, message_id: int) -> Response:
        conversation = get_object_or_404(Conversation, pk=pk)
        data = validated(ChatThreadReplySerializer, request.data)
        message = services.message_send(
            sender=request.user, conversation=conversation, thread=message_id, **data
        )
        return Response(selectors.message_payload(message), status=status.HTTP_201_CREATED)


class ThreadFollowView(APIView):
    serializer_class = ChatThreadStateSerializer

    @extend_schema(
        operation_id="conversation_thread_follow",
        request=ChatThreadFollowSerializer,
        responses=ChatThreadStateSerializer,
        summary="Follow, mute or stop following a thread",
    )
    def post(self, request: Request, pk: int, message_id: int) -> Response:
        root = readable_root(request, pk, message_id)
        data = validated(ChatThreadFollowSerializer, request.data)
        services.thread_follow_set(user=request.user, root=root, state=data["state"])
        return Response(thread_state(request.user, root))


class ThreadReadView(APIView):
    serializer_class = ChatThreadStateSerializer

    @extend_schema(
        operation_id="conversation_thread_read",
        request=ChatThreadReadSerializer,
        responses=ChatThreadStateSerializer,
        summary="Move my read marker in a thread",
    )
    def post(self, request: Request, pk: int, message_id: int) -> Response:
        root = readable_root(request, pk, message_id)
        data = validated(ChatThreadReadSerializer, request.data)
        services.thread_mark_read(user=request.user, root=root, last_read_id=data["last_read_id"])
        return Response(thread_state(request.user, root))


class ThreadListView(APIView):
    """The threads I follow, with their unread replies, the latest reply first."""

    serializer_class = ChatThreadListSerializer

    @extend_schema(operation_id="chat_threads_list", responses=ChatThreadListSerializer)
    def get(self, request: Request) -> Response:
        follows = selectors.threads_for(user=request.user)
        return Response({"results": [selectors.thread_list_payload(f) for f in follows]})
