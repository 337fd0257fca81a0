"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from messaging import api, views

urlpatterns = [
    path("chat/", views.chat, name="chat"),
    path("chat/<int:pk>/", views.chat, name="chat-conversation"),
    path("chat/direct/<int:user_id>/", views.chat_direct, name="chat-direct"),
]

api_urlpatterns = [
    path("conversations/", api.ConversationListView.as_view(), name="api-conversations"),
    path("conversations/<int:pk>/", api.ConversationDetailView.as_view(), name="api-conversation"),
    path(
        "conversations/live-class/<str:key>/",
        api.LiveClassChatView.as_view(),
        name="api-live-class-chat",
    ),
    path(
        "conversations/<int:pk>/messages/",
        api.MessageListView.as_view(),
        name="api-conversation-messages",
    ),
    path(
        "conversations/<int:pk>/messages/<int:message_id>/",
        api.MessageDetailView.as_view(),
        name="api-conversation-message",
    ),
    path(
        "conversations/<int:pk>/messages/<int:message_id>/reactions/",
        api.ReactionView.as_view(),
        name="api-message-reactions",
    ),
    path(
        "conversations/<int:pk>/messages/<int:message_id>/report/",
        api.ReportView.as_view(),
        name="api-message-report",
    ),
    path("conversations/<int:pk>/read/", api.ReadView.as_view(), name="api-conversation-read"),
    path(
        "conversations/<int:pk>/members/", api.MemberView.as_view(), name="api-conversation-members"
    ),
    path(
        "conversations/<int:pk>/attachments/",
        api.AttachmentView.as_view(),
        name="api-conversation-attachments",
    ),
    path(
        "conversations/<int:pk>/messages/<int:message_id>/thread/",
        api.ThreadView.as_view(),
        name="api-conversation-thread",
    ),
    path(
        "conversations/<int:pk>/messages/<int:message_id>/thread/follow/",
        api.ThreadFollowView.as_view(),
        name="api-conversation-thread-follow",
    ),
    path(
        "conversations/<int:pk>/messages/<int:message_id>/thread/read/",
        api.ThreadReadView.as_view(),
        name="api-conversation-thread-read",
    ),
    path("chat/threads/", api.ThreadListView.as_view(), name="api-chat-threads"),
    path("chat/blocks/", api.BlockView.as_view(), name="api-chat-blocks"),
    path("chat/settings/", api.SettingsView.as_view(), name="api-chat-settings"),
]
