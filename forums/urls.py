"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from forums import api, views

urlpatterns = [
    path("forums/", views.forum_list, name="forums"),
    path("forums/<int:pk>/", views.forum_detail, name="forum-detail"),
    path("forums/threads/<int:pk>/", views.thread_detail, name="forum-thread"),
    path("forums/moderation/", views.moderation_queue, name="forum-moderation"),
    path("forums/search/", views.search, name="forum-search"),
    path("forums/trust/", views.trust_page, name="forum-trust"),
    path("forums/library/", views.library, name="library"),
    path("forums/library/<int:pk>/", views.library_item, name="library-item"),
]

api_urlpatterns = [
    path("forums/", api.ForumListView.as_view(), name="api-forums"),
    path("forums/<int:pk>/", api.ForumDetailView.as_view(), name="api-forum"),
    path("forums/<int:pk>/threads/", api.ForumThreadsView.as_view(), name="api-forum-threads"),
    path("forums/<int:pk>/follow/", api.ForumFollowView.as_view(), name="api-forum-follow"),
    path(
        "forums/<int:pk>/suspensions/",
        api.ForumSuspensionsView.as_view(),
        name="api-forum-suspensions",
    ),
    path("forums/threads/<int:pk>/", api.ThreadDetailView.as_view(), name="api-forum-thread"),
    path("forums/threads/<int:pk>/read/", api.ThreadReadView.as_view(), name="api-thread-read"),
    path("forums/threads/<int:pk>/posts/", api.ThreadPostsView.as_view(), name="api-thread-posts"),
    path(
        "forums/threads/<int:pk>/moderation/",
        api.ThreadModerationView.as_view(),
        name="api-thread-moderation",
    ),
    path(
        "forums/threads/<int:pk>/accept/", api.ThreadAcceptView.as_view(), name="api-thread-accept"
    ),
    path(
        "forums/threads/<int:pk>/follow/", api.ThreadFollowView.as_view(), name="api-thread-follow"
    ),
    path("forums/posts/<int:pk>/", api.PostDetailView.as_view(), name="api-forum-post"),
    path(
        "forums/posts/<int:pk>/revisions/",
        api.PostRevisionsView.as_view(),
        name="api-post-revisions",
    ),
    path(
        "forums/posts/<int:pk>/reactions/",
        api.PostReactionsView.as_view(),
        name="api-post-reactions",
    ),
    path("forums/posts/<int:pk>/flags/", api.PostFlagsView.as_view(), name="api-post-flags"),
    path("forums/posts/<int:pk>/hide/", api.PostHideView.as_view(), name="api-post-hide"),
    path("forums/posts/<int:pk>/restore/", api.PostRestoreView.as_view(), name="api-post-restore"),
    path("forums/posts/<int:pk>/wiki/", api.PostWikiView.as_view(), name="api-post-wiki"),
    path("forums/trust/", api.TrustMeView.as_view(), name="api-forum-trust"),
    path(
        "forums/trust/spaces/<int:pk>/",
        api.TrustSettingsView.as_view(),
        name="api-forum-trust-settings",
    ),
    path(
        "forums/trust/spaces/<int:pk>/pins/",
        api.TrustPinView.as_view(),
        name="api-forum-trust-pins",
    ),
    path(
        "forums/trust/spaces/<int:pk>/members/<int:user_id>/",
        api.TrustMemberView.as_view(),
        name="api-forum-trust-member",
    ),
    path("forums/flags/", api.FlagQueueView.as_view(), name="api-forum-flags"),
    path("forums/flags/<int:pk>/resolve/", api.FlagResolveView.as_view(), name="api-flag-resolve"),
    path("forums/moderation-log/", api.ModerationLogView.as_view(), name="api-forum-log"),
    path("forums/search/", api.SearchView.as_view(), name="api-forum-search"),
    path("forums/preview/", api.PreviewView.as_view(), name="api-forum-preview"),
    path("forums/library/", api.LibraryListView.as_view(), name="api-library"),
    path("forums/library/<int:pk>/", api.LibraryItemView.as_view(), name="api-library-item"),
    path(
        "forums/library/<int:pk>/review/",
        api.LibraryReviewView.as_view(),
        name="api-library-review",
    ),
    path(
        "forums/library/<int:pk>/add-to-course/",
        api.LibraryAddToCourseView.as_view(),
        name="api-library-add-to-course",
    ),
    path(
        "forums/library/<int:pk>/reactions/",
        api.LibraryReactionsView.as_view(),
        name="api-library-reactions",
    ),
    path(
        "forums/library/<int:pk>/comments/",
        api.LibraryCommentsView.as_view(),
        name="api-library-comments",
    ),
]
