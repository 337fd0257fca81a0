"""Pages (``urlpatterns``) and REST endpoints under /api/v1/ (``api_urlpatterns``)."""

from django.urls import path

from calendars import api, views

urlpatterns = [
    path("calendars/", views.agenda, name="agenda"),
    path("calendars/feed/reset/", views.feed_reset, name="calendars-feed-reset"),
    path("calendars/feed/<str:token>.ics", views.personal_feed, name="calendars-personal-feed"),
    path(
        "calendars/feed/<str:token>/teaching.ics",
        views.teaching_feed,
        name="calendars-teaching-feed",
    ),
    path(
        "calendars/feed/<str:token>/managed.ics",
        views.managed_feed,
        name="calendars-managed-feed",
    ),
    path(
        "calendars/feed/<str:token>/room/<int:room_id>.ics",
        views.room_feed,
        name="calendars-room-feed",
    ),
    path(
        "calendars/feed/<str:token>/course/<int:course_id>.ics",
        views.course_token_feed,
        name="calendars-course-token-feed",
    ),
    path("calendars/course/<int:course_id>.ics", views.course_feed, name="calendars-course-feed"),
    path("calendars/session/<int:pk>.ics", views.session_ics, name="calendars-session-ics"),
]
api_urlpatterns = [
    path("calendars/agenda/", api.AgendaView.as_view(), name="api-calendars-agenda"),
    path("calendars/feed/", api.FeedLinksView.as_view(), name="api-calendars-feed"),
    path("calendars/feed/reset/", api.FeedResetView.as_view(), name="api-calendars-feed-reset"),
]
